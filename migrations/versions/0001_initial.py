"""Initial schema: messages, customers, checkpoints, mailbox_state.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("clarity", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(32), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("follow_up_mode", sa.String(64), nullable=True),
        sa.Column("quote", sa.String(64), nullable=True),
        sa.Column("sample", sa.String(64), nullable=True),
        sa.Column("strength", sa.String(32), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("draft_message_id", sa.String(998), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint(
            "account", "folder", "uidvalidity", "uid", name="uq_messages_account_folder_uidvalidity_uid"
        ),
        sa.CheckConstraint("status IN ('drafted', 'skipped', 'quarantined', 'failed')", name="ck_messages_status"),
    )
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    op.create_index("ix_messages_content_hash", "messages", ["content_hash"])
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inquiries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_clarity", sa.Integer(), nullable=True),
        sa.Column("last_tier", sa.String(32), nullable=True),
        sa.Column("change_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("high_change_risk", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_checklist", sa.JSON(), nullable=True),
        sa.Column("last_order_checklist", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("address", name="uq_customers_address"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "folder", "uidvalidity", name="pk_checkpoints"),
    )
    op.create_table(
        "mailbox_state",
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("last_poll", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("backlog", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_mailbox_state"),
    )


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("mailbox_state")
    op.drop_table("checkpoints")
    op.drop_table("customers")
    op.drop_index("ix_messages_content_hash", table_name="messages")
    op.drop_index("ix_messages_message_id", table_name="messages")
    op.drop_table("messages")
