"""Customers carry what a CRM imports and where they stand; customer_events keep each inquiry's clarity, tier and
mode over time, with the reason of every move.

customers: company, contact and country (from the latest checklist, or a trade-show lead's row), source (mail or
lead), status (drafted, lead, ...), last_priority, last_mode, and change_risk_reason (why the buyer became a high
change risk). customer_events: one row per inquiry or lead of a customer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CUSTOMER_COLUMNS = (
    ("company", sa.String(255)),
    ("contact", sa.String(255)),
    ("country", sa.String(100)),
    ("status", sa.String(32)),
    ("last_priority", sa.String(32)),
    ("last_mode", sa.String(64)),
    ("change_risk_reason", sa.Text()),
)


def upgrade() -> None:
    """Add the customer columns and the customer_events table."""
    with op.batch_alter_table("customers") as batch:
        for name, type_ in _CUSTOMER_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("source", sa.String(16), server_default="mail", nullable=False))
    op.create_table(
        "customer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("clarity", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(32), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("follow_up_mode", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("moves", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_customer_events_customer_id_customers",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_customer_events"),
    )
    op.create_index("ix_customer_events_customer_id", "customer_events", ["customer_id"])


def downgrade() -> None:
    """Drop customer_events and the customer columns."""
    op.drop_index("ix_customer_events_customer_id", table_name="customer_events")
    op.drop_table("customer_events")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("source")
        for name, _type in reversed(_CUSTOMER_COLUMNS):
            batch.drop_column(name)
