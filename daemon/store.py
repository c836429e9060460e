"""The database: what was done with each message, customers, checkpoints and mailbox states."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from daemon.errors import ConfigError, TransientError
from daemon.model import MessageKey, Outcome

log = logging.getLogger(__name__)

DONE_STATUSES = ("drafted", "skipped", "quarantined")
STATUSES = (*DONE_STATUSES, "failed")
HIGH_CHANGE_RISK_AT = 2
MESSAGE_ID_MAX = 998
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
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
    draft_message_id: Mapped[str | None] = mapped_column(sa.String(MESSAGE_ID_MAX))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    rules_version: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class Checkpoint(Base):
    """The highest UID handled in one folder generation."""

    __tablename__ = "checkpoints"

    account: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    folder: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
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


def _row(obj: Base | None) -> dict[str, Any] | None:
    """Return the mapped columns of one row as a dict."""
    if obj is None:
        return None
    return {c.key: getattr(obj, c.key) for c in sa.inspect(obj).mapper.column_attrs}


def _norm(value: Any) -> str:
    """Return a comparable form of a checklist value (case and spacing ignored for text)."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    return json.dumps(value, sort_keys=True, default=str)


def count_changes(old: dict[str, Any], new: dict[str, Any]) -> int:
    """Count the items present in both checklists whose values differ."""
    both = [k for k, v in new.items() if v is not None and old.get(k) is not None]
    return sum(_norm(old[k]) != _norm(new[k]) for k in both)


