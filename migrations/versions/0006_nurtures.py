"""Nurture drafts: one row per draft put in Drafts for a tier C buyer, noted before the draft is saved.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the nurtures table."""
    op.create_table(
        "nurtures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("inquiry_message_id", sa.String(length=998), nullable=False),
        sa.Column("draft_message_id", sa.String(length=998), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("content", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('saving', 'saved')", name=op.f("ck_nurtures_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nurtures")),
        sa.UniqueConstraint("address", "seq", name=op.f("uq_nurtures_address_seq")),
        sa.UniqueConstraint("draft_message_id", name=op.f("uq_nurtures_draft_message_id")),
    )


def downgrade() -> None:
    """Drop the nurtures table."""
    op.drop_table("nurtures")
