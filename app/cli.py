"""The `quorum` command: a Flask CLI group, so `flask --app wsgi …` offers the same commands."""

from __future__ import annotations

import html
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, pass_script_info, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.accounts import create_user
from app.api_tokens import issue_token
from app.db import upgrade
from app.decision_import import import_decisions
from app.delivery import EX_TEMPFAIL
from app.delivery import deliver as deliver_message
from app.exports import export_decisions, export_messages, export_positions
from app.governance import ValidationError
from app.ingestion import run_ingest
from app.lists import list_rows, set_visibility
from app.models import ROLES, MailingList, User
from app.positions import active_model, active_model_path, model_path, recompute
from app.search import SearchIndexError, index_of, pg_documents, rebuild, search
from app.server import ServeRefused, check_serve_address, serve_forever
from app.settings import settings_of
from app.stance_training import FOLDS, cross_validate, describe_model, gather, train_model
from app.sync.runner import configured_sources, sync_pass, utc_text
from app.sync.schedule import parse_duration, run_every
from app.sync.status import source_rows
from ingest.sources import FORMATS, SourceError
from ingest.stance_model import ModelError, StanceModel


def _create_app() -> Flask:
    return create_app()


def _ready() -> sessionmaker[Session]:
    """Bring the database to the newest schema and hand out sessions: every command that
    touches the database starts here."""
    upgrade(current_app.extensions["quorum.engine"])
    sessions: sessionmaker[Session] = current_app.extensions["quorum.sessionmaker"]
    return sessions


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Quorum: follow what a community decided on its mailing lists, and why."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    _ready()
    click.echo("database is at the newest schema")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--list", "list_name", help="List name (default: List-Id, folder or file name).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the account as one JSON object.")
@click.option(
    "--no-positions",
    is_flag=True,
    help="Store and index only; derive positions later with `quorum positions recompute`.",
)
@with_appcontext
def ingest(
    paths: tuple[Path, ...], list_name: str | None, fmt: str, as_json: bool, no_positions: bool
) -> None:
    """Read mail archives (files or folders) and account for every message."""
    sessions = _ready()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        account = run_ingest(
            sessions,
            settings_of(current_app),
            list(paths),
            list_name=list_name,
            fmt=fmt,
            positions=not no_positions,
        )
    except SourceError as exc:
        click.echo(f"quorum ingest: {exc}", err=True)
        sys.exit(2)
    except ModelError as exc:  # checked before the first batch: nothing was written
        click.echo(f"quorum ingest: {exc}", err=True)
        sys.exit(1)
    except SearchIndexError as exc:  # the batches committed so far are stored; rerun later
        click.echo(f"quorum ingest: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(account.as_dict(), sort_keys=True))
        return
    click.echo(
        f"read {account.read} = stored {account.stored} + duplicate {account.duplicate}"
        f" + skipped {account.skipped} + rejected {account.rejected}"
    )
    for rejection in account.rejections[:20]:
        click.echo(f"  rejected {rejection['source']}@{rejection['offset']}: {rejection['reason']}")
    if len(account.rejections) > 20:
        click.echo(f"  … and {len(account.rejections) - 20} more (see --json)")


@main.command()
@click.option("--list", "list_name", required=True, help="The list the message belongs to.")
@with_appcontext
def deliver(list_name: str) -> None:
    """Store one message read from standard input (for a mail server's pipe or Mailman's
    archiver hook). Exit 0 once it is accounted for (stored, duplicate, skipped or
    quarantined), 75 when it could not be stored now: the mail server keeps it and retries."""
    try:
        account = deliver_message(_ready(), settings_of(current_app), sys.stdin.buffer, list_name)
    except Exception as exc:  # whatever it is, the mail server must keep the message
        click.echo(
            f"quorum deliver: not stored, try again later: {type(exc).__name__}: {exc}", err=True
        )
        sys.exit(EX_TEMPFAIL)
    outcome = next(o for o in ("stored", "duplicate", "skipped", "rejected") if getattr(account, o))
    reason = f": {account.rejections[0]['reason']}" if account.rejections else ""
    click.echo(f"{outcome} into {list_name.lower()}{reason}")


@main.command()
@click.option("--list", "list_name", help="Only this list's sources.")
@click.option(
    "--every",
    "every",
    help="Keep running: a pass every DURATION (30s, 15m, 1h, 1d), as a service does.",
)
@click.option("--force", is_flag=True, help="Also pull sources waiting after a failure.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source and pass.")
@with_appcontext
def sync(list_name: str | None, every: str | None, force: bool, as_json: bool) -> None:
    """Pull new mail from the sources configured for each list (pipermail and mbox URLs,
    IMAP, maildir) through the same ingest as `quorum ingest`. Exit 1 when a source
    failed or is waiting after a failure."""
    settings = settings_of(current_app)
    name = list_name.lower() if list_name else None
    if not configured_sources(settings, name):
        where = f"[[lists.{name}.sources]]" if name else "[[lists.NAME.sources]]"
        click.echo(f"quorum sync: no sources configured (add {where} to the settings)", err=True)
        sys.exit(2)
    try:
        interval = parse_duration(every) if every else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None
    sessions = _ready()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)

    def one_pass() -> bool:
        reports = sync_pass(sessions, settings, name, force=force)
        for report in reports:
            if as_json:
                click.echo(json.dumps(report.as_dict(), sort_keys=True))
            else:
                click.echo(report.describe())
        return all(r.status == "ok" for r in reports)

    if interval is None:
        sys.exit(0 if one_pass() else 1)
    run_every(interval, one_pass)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@with_appcontext