def migrations_config(url: str, connection: Connection | None = None) -> Any:
    """Build the Alembic config in code, pointing at the installed `migrations` package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Store:
    """Short thread-safe transactions over the database."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = sa.create_engine(url, pool_pre_ping=True, **_engine_args(url))
        if self.engine.dialect.name == "sqlite":
            _serialise_sqlite_writers(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    @property
    def url_for_display(self) -> str:
        """The URL with the password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """Open one short transaction; an unreachable database becomes TransientError."""
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as e:
            raise self._unreachable(e) from e

    def _unreachable(self, e: OperationalError) -> TransientError:
        reason = str(e.orig or e).strip().splitlines()[0] if str(e.orig or e).strip() else type(e).__name__
        return TransientError(
            f"database unreachable at {self.url_for_display}: {reason}; is the server running? "
            "Check the database URL in the configuration and that the server accepts connections."
        )

    def _sqlite_path(self) -> Path | None:
        db = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
            return None
        return Path(db)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from alembic import command

        path = self._sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.engine.begin() as conn:
                url = self.engine.url.render_as_string(hide_password=False)
                command.upgrade(migrations_config(url, conn), "head")
        except OperationalError as e:
            raise self._unreachable(e) from e
        log.info("Database %s is at the newest schema", self.url_for_display)

    def ping(self) -> None:
        """Check that the database answers and its schema is at head."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        path = self._sqlite_path()
        if path is not None and not path.exists():
            raise ConfigError(f"database file {path} does not exist; run `inquiry-triage db upgrade`")
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except OperationalError as e:
            raise self._unreachable(e) from e
        head = ScriptDirectory.from_config(migrations_config(self.url_for_display)).get_current_head()
        if current != head:
            raise ConfigError(
                f"database {self.url_for_display} is at schema {current or 'none'}, not {head}; "
                "run `inquiry-triage db upgrade`"
            )

    def _key_filter(self, key: MessageKey) -> sa.ColumnElement[bool]:
        return sa.and_(
            Message.account == key.account,
            Message.folder == key.folder,
            Message.uidvalidity == key.uidvalidity,
            Message.uid == key.uid,
        )

    def is_done(self, key: MessageKey) -> bool:
        """Tell whether the message was drafted, skipped or quarantined already."""
        query = sa.select(Message.id).where(self._key_filter(key), Message.status.in_(DONE_STATUSES))
        with self._tx() as s:
            return s.execute(query).first() is not None

    def find_duplicate(self, account: str, message_id: str, content_hash: str) -> MessageKey | None:
        """Find a done message with the same Message-ID and content (after a UIDVALIDITY change)."""
        if not message_id or not content_hash:
            return None
        query = (
            sa.select(Message.account, Message.folder, Message.uidvalidity, Message.uid)
            .where(
                Message.account == account,
                Message.message_id == message_id[:MESSAGE_ID_MAX],
                Message.content_hash == content_hash,
                Message.status.in_(DONE_STATUSES),
            )
            .order_by(Message.id)
            .limit(1)
        )
        with self._tx() as s:
            row = s.execute(query).first()
        return None if row is None else MessageKey(*row)

    def thread_checklists(self, account: str, ids: Sequence[str], sender: str) -> list[dict[str, Any]]:
        """Checklists (oldest first) of this sender's earlier messages in a thread: those whose Message-ID,
        or whose reply draft's Message-ID, is among `ids` (the References and In-Reply-To of a new message)."""
        ids = [i[:MESSAGE_ID_MAX] for i in ids if i]
        if not ids or not sender:
            return []
        query = (
            sa.select(Message.checklist)
            .where(
                Message.account == account,
                Message.sender == sender,
                Message.checklist.is_not(None),
                sa.or_(Message.message_id.in_(ids), Message.draft_message_id.in_(ids)),
            )
            .order_by(Message.id)
        )
        with self._tx() as s:
            return [row[0] for row in s.execute(query) if row[0]]

    def _upsert_message(
        self, key: MessageKey, values: dict[str, Any], keep_if_empty: tuple[str, ...]
    ) -> tuple[Any, dict[str, Any]]:
        """Insert or update the row of one key; empty strings in keep_if_empty keep the stored value."""
        now = utcnow()
        insert = self._insert(Message).values(
            account=key.account, folder=key.folder, uidvalidity=key.uidvalidity, uid=key.uid,
            created_at=now, updated_at=now, **values,
        )  # fmt: skip
        update: dict[str, Any] = {name: insert.excluded[name] for name in values if name != "attempts"}
        for name in keep_if_empty:
            update[name] = func.coalesce(func.nullif(insert.excluded[name], ""), Message.__table__.c[name])
        update["updated_at"] = now
        return insert, update

    def record(
        self,
        outcome: Outcome,
        *,
        sender: str = "",
        subject: str = "",
        language: str = "",
        rules_version: str = "",
        content_hash: str = "",
    ) -> None:
        """Store what processing one message came to; recording the same key again updates it."""
        values: dict[str, Any] = {
            "message_id": outcome.message_id[:MESSAGE_ID_MAX],
            "content_hash": content_hash,
            "sender": sender,
            "subject": subject,
            "language": language,
            "rules_version": rules_version,
            "status": outcome.status,
            "action": outcome.action,
            "reason": outcome.reason,
            "error": outcome.error,
            "draft_message_id": outcome.draft.message_id[:MESSAGE_ID_MAX] if outcome.draft else None,
            **_decision_columns(outcome),
        }
        keep = ("message_id", "content_hash", "sender", "subject", "language", "rules_version")
        insert, update = self._upsert_message(outcome.key, values, keep)
        with self._tx() as s:
            s.execute(insert.on_conflict_do_update(index_elements=_KEY_COLUMNS, set_=update))

    def record_failure(
        self, key: MessageKey, error: str, *, message_id: str = "", sender: str = "", subject: str = ""
    ) -> int:
        """Count one more failed attempt at a message and return the attempts so far."""
        values = {
            "message_id": message_id[:MESSAGE_ID_MAX],
            "sender": sender,
            "subject": subject,
            "status": "failed",
            "error": error,
            "attempts": 1,
        }
        insert, update = self._upsert_message(key, values, ("message_id", "sender", "subject"))
        update["attempts"] = Message.attempts + 1
        statement = insert.on_conflict_do_update(index_elements=_KEY_COLUMNS, set_=update)
        with self._tx() as s:
            return int(s.execute(statement.returning(Message.attempts)).scalar_one())

    def attempts(self, key: MessageKey) -> int:
        """Return how often processing the message failed."""
        with self._tx() as s:
            return int(s.execute(sa.select(Message.attempts).where(self._key_filter(key))).scalar() or 0)

    def get(self, key: MessageKey) -> dict[str, Any] | None:
        """Return the row of one message as a dict."""
        with self._tx() as s:
            return _row(s.execute(sa.select(Message).where(self._key_filter(key))).scalar())

    def messages(self, account: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest message rows first."""
        query = sa.select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        if account is not None:
            query = query.where(Message.account == account)
        with self._tx() as s:
            return [_row(m) or {} for m in s.execute(query).scalars()]

    def counts(self, account: str | None = None) -> dict[str, int]:
        """Count the messages by status."""
        query = sa.select(Message.status, func.count()).group_by(Message.status)
        if account is not None:
            query = query.where(Message.account == account)
        with self._tx() as s:
            return {status: int(n) for status, n in s.execute(query).all()}

    def checkpoint(self, account: str, folder: str, uidvalidity: int) -> int:
        """Return the last UID handled in a folder generation, or 0."""
        with self._tx() as s:
            cp = s.get(Checkpoint, (account, folder, uidvalidity))
            return cp.last_uid if cp else 0

    def set_checkpoint(self, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        """Move the checkpoint forward; an older UID leaves it unchanged."""
        insert = self._insert(Checkpoint).values(
            account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=utcnow()
        )
        statement = insert.on_conflict_do_update(
            index_elements=["account", "folder", "uidvalidity"],
            set_={"last_uid": insert.excluded.last_uid, "updated_at": insert.excluded.updated_at},
            where=Checkpoint.__table__.c.last_uid < insert.excluded.last_uid,
        )
        with self._tx() as s:
            s.execute(statement)

    def set_mailbox_state(
        self, account: str, state: str, *, error: str = "", backlog: int | None = None, polled: bool = False
    ) -> None:
        """Record the state of one mailbox; backlog and last poll change only when given."""
        now = utcnow()
        values: dict[str, Any] = {"state": state, "last_error": error, "updated_at": now}
        if backlog is not None:
            values["backlog"] = backlog
        if polled:
            values["last_poll"] = now
        insert = self._insert(MailboxState).values(account=account, **{"backlog": 0, **values})
        statement = insert.on_conflict_do_update(index_elements=["account"], set_=values)
        with self._tx() as s:
            s.execute(statement)

    def mailbox_states(self) -> list[dict[str, Any]]:
        """Return the state rows of all mailboxes."""
        with self._tx() as s:
            return [_row(m) or {} for m in s.execute(sa.select(MailboxState).order_by(MailboxState.account)).scalars()]

    def customer(self, address: str) -> dict[str, Any] | None:
        """Return what is known about one buyer address."""
        query = sa.select(Customer).where(Customer.address == address.strip().lower())
        with self._tx() as s:
            return _row(s.execute(query).scalar())

    def update_customer(
        self, address: str, checklist_json: dict[str, Any], clarity: int, tier: str | None, *, is_order: bool
    ) -> dict[str, Any]:
        """Count one more inquiry of a buyer and the checklist values the buyer changed."""
        address = address.strip().lower()
        now = utcnow()
        seed = self._insert(Customer).values(
            address=address, domain=address.rpartition("@")[2], first_seen=now, last_seen=now,
            inquiries=0, change_count=0, high_change_risk=False,
        )  # fmt: skip
        with self._tx() as s:
            s.execute(seed.on_conflict_do_nothing(index_elements=["address"]))
            cust = s.execute(sa.select(Customer).where(Customer.address == address).with_for_update()).scalar_one()
            old = cust.last_checklist or {}
            cust.change_count += count_changes(old, checklist_json)
            cust.high_change_risk = cust.high_change_risk or cust.change_count >= HIGH_CHANGE_RISK_AT
            cust.last_checklist = {**old, **{k: v for k, v in checklist_json.items() if v is not None}}
            cust.inquiries += 1
            cust.last_seen, cust.last_clarity, cust.last_tier = now, clarity, tier
            if is_order:
                cust.last_order_checklist = checklist_json
            s.flush()
            return _row(cust) or {}

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


_KEY_COLUMNS = ["account", "folder", "uidvalidity", "uid"]


def _decision_columns(outcome: Outcome) -> dict[str, Any]:
    """Return the decision columns filled from the outcome's assessment (all empty without one)."""
    a = outcome.assessment
    if a is None:
        names = ("clarity", "priority", "tier", "follow_up_mode", "quote", "sample", "strength")
        return {**dict.fromkeys(names), "checklist": None, "signals": None, "reasons": None}
    checklist = a.checklist
    return {
        "clarity": a.clarity,
        "priority": a.priority,
        "tier": a.tier,
        "follow_up_mode": a.follow_up_mode,
        "quote": a.quote,
        "sample": a.sample,
        "strength": checklist.strength,
        "checklist": {item: f.as_json() if f else None for item, f in checklist.items},
        "signals": [sig.name for sig in checklist.signals],
        "reasons": dict(a.reasons),
    }


def _engine_args(url: str) -> dict[str, Any]:
    """Return driver options: SQLite waits for a busy database instead of failing at once."""
    if sa.make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 30}}
    return {}


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE so concurrent read-then-write cannot deadlock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
