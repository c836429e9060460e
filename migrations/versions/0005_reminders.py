"""Messages keep the time their reply is due and when a reminder about them was put in the INBOX.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add messages.due_at and messages.reminded_at."""
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop messages.reminded_at and messages.due_at."""
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("due_at")