def sources(as_json: bool) -> None:
    """Each configured source: its state, last success, last error, counts and cursor."""
    sessions = _ready()
    with sessions() as session:
        rows = source_rows(session, settings_of(current_app))
    if not rows:
        click.echo("no sources configured (see [[lists.NAME.sources]] in the README)")
    for row in rows:
        if as_json:
            click.echo(json.dumps(row.as_dict(), sort_keys=True))
            continue
        counts = row.counts or {}
        click.echo(f"{row.list_name}  {row.key}  ({row.kind})  {row.state}")
        if row.last_success_at:
            click.echo(f"  last success {utc_text(row.last_success_at)}")
        if row.last_error:
            click.echo(f"  last error {utc_text(row.last_error_at)}: {row.last_error}")
        if row.next_attempt_at:
            click.echo(
                f"  {row.failures} failures in a row; next attempt after"
                f" {utc_text(row.next_attempt_at)}"
            )
        if counts:
            click.echo(
                f"  read {counts['read']} = stored {counts['stored']} + duplicate"
                f" {counts['duplicate']} + skipped {counts['skipped']} + rejected"
                f" {counts['rejected']}"
            )
        if row.position:
            click.echo(f"  at {row.position}")


@main.command()
@with_appcontext
def reindex() -> None:
    """Rebuild the search index from the database and swap it in atomically (postgres
    backend: recompute the messages' search vectors, online)."""
    sessions = _ready()
    settings = settings_of(current_app)
    try:
        with sessions() as session:
            if settings.search.backend == "postgres":
                count = pg_documents.rebuild(session, settings.lists)
            else:
                count = rebuild(session, settings.index_dir)
    except SearchIndexError as exc:
        click.echo(f"quorum reindex: {exc}", err=True)
        sys.exit(1)
    click.echo(f"indexed {count} messages")


@main.command("search")
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit, per line.")
@with_appcontext
def search_command(query: str, limit: int, as_json: bool) -> None:
    """Search the archive as an anonymous reader would (public lists, no hidden mail)."""
    _ready()
    results = search(index_of(current_app), query, per_page=limit)
    if results.error:
        click.echo(f"quorum search: {results.error}", err=True)
        sys.exit(2 if results.error_kind == "query" else 1)
    if results.suggestion and not results.hits:
        click.echo(f"no results; did you mean: {results.suggestion}", err=True)
    for hit in results.hits:
        if as_json:
            click.echo(json.dumps(hit.as_dict(), ensure_ascii=False))
        else:
            click.echo(
                f"{hit.score or 0:7.2f}  {(hit.date or '')[:10]}  {hit.list}  {hit.from_name}"
                f"  {hit.subject}\n         {hit.message_id}  thread {hit.thread_id}\n"
                f"         {_plain_snippet(hit.snippet)}"
            )
    if not as_json:
        click.echo(f"{len(results.hits)} of {results.total} results")


