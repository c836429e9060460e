"""The seller's side: the text of each draft, and each reply the seller sent (which inquiry it answered, how long
after, and how the seller changed our draft before sending it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create draft_texts and sent_replies."""
    op.create_table(
        "draft_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("draft_message_id", sa.String(998), nullable=False),
        sa.Column("inquiry_message_id", sa.String(998), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_draft_texts"),
        sa.UniqueConstraint("draft_message_id", name="uq_draft_texts_draft_message_id"),
    )
    op.create_table(
        "sent_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("sent_key", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("inquiry_message_id", sa.String(998), nullable=True),
        sa.Column("draft_message_id", sa.String(998), nullable=True),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_seconds", sa.Integer(), nullable=True),
        sa.Column("edits", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sent_replies"),
        sa.UniqueConstraint("account", "sent_key", name="uq_sent_replies_account_sent_key"),
    )
    op.create_index("ix_sent_replies_inquiry_message_id", "sent_replies", ["inquiry_message_id"])


def downgrade() -> None:
    """Drop sent_replies and draft_texts."""
    op.drop_index("ix_sent_replies_inquiry_message_id", table_name="sent_replies")
    op.drop_table("sent_replies")
    op.drop_table("draft_texts")
