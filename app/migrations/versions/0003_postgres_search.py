"""postgres search backend: tsvectors per message with GIN indexes, and each list's
text-search configuration

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Subject + own text, quoted text, sender: one vector and GIN index each.
VECTORS = ("document", "quoted", "sender")


def upgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.add_column(
            sa.Column(
                "search_config", sa.String(length=64), nullable=False, server_default="english"
            )
        )
    op.create_table(
        "search_documents",
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("config", sa.String(length=64), nullable=False),
        *(
            sa.Column(
                name, sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=False
            )
            for name in VECTORS
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.id"],
            name=op.f("fk_search_documents_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_pk", name=op.f("pk_search_documents")),
    )
    for name in VECTORS:
        op.create_index(
            f"ix_search_documents_{name}",
            "search_documents",
            [name],
            unique=False,
            postgresql_using="gin",
        )


def downgrade() -> None:
    for name in VECTORS:
        op.drop_index(f"ix_search_documents_{name}", table_name="search_documents")
    op.drop_table("search_documents")
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("search_config")
