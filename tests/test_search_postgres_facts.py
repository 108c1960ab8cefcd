"""The facts the postgres search reads beside each message's vectors (list, hidden, date,
thread, author, attachments, stance, vote: ``app.models.search``) never differ from the
live tables: after an ingest, after positions are derived, after a staff correction, hide
or purge, after a thread merge and after the migration of an archive stored before they
existed, every document holds what the ``search_facts`` view reads, in the transaction of
the change itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import alembic_config, upgrade
from app.governance import correct_position, purge, set_hidden
from app.models import Message, SearchDocument
from app.search import index_of, search
from app.search.pg_documents import FACTS
from tests.helpers import build_app, fresh_database, ingest_list, mail, run_cli, sessions_of
from tests.test_search import ALICE_ROOT, DEV

REPLY = "<reply@dev.example.org>"
RELEASE = "<release@dev.example.org>"


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    with fresh_database("postgresql", tmp_path) as url:
        app = build_app(url, tmp_path / "home", search={"backend": "postgres"})
        yield app
        app.extensions["quorum.engine"].dispose()


def out_of_step(session: Session) -> list[Any]:
    """Every message whose document's facts differ from the live tables, or that has no
    document."""
    columns = ", ".join(FACTS)
    return list(
        session.execute(
            text(
                f"SELECT message_pk, {columns} FROM search_facts"
                f" EXCEPT SELECT message_pk, {columns} FROM search_documents"
            )
        )
    )


def facts(session: Session, message_id: str) -> dict[str, Any]:
    document = session.scalars(
        select(SearchDocument)
        .join(Message, Message.id == SearchDocument.message_pk)
        .where(Message.message_id == message_id)
    ).one()
    return {name: getattr(document, name) for name in FACTS}


def message(session: Session, message_id: str) -> Message:
    return session.scalars(select(Message).where(Message.message_id == message_id)).one()


def test_an_ingest_stores_the_facts_with_the_vectors(pg_app: Flask, tmp_path: Path) -> None:
    ingest_list(pg_app, tmp_path, "dev", DEV)
    with sessions_of(pg_app)() as session:
        assert out_of_step(session) == []
        release = facts(session, RELEASE)
        reply = facts(session, REPLY)
    assert (release["author"], release["attached"], release["hidden"]) == (
        "Carol Chen",
        True,
        False,
    )
    assert release["date_utc"].isoformat() == "2013-06-01T12:00:00"
    assert reply["thread_id"] is not None and reply["stance"] != ""  # derived after storing


def test_positions_derived_later_move_the_stance_at_once(pg_app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "dev.mbox"
    path.write_text("\n".join(DEV))
    assert run_cli(pg_app, "ingest", str(path), "--list", "dev", "--no-positions").exit_code == 0
    with sessions_of(pg_app)() as session:
        assert facts(session, REPLY)["stance"] == ""
    assert search(index_of(pg_app), "callbacks").facets.stances == {}

    assert run_cli(pg_app, "positions", "recompute").exit_code == 0
    with sessions_of(pg_app)() as session:
        assert out_of_step(session) == []
        stance = facts(session, REPLY)["stance"]
    assert stance != "" and search(index_of(pg_app), "callbacks").facets.stances[stance] >= 1


def test_staff_changes_move_the_facts_in_their_own_transaction(
    pg_app: Flask, tmp_path: Path
) -> None:
    ingest_list(pg_app, tmp_path, "dev", DEV)
    with sessions_of(pg_app)() as session:
        reply = message(session, REPLY)
        assert reply.thread_id is not None and reply.participant_id is not None
        correct_position(
            session, reply.thread_id, reply.participant_id, "oppose", "-1", "a clear -1", None
        )
        session.flush()
        assert (facts(session, REPLY)["stance"], facts(session, REPLY)["vote"]) == ("oppose", "-1")
        assert found_elsewhere(pg_app, "stance:oppose") == []  # not committed yet
        session.commit()
        assert found_elsewhere(pg_app, "stance:oppose") == [REPLY]

        release = message(session, RELEASE)
        set_hidden(session, release, True, "takedown", None)
        session.flush()
        assert facts(session, RELEASE)["hidden"] is True
        purge(session, release, "erase", None)
        session.flush()
        assert out_of_step(session) == []
        purged = facts(session, RELEASE)
        assert (purged["author"], purged["attached"], purged["stance"]) == ("(unknown)", False, "")
        session.commit()
    assert found_elsewhere(pg_app, "has:attachment", include_hidden=True) == []


def found_elsewhere(app: Flask, query: str, **options: Any) -> list[str]:
    """What a search on another connection finds (it sees only what was committed)."""
    return [hit.message_id for hit in search(index_of(app), query, **options).hits]


def test_a_thread_merge_carries_the_facts_and_the_correction(pg_app: Flask, tmp_path: Path) -> None:
    """C answers B, which answers A; C comes first (its thread is keyed by the missing B),
    and staff correct its author there. When B comes, C's thread joins A's."""
    a = mail("<a@x>", "Ann <ann@x>", "Plan", "Mon, 6 Jan 2014 10:00:00 +0000", "A plan.\n")
    b = mail("<b@x>", "Ben <ben@x>", "Re: Plan", "Tue, 7 Jan 2014 10:00:00 +0000", "Good.\n",
             reply_to="<a@x>")  # fmt: skip
    c = mail("<c@x>", "Cy <cy@x>", "Re: Plan", "Wed, 8 Jan 2014 10:00:00 +0000", "Agreed.\n",
             reply_to="<b@x>")  # fmt: skip
    ingest_list(pg_app, tmp_path, "dev", [c, a])
    with sessions_of(pg_app)() as session:
        late = message(session, "<c@x>")
        assert late.thread_id is not None and late.participant_id is not None
        correct_position(session, late.thread_id, late.participant_id, "concern", None, "n", None)
        session.commit()
        apart = facts(session, "<c@x>")["thread_id"]
    assert apart != message_thread(pg_app, "<a@x>")

    later = tmp_path / "later.mbox"
    later.write_text(b)
    assert run_cli(pg_app, "ingest", str(later), "--list", "dev").exit_code == 0
    with sessions_of(pg_app)() as session:
        assert out_of_step(session) == []
        merged = facts(session, "<c@x>")
    assert merged["thread_id"] == message_thread(pg_app, "<a@x>") != apart
    assert merged["stance"] == "concern"


def message_thread(app: Flask, message_id: str) -> int | None:
    with sessions_of(app)() as session:
        return message(session, message_id).thread_id


def test_the_migration_fills_the_facts_of_an_archive_stored_before_them(
    pg_app: Flask, tmp_path: Path
) -> None:
    ingest_list(pg_app, tmp_path, "dev", DEV)
    engine = pg_app.extensions["quorum.engine"]
    command.downgrade(alembic_config(engine), "0004")
    upgrade(engine)
    with sessions_of(pg_app)() as session:
        assert out_of_step(session) == []
        assert facts(session, ALICE_ROOT)["author"] == "Alice Archer"
    assert found_elsewhere(pg_app, "has:attachment") == [RELEASE]
