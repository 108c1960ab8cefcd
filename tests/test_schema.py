"""The migration builds the whole data model, and models round-trip, on both databases."""

from __future__ import annotations

from datetime import date

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, select

from app.db import upgrade
from app.models import (
    Base,
    Decision,
    DecisionEvent,
    DecisionLink,
    MailingList,
    Message,
    Participant,
    ParticipantAddress,
    Position,
    Tag,
    Thread,
    User,
)
from tests.helpers import sessions_of


def test_migrations_create_every_table_of_the_model(app: Flask) -> None:
    engine = app.extensions["quorum.engine"]
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrading_twice_is_harmless(app: Flask) -> None:
    engine = app.extensions["quorum.engine"]
    upgrade(engine)
    assert "messages" in inspect(engine).get_table_names()


def test_models_round_trip(app: Flask) -> None:
    sessions = sessions_of(app)
    with sessions() as session:
        lst = MailingList(name="foundation", title="Foundation", visibility="private")
        person = Participant(display_name="Grüße Müller")
        session.add_all([lst, person])
        session.flush()
        session.add(ParticipantAddress(participant_id=person.id, address="gm@example.org"))
        thread = Thread(list_id=lst.id, key="<root@example.org>", subject="Zürich")
        session.add(thread)
        session.flush()
        message = Message(
            list_id=lst.id,
            message_id="<root@example.org>",
            thread_id=thread.id,
            references=["<a@x>", "<b@x>"],
            subject="Zürich",
            participant_id=person.id,
            body="Grüße\n",
            attachments=[{"filename": "a.pdf", "content_type": "application/pdf", "size": 3}],
            raw=b"\x00\xffraw",
            content_hash="0" * 64,
        )
        session.add(message)
        session.flush()
        session.add(
            Position(
                message_pk=message.id,
                participant_id=person.id,
                thread_id=thread.id,
                stance="support",
                vote="+1",
                evidence="+1",
                confidence=0.9,
                method="vote-token",
            )
        )
        tag = Tag(name="interop")
        decision = Decision(
            slug="defcore", title="DefCore", decided_on=date(2014, 3, 1), tags=[tag]
        )
        session.add(decision)
        session.flush()
        session.add(DecisionLink(decision_id=decision.id, thread_id=thread.id))
        session.add(DecisionEvent(decision_id=decision.id, kind="created", changes={"a": 1}))
        session.add(User(name="ada", role="admin", password_hash="x"))
        session.commit()

    with sessions() as session:
        stored = session.scalars(select(Message)).one()
        assert stored.references == ["<a@x>", "<b@x>"]
        assert stored.raw == b"\x00\xffraw"
        assert stored.body == "Grüße\n"
        assert stored.attachments[0]["filename"] == "a.pdf"
        assert stored.hidden is False
        assert stored.mailing_list.visibility == "private"
        assert stored.participant is not None
        assert stored.participant.addresses[0].address == "gm@example.org"
        decision = session.scalars(select(Decision)).one()
        assert [t.name for t in decision.tags] == ["interop"]
        assert decision.links[0].thread_id == stored.thread_id
        assert decision.decided_on == date(2014, 3, 1)
        position = session.scalars(select(Position)).one()
        assert (position.stance, position.vote, position.confidence) == ("support", "+1", 0.9)


def test_the_migrations_build_exactly_the_models(app: Flask) -> None:
    with app.extensions["quorum.engine"].connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
