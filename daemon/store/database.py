"""The database itself: the engine, short transactions, schema upgrades and the checks at start."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from daemon.store.locks import SCHEMA_KEY
from daemon.store.schema import SCHEMA_HEAD
from extractors.core.errors import ConfigError, TransientError

log = logging.getLogger(__name__)

UNREACHABLE = (OperationalError, InterfaceError)  # the database is down, refuses, or lost the connection


def migrations_config(url: str, connection: Connection | None = None) -> Any:
    """Build the Alembic config in code, pointing at the installed `migrations` package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config




class Database:
    """The engine and short thread-safe transactions; an unreachable database becomes TransientError."""

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
        except UNREACHABLE as e:
            raise self._unreachable(e) from e
        except DBAPIError as e:
            if not e.connection_invalidated:
                raise
            raise self._unreachable(e) from e

    def _unreachable(self, e: DBAPIError) -> TransientError:
        reason = str(e.orig or e).strip().splitlines()[0] if str(e.orig or e).strip() else type(e).__name__
        if self.engine.dialect.name == "sqlite":
            if "full" in reason:
                return TransientError(f"database {self.url_for_display} cannot be written: {reason}; free space on "
                                      "its disk (nothing is lost: work resumes when writes succeed again)")
            return TransientError(f"database {self.url_for_display} cannot be used: {reason}; check the file, its "
                                  "folder's permissions and free space")
        return TransientError(
            f"database unreachable at {self.url_for_display}: {reason}; is the server running? "
            "Check the database URL in the configuration and that the server accepts connections."
        )

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL or an in-memory database)."""
        return self._sqlite_path()

    def _sqlite_path(self) -> Path | None:
        db = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
            return None
        return Path(db)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (Alembic is loaded only when there is something to do)."""
        path = self._sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if self.revision() == SCHEMA_HEAD:
            log.info("Database %s is at the newest schema", self.url_for_display)
            return
        from alembic import command

        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":  # replicas starting together upgrade one at a time
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_KEY})
                url = self.engine.url.render_as_string(hide_password=False)
                command.upgrade(migrations_config(url, conn), "head")
        except OperationalError as e:
            raise self._unreachable(e) from e
        log.info("Database %s is at the newest schema", self.url_for_display)

    def revision(self) -> str | None:
        """The schema revision the database is at, None before the first migration (a plain query: a daemon that
        finds its schema current never loads Alembic, about 10 MB)."""
        try:
            with self.engine.connect() as conn:
                if not sa.inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as e:
            raise self._unreachable(e) from e

    def ping(self) -> None:
        """Check that the database answers and its schema is at head."""
        path = self._sqlite_path()
        if path is not None and not path.exists():
            raise ConfigError(f"database file {path} does not exist; run `inquiry-triage db upgrade`")
        current = self.revision()
        if current != SCHEMA_HEAD:
            raise ConfigError(
                f"database {self.url_for_display} is at schema {current or 'none'}, not {SCHEMA_HEAD}; "
                "run `inquiry-triage db upgrade`"
            )

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        """One short Core transaction (the per-message path); an unreachable database becomes TransientError."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except UNREACHABLE as e:
            raise self._unreachable(e) from e
        except DBAPIError as e:
            if not e.connection_invalidated:
                raise
            raise self._unreachable(e) from e

    @contextmanager
    def _durable(self) -> Iterator[Connection]:
        """A transaction whose commit is on disk before it returns, whatever happens to the machine next (SQLite
        otherwise syncs its write-ahead log only at checkpoints: a power cut may undo the last commits, which the
        exactly-once scheme tolerates for records but not for the note of a batch handed over)."""
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.dbapi_connection if self.engine.dialect.name == "sqlite" else None
                if raw is not None:
                    raw.execute("PRAGMA synchronous=FULL")
                try:
                    with conn.begin():
                        yield conn
                finally:
                    if raw is not None:
                        raw.execute("PRAGMA synchronous=NORMAL")
        except UNREACHABLE as e:
            raise self._unreachable(e) from e

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _engine_args(url: str) -> dict[str, Any]:
    """Return driver options: SQLite waits for a busy database instead of failing at once; a PostgreSQL connection
    gives up connecting after 10 s and notices a dead peer within about a minute (keepalives, TCP user timeout),
    so that an outage is an error to wait out and never a job that hangs."""
    if sa.make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 30}}
    return {"connect_args": {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                             "keepalives_count": 3, "tcp_user_timeout": 60_000}}


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE so concurrent read-then-write cannot deadlock, and use the
    write-ahead log: a commit appends to it instead of rewriting pages through a rollback journal, readers such as
    `status` never wait, and with synchronous=NORMAL a commit survives a crash of the process (not of the machine:
    see Database._durable) without an fsync each; about three times as fast per message."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
