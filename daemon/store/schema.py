"""The database schema: what was done with each message, customers, checkpoints and mailbox states.

The migrations in `migrations/` are compared against this metadata by the test suite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_HEAD = "0006"  # the newest migration in migrations/versions (a test checks it is Alembic's head)
STATUSES = ("drafted", "skipped", "quarantined", "failed")
MESSAGE_ID_MAX = 998
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware datetime that always comes back in UTC, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return None if value is None else value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base whose metadata the migrations are compared against."""

    metadata = sa.MetaData(naming_convention=NAMING)


class Message(Base):
    """One inquiry and what was decided about it."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("account", "folder", "uidvalidity", "uid"),
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(100))
    folder: Mapped[str] = mapped_column(sa.String(255))
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    uid: Mapped[int] = mapped_column(sa.BigInteger)
    message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX), index=True, default="")
    content_hash: Mapped[str] = mapped_column(sa.String(64), index=True, default="")
    sender: Mapped[str] = mapped_column(sa.String, default="")
    subject: Mapped[str] = mapped_column(sa.String, default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="")
    status: Mapped[str] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(64), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    clarity: Mapped[int | None] = mapped_column(sa.Integer)
    priority: Mapped[str | None] = mapped_column(sa.String(32))
    tier: Mapped[str | None] = mapped_column(sa.String(32))
    follow_up_mode: Mapped[str | None] = mapped_column(sa.String(64))
    quote: Mapped[str | None] = mapped_column(sa.String(64))
    sample: Mapped[str | None] = mapped_column(sa.String(64))
    strength: Mapped[str | None] = mapped_column(sa.String(32))
    checklist: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    signals: Mapped[list[str] | None] = mapped_column(sa.JSON)
    reasons: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    tags: Mapped[list[str] | None] = mapped_column(sa.JSON)  # the IMAP keywords set on the inquiry
    draft_message_id: Mapped[str | None] = mapped_column(sa.String(MESSAGE_ID_MAX), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    rules_version: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the reply is due by then (decisions.toml)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # a reminder note went to the INBOX


class Customer(Base):
    """What is known about one buyer address across inquiries."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(320), unique=True)
    domain: Mapped[str] = mapped_column(sa.String(255), default="")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    inquiries: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_clarity: Mapped[int | None] = mapped_column(sa.Integer)
    last_tier: Mapped[str | None] = mapped_column(sa.String(32))
    change_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    high_change_risk: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    last_checklist: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    last_order_checklist: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    company: Mapped[str | None] = mapped_column(sa.String(255))
    contact: Mapped[str | None] = mapped_column(sa.String(255))
    country: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str | None] = mapped_column(sa.String(32))  # of the latest inquiry: drafted, skipped, lead
    last_priority: Mapped[str | None] = mapped_column(sa.String(32))
    last_mode: Mapped[str | None] = mapped_column(sa.String(64))
    change_risk_reason: Mapped[str | None] = mapped_column(sa.Text)  # why the buyer is a high change risk
    source: Mapped[str] = mapped_column(sa.String(16), default="mail", server_default="mail")  # mail or lead


class CustomerEvent(Base):
    """One inquiry (or trade-show lead) of a customer: where it stood, what moved and why."""

    __tablename__ = "customer_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(sa.String(16))  # mail or lead
    message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX), default="")
    subject: Mapped[str] = mapped_column(sa.String, default="")
    clarity: Mapped[int | None] = mapped_column(sa.Integer)
    priority: Mapped[str | None] = mapped_column(sa.String(32))
    tier: Mapped[str | None] = mapped_column(sa.String(32))
    follow_up_mode: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64), default="")
    missing: Mapped[list[str] | None] = mapped_column(sa.JSON)  # the items still open after this inquiry
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)  # restated values: item, before, now
    moves: Mapped[list[dict[str, str]] | None] = mapped_column(sa.JSON)  # tier/mode moves: what, from, to, reason


class Checkpoint(Base):
    """The highest UID handled in one folder generation, and the highest UID handed to the pipeline: a message
    between the two may have had its draft saved before a crash, so only such a message needs a look in Drafts."""

    __tablename__ = "checkpoints"

    account: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    folder: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    attempted_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MailboxState(Base):
    """The health of one mailbox, for `status` and the health check."""

    __tablename__ = "mailbox_state"

    account: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(32))
    last_poll: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    backlog: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DraftText(Base):
    """The text of a draft as we saved it: what a sent reply is compared with."""

    __tablename__ = "draft_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(100))
    draft_message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX), unique=True)
    inquiry_message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX), default="")
    action: Mapped[str] = mapped_column(sa.String(64))  # the template
    language: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SentReply(Base):
    """A message in the seller's Sent folder: the inquiry it answered, how long after, how our draft was changed."""

    __tablename__ = "sent_replies"
    __table_args__ = (sa.UniqueConstraint("account", "sent_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(100))
    sent_key: Mapped[str] = mapped_column(sa.String(255))  # the file's unique name, or UIDVALIDITY:UID
    message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX), default="")
    inquiry_message_id: Mapped[str | None] = mapped_column(sa.String(MESSAGE_ID_MAX), index=True)
    draft_message_id: Mapped[str | None] = mapped_column(sa.String(MESSAGE_ID_MAX))
    action: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    edits: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


NURTURE_STATES = ("saving", "saved")


class Nurture(Base):
    """A nurture draft for a tier C buyer: noted (state saving) before it is put in Drafts, saved after; the n-th
    of a buyer (seq) exists once, so a crash or a second pass never puts a second one in for the same period."""

    __tablename__ = "nurtures"
    __table_args__ = (
        sa.UniqueConstraint("address", "seq"),
        sa.CheckConstraint(f"state IN {NURTURE_STATES!r}", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(320))  # the customer (customers.address)
    seq: Mapped[int] = mapped_column(sa.Integer)  # 1 for the buyer's first nurture draft, then 2, ...
    inquiry_message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX))  # the inquiry it is threaded to
    draft_message_id: Mapped[str] = mapped_column(sa.String(MESSAGE_ID_MAX), unique=True)
    language: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.String(255))  # the seller's content item it shares ("": a placeholder)
    state: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    saved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