def _plain_snippet(snippet: str) -> str:
    """A snippet for a terminal: matches in brackets, entities decoded."""
    return html.unescape(snippet.replace("<mark>", "[").replace("</mark>", "]"))


@main.group()
def export() -> None:
    """JSON Lines on standard output."""


@export.command("messages")
@click.option("--list", "list_name", help="Only this list.")
@with_appcontext
def export_messages_command(list_name: str | None) -> None:
    """One object per stored message (schema in DESIGN.md)."""
    sessions = _ready()
    with sessions() as session:
        for record in export_messages(session, list_name):
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@export.command("positions")
@click.option("--list", "list_name", help="Only this list.")
@with_appcontext
def export_positions_command(list_name: str | None) -> None:
    """One object per message with an author position (schema in DESIGN.md)."""
    sessions = _ready()
    with sessions() as session:
        for record in export_positions(session, list_name):
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@main.group()
def positions() -> None:
    """Stances and votes extracted from the authors' own words."""


def _active_model() -> StanceModel:
    """The model positions are derived with; a damaged or foreign file is a one-line error
    naming it, not a traceback."""
    try:
        return active_model(settings_of(current_app).home)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None


@positions.command("recompute")
@click.option("--list", "list_name", help="Only this list.")
@with_appcontext
def positions_recompute(list_name: str | None) -> None:
    """Rerun extraction over stored messages with the active model; staff corrections
    are kept."""
    sessions = _ready()
    with sessions() as session:
        done = recompute(session, _active_model(), list_name)
    click.echo(f"positions recomputed for {done} messages")


