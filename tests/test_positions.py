"""Positions over the database: derived at ingest, resolved against the thread, summarised
per participant with history and tally, corrected by staff, recomputed idempotently."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.governance import correct_position
from app.models import Message, Position, Thread
from app.positions import active_model, recompute, tally, thread_positions
from app.settings import settings_of
from tests.helpers import EXAMPLES, run_cli, sessions_of

DEMO = EXAMPLES / "foundation"
TOMAN = "<CF1A2E3B.3B1A2%troy.toman@rackspace.com>"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "positions"


def position_of(session: Session, message_id: str) -> Position:
    position = session.scalar(
        select(Position)
        .join(Message, Message.id == Position.message_pk)
        .where(Message.message_id == message_id)
    )
    assert position is not None, message_id
    return position


def exported_positions(app: Flask) -> dict[str, dict[str, object]]:
    result = run_cli(app, "export", "positions")
    assert result.exit_code == 0, result.output
    return {r["message_id"]: r for r in map(json.loads, result.stdout.splitlines())}


def test_the_seed_gives_toman_support_from_his_own_words(app: Flask) -> None:
    assert run_cli(app, "ingest", str(DEMO)).exit_code == 0
    with sessions_of(app)() as session:
        toman = position_of(session, TOMAN)
        message = session.scalar(select(Message).where(Message.message_id == TOMAN))
        assert message is not None
        # His own declaration is the side shown; the model claims no side as sure where
        # cross-validation found it imprecise, so staff confirm it.
        assert toman.stance == "support"
        assert toman.vote is None
        assert toman.evidence is not None
        assert "I am very supportive of taking simpler first steps" in toman.evidence
        assert message.body[toman.evidence_start : toman.evidence_end] == toman.evidence
        quoted = [(q["depth"], q["author"]) for q in toman.quoted]
        assert (2, "Mark McLoughlin") in quoted
        assert (1, "Thierry Carrez") in quoted
        assert {a for _, a in quoted} == {"Mark McLoughlin", "Thierry Carrez"}
        # Nothing he quoted is his evidence: Carrez's "short-sighted" words stay Carrez's.
        assert "short-sighted" not in toman.evidence
        assert "interoperable" not in toman.evidence
    record = exported_positions(app)[TOMAN]
    assert record == {
        "message_id": TOMAN,
        "list": "foundation",
        "thread_id": "<1391522712.2459.12.camel@sorcha.example>",
        "participant": "Troy Toman",
        "stance": toman.stance,
        "vote": None,
        "evidence": toman.evidence,
        "confidence": record["confidence"],
        "method": "model",
        "unsure": toman.unsure,
    }
    assert 0.0 < float(record["confidence"]) <= 1.0  # type: ignore[arg-type]


def test_a_quote_is_traced_to_the_message_that_holds_its_words(app: Flask) -> None:
    """Dana quotes Troy: the quoted words are found in Troy's own text, so the quote
    points at his message, not only at his name."""
    run_cli(app, "ingest", str(DEMO))
    with sessions_of(app)() as session:
        dana_reply = session.scalar(
            select(Message).where(Message.body.contains("Troy Toman wrote"))
        )
        assert dana_reply is not None
        position = position_of(session, dana_reply.message_id)
        sources = {q["author"]: q for q in position.quoted}
        assert sources["Troy Toman"]["message_id"] == TOMAN
        assert sources["Troy Toman"]["via"] == "quoted-text"


def test_every_stored_message_gets_exactly_one_position(app: Flask) -> None:
    run_cli(app, "ingest", str(DEMO))
    with sessions_of(app)() as session:
        messages = session.scalars(select(Message.id)).all()
        positions = session.scalars(select(Position.message_pk)).all()
        assert sorted(messages) == sorted(positions)


def test_recompute_is_idempotent_and_keeps_staff_corrections(app: Flask) -> None:
    run_cli(app, "ingest", str(DEMO))
    with sessions_of(app)() as session:
        before = _snapshot(session)
        toman = position_of(session, TOMAN)
        assert toman.thread_id is not None and toman.participant_id is not None
        correct_position(
            session, toman.thread_id, toman.participant_id, "concern", None, "he hedged", None
        )
        session.commit()
    result = run_cli(app, "positions", "recompute")
    assert result.exit_code == 0, result.output
    assert "positions recomputed for 6 messages" in result.stdout
    run_cli(app, "positions", "recompute")
    with sessions_of(app)() as session:
        assert _snapshot(session) == before
        toman = position_of(session, TOMAN)
        assert toman.method == "model"  # the machine row is untouched …
        assert toman.thread_id is not None
        current = {p.name: p for p in thread_positions(session, toman.thread_id)}
        assert (current["Troy Toman"].stance, current["Troy Toman"].source) == ("concern", "staff")
    record = exported_positions(app)[TOMAN]  # … and the correction wins everywhere
    assert (record["stance"], record["method"], record["evidence"]) == ("concern", "staff", None)


def _snapshot(session: Session) -> list[tuple[object, ...]]:
    return sorted(
        (p.message_pk, p.thread_id, p.stance, p.vote, p.evidence, p.method, json.dumps(p.quoted))
        for p in session.scalars(select(Position))
    )


def test_the_latest_decisive_position_wins_and_history_is_kept(app: Flask) -> None:
    """Ann votes -1, asks a question, then changes her vote to +1; Bob abstains."""
    assert run_cli(app, "ingest", str(FIXTURES / "vote-change.mbox")).exit_code == 0
    with sessions_of(app)() as session:
        thread = session.scalar(select(Thread))
        assert thread is not None
        current = {p.name: p for p in thread_positions(session, thread.id)}
        ann = current["Ann Lee"]
        assert (ann.stance, ann.vote, ann.source) == ("support", "+1", "machine")
        assert ann.history[0]["stance"] in ("oppose", "concern")  # her -1, read by the model
        assert [h["vote"] for h in ann.history] == ["-1", None, "+1"]
        assert current["Bob Roe"].vote == "+0"
        summary = tally(list(current.values()))
        # Tallies count sure positions only; the model's unsure readings are counted apart.
        assert sum(summary.stances.values()) + summary.unsure == len(current)
        sure_votes = {p.vote for p in current.values() if p.vote and not p.unsure}
        assert set(summary.votes) == sure_votes


def test_a_quote_without_attribution_line_is_the_parent_author_s(app: Flask) -> None:
    run_cli(app, "ingest", str(FIXTURES / "vote-change.mbox"))
    with sessions_of(app)() as session:
        bob = position_of(session, "<bob-1@example.org>")
        assert [(q["author"], q["message_id"]) for q in bob.quoted] == [
            ("Ann Lee", "<ann-1@example.org>")
        ]


def test_recompute_repairs_positions_whatever_their_state(app: Flask) -> None:
    run_cli(app, "ingest", str(FIXTURES / "vote-change.mbox"))
    with sessions_of(app)() as session:
        before = _snapshot(session)
        for position in session.scalars(select(Position)):
            position.stance, position.evidence = "none", None
        session.commit()
        recompute(session, active_model(settings_of(app).home))
        assert _snapshot(session) == before
