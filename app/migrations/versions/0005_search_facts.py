"""search facts: what a search filters, counts and orders by (list, hidden, date, thread,
author, attachments, stance, vote), kept beside each message's vectors so that a search
reads one table; on PostgreSQL, triggers keep them in step with the live tables

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (column, type, nullable) of each fact.
FACTS = (
    ("list_id", sa.Integer(), False),
    ("hidden", sa.Boolean(), False),
    ("date_utc", sa.DateTime(), True),
    ("thread_id", sa.Integer(), True),
    ("author", sa.String(length=500), False),
    ("attached", sa.Boolean(), False),
    ("stance", sa.String(length=16), False),
    ("vote", sa.String(length=16), False),
)
_FACT_NAMES = [name for name, _type, _nullable in FACTS]
_NAMES = ", ".join(_FACT_NAMES)
_FROM_FACTS = ", ".join(f"f.{name}" for name in _FACT_NAMES)
_OF_DOCUMENT = ", ".join(f"d.{name}" for name in _FACT_NAMES)

#: Each message's facts, read from the live tables: its author as the senders facet names
#: them, and its author's stance and vote with a staff correction winning over the machine.
_VIEW = """
CREATE VIEW search_facts AS
SELECT m.id AS message_pk, m.list_id, m.hidden, m.date_utc, m.thread_id,
       coalesce(nullif(m.from_name, ''), nullif(m.from_address, ''), '(unknown)')::varchar(500)
           AS author,
       coalesce(CASE WHEN json_typeof(m.attachments) = 'array'
                     THEN json_array_length(m.attachments) > 0 END, false) AS attached,
       coalesce(o.stance, p.stance, '')::varchar(16) AS stance,
       coalesce(o.vote, p.vote, '')::varchar(16) AS vote
FROM messages m
LEFT JOIN positions p ON p.message_pk = m.id
LEFT JOIN position_overrides o
    ON o.thread_id = m.thread_id AND o.participant_id = m.participant_id
"""

#: The facts of one message brought up to date; a row whose facts did not change is not
#: rewritten. PL/pgSQL, so that its plan is made once per connection, not per call.
_REFRESH = f"""
CREATE FUNCTION search_documents_refresh(pk integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_documents d SET ({_NAMES}) = ({_FROM_FACTS})
    FROM search_facts f
    WHERE d.message_pk = pk AND f.message_pk = pk
      AND ({_OF_DOCUMENT}) IS DISTINCT FROM ({_FROM_FACTS});
END
$$
"""

#: Which changes of each table move facts, and the messages whose facts they move.
_TRIGGERS = {
    "messages": (
        "AFTER UPDATE OF list_id, hidden, date_utc, thread_id, participant_id, from_name,"
        " from_address, attachments",
        "search_documents_refresh(NEW.id)",
        "",
    ),
    "positions": (
        "AFTER INSERT OR UPDATE OF message_pk, stance, vote OR DELETE",
        "search_documents_refresh(NEW.message_pk)",
        "search_documents_refresh(OLD.message_pk)",
    ),
    "position_overrides": (
        "AFTER INSERT OR UPDATE OF thread_id, participant_id, stance, vote OR DELETE",
        "search_documents_refresh(id) FROM messages"
        " WHERE thread_id = NEW.thread_id AND participant_id = NEW.participant_id",
        "search_documents_refresh(id) FROM messages"
        " WHERE thread_id = OLD.thread_id AND participant_id = OLD.participant_id",
    ),
}


def _trigger_sql(table: str, events: str, new: str, old: str) -> list[str]:
    """A row trigger on `table` after `events` that refreshes the facts of the messages
    the new row names (`new`) and, but for an insert, those the old row named (`old`;
    none for a message, which is its own row)."""
    old_part = f"IF TG_OP <> 'INSERT' THEN PERFORM {old}; END IF;" if old else ""
    return [
        f"""
        CREATE FUNCTION search_documents_follow_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {old_part}
            IF TG_OP <> 'DELETE' THEN PERFORM {new}; END IF;
            RETURN NULL;
        END
        $$
        """,
        f"""
        CREATE TRIGGER search_documents_follow {events} ON {table}
        FOR EACH ROW EXECUTE FUNCTION search_documents_follow_{table}()
        """,
    ]


def upgrade() -> None:
    with op.batch_alter_table("search_documents") as batch:
        for name, type_, _nullable in FACTS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_VIEW)
        op.execute(_REFRESH)
        op.execute(
            f"UPDATE search_documents d SET ({_NAMES}) = ({_FROM_FACTS})"
            " FROM search_facts f WHERE f.message_pk = d.message_pk"
        )
        for table, (events, new, old) in _TRIGGERS.items():
            for statement in _trigger_sql(table, events, new, old):
                op.execute(statement)
    with op.batch_alter_table("search_documents") as batch:
        for name, type_, nullable in FACTS:
            if not nullable:
                batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_index(
            "ix_search_documents_facts",
            ["date_utc"],
            postgresql_include=["message_pk", *(n for n in _FACT_NAMES if n != "date_utc")],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TRIGGERS:
            op.execute(f"DROP TRIGGER search_documents_follow ON {table}")
            op.execute(f"DROP FUNCTION search_documents_follow_{table}()")
        op.execute("DROP FUNCTION search_documents_refresh(integer)")
        op.execute("DROP VIEW search_facts")
    with op.batch_alter_table("search_documents") as batch:
        batch.drop_index("ix_search_documents_facts")
        for name, _type, _nullable in reversed(FACTS):
            batch.drop_column(name)