@positions.command("train")
@click.option(
    "--labels",
    "label_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A label file (shared/eval/stance schema) for stored messages; repeatable.",
)
@click.option("--no-shipped", is_flag=True, help="Leave out the examples shipped with Quorum.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the model (default: QUORUM_HOME/models/stance.npz, then active).",
)
@click.option(
    "--examples-output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the examples trained on (how the shipped examples are made).",
)
@click.option(
    "--folds",
    type=click.IntRange(2, 50),
    default=FOLDS,
    show_default=True,
    help="Cross-validation folds (grouped by thread, or by list).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@with_appcontext
def positions_train(
    label_files: tuple[Path, ...],
    no_shipped: bool,
    output: Path | None,
    examples_output: Path | None,
    folds: int,
    as_json: bool,
) -> None:
    """Train the stance model on the shipped examples, label files and every staff
    correction, cross-validate it by thread, and make it the active model."""
    sessions = _ready()
    with sessions() as session:
        examples, missing = gather(session, label_files, shipped=not no_shipped)
    if len(set(examples.labels)) < 2:
        raise click.ClickException("nothing to train on: no examples with two stances or more")
    target = output or model_path(settings_of(current_app).home)
    model = train_model(examples, name=target.stem, evaluation=cross_validate(examples, folds))
    model.save(target)
    if examples_output:
        examples.save(examples_output)
    evaluation = model.info["evaluation"]
    if as_json:
        click.echo(json.dumps({"model": str(target), **model.info}, sort_keys=True))
        return
    if missing:
        click.echo(f"{missing} labelled messages are not stored here and were left out")
    click.echo(f"model written to {target}")
    click.echo(describe_model(model.info, evaluation))


@positions.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the active model's record as JSON.")
@with_appcontext
def positions_status(as_json: bool) -> None:
    """Which stance model is active, what it was trained on, how it scored."""
    home = settings_of(current_app).home
    path = active_model_path(home)
    model = _active_model()
    if as_json:
        click.echo(json.dumps({"model": str(path), **model.info}, sort_keys=True))
        return
    click.echo(f"active model: {path}")
    click.echo(describe_model(model.info, model.info.get("evaluation", {})))


@export.command("decisions")
@with_appcontext
def export_decisions_command() -> None:
    """One object per decision, with its links to public threads and messages."""
    sessions = _ready()
    with sessions() as session:
        for record in export_decisions(session):
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@main.group("import")
def import_group() -> None:
    """Load records other tools (or `quorum export`) wrote."""


@import_group.command("decisions")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@with_appcontext
def import_decisions_command(file: TextIO) -> None:
    """Decisions as JSON Lines (the `export decisions` format), created or updated by slug."""
    sessions = _ready()
    with sessions() as session:
        written, linked, problems = import_decisions(session, file)
        session.commit()
    for problem in problems:
        click.echo(f"quorum import decisions: {problem}", err=True)
    click.echo(f"{written} decisions written, {linked} links added")


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (admin, editor or viewer)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    sessions = _ready()
    with sessions() as session:
        try:
            create_user(session, name, role, password)
        except ValidationError as exc:
            for message in exc.errors.values():
                click.echo(f"quorum users create: {message}", err=True)
            sys.exit(2)
        session.commit()
    click.echo(f"created {role} {name}")


@users.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for (shown in the app).")
@with_appcontext
def users_token(name: str, label: str) -> None:
    """Issue an API token for a user and print it once: only its hash is stored."""
    sessions = _ready()
    with sessions() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None or not user.active:
            click.echo(f"quorum users token: no active user named {name!r}", err=True)
            sys.exit(2)
        try:
            _, secret = issue_token(session, user, label, None)
        except ValidationError as exc:
            for message in exc.errors.values():
                click.echo(f"quorum users token: {message}", err=True)
            sys.exit(2)
        session.commit()
    click.echo(secret)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of the lists.")
@click.pass_context
@with_appcontext
def lists(ctx: click.Context, as_json: bool) -> None:
    """Lists with their visibility and counts (`lists set` makes one private or public)."""
    if ctx.invoked_subcommand is not None:
        return

    sessions = _ready()
    with sessions() as session:
        rows = list_rows(session, settings_of(current_app).lists)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows]))
        return
    table = [("name", "visibility", "messages", "threads")] + [
        (
            row.name,
            row.visibility if row.created else f"{row.visibility} (declared)",
            str(row.messages),
            str(row.threads),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


@lists.command("set")
@click.argument("name")
@click.option("--private", "visibility", flag_value="private", help="Staff only.")
@click.option("--public", "visibility", flag_value="public", help="Everyone.")
@with_appcontext
def lists_set(name: str, visibility: str | None) -> None:
    """Make a list private or public (recorded in the audit log)."""

    if visibility is None:
        raise click.UsageError("say --private or --public")
    sessions = _ready()
    with sessions() as session:
        mailing_list = session.scalar(select(MailingList).where(MailingList.name == name.lower()))
        if mailing_list is None:
            click.echo(
                f"quorum lists set: no list named {name!r} (to make a list private before"
                f" its first ingest, declare it in the settings: [lists.{name.lower()}])",
                err=True,
            )
            sys.exit(2)
        changed = set_visibility(session, mailing_list, visibility, None)
        session.commit()
    click.echo(f"{mailing_list.name} is {'now' if changed else 'already'} {visibility}")


@main.command(with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@pass_script_info
def serve(info: ScriptInfo, host: str, port: int, workers: int) -> None:
    """Serve the web app with gunicorn (beyond loopback only with a real secret key)."""
    app = info.load_app()
    try:
        check_serve_address(settings_of(app), host)
    except ServeRefused as exc:
        click.echo(f"quorum serve: {exc}", err=True)
        sys.exit(2)
    # The schema is brought up to date inside an app context that ends before the workers
    # start: a context left open would be inherited by every worker, and every request
    # would then share one `g` (one database session, one caller identity).
    with app.app_context():
        _ready()
    serve_forever(app, host, port, workers)
