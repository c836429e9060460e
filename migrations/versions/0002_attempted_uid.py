"""Checkpoints remember the highest UID handed to the pipeline (attempted_uid); messages keep their tags;
drafts' Message-IDs are indexed.

Tags are set on the inquiries once per batch; the stored tags let the next pass set them again on the messages of
a batch a crash interrupted.

A message between the checkpoint and this mark may have had its draft saved before a crash; only such a message
is looked for in Drafts before its draft is saved.
A buyer's reply names the draft it answers in In-Reply-To/References: finding the thread's earlier checklists
by draft_message_id must not scan the whole messages table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add checkpoints.attempted_uid (0: nothing handed over yet) and the index on messages.draft_message_id."""
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(sa.Column("attempted_uid", sa.BigInteger(), server_default="0", nullable=False))
    op.create_index("ix_messages_draft_message_id", "messages", ["draft_message_id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop messages.tags, the index and checkpoints.attempted_uid."""
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("tags")
    op.drop_index("ix_messages_draft_message_id", table_name="messages")
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("attempted_uid")
