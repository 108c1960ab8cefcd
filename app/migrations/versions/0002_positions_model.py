"""positions from a trained model: unsure positions, corrections tied to a message,
per-user session generations

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.add_column(
            sa.Column("unsure", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("position_overrides") as batch:
        batch.add_column(sa.Column("message_pk", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_position_overrides_message_pk"), ["message_pk"])
        batch.create_foreign_key(
            batch.f("fk_position_overrides_message_pk_messages"),
            "messages",
            ["message_pk"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
    with op.batch_alter_table("position_overrides") as batch:
        batch.drop_constraint(
            batch.f("fk_position_overrides_message_pk_messages"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_position_overrides_message_pk"))
        batch.drop_column("message_pk")
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("unsure")
