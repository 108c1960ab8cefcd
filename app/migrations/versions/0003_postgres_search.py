"""postgres search backend: a weighted tsvector per message with a GIN index, and each
list's text-search configuration

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
        sa.Column(
            "document",
            sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.id"],
            name=op.f("fk_search_documents_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_pk", name=op.f("pk_search_documents")),
    )
    op.create_index(
        "ix_search_documents_document",
        "search_documents",
        ["document"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_search_documents_document", table_name="search_documents")
    op.drop_table("search_documents")
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("search_config")
