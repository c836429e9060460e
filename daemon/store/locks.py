"""Who may work on a mailbox, as the database sees it.

PostgreSQL: each replica holds one dedicated connection (a session). The session is the replica's membership (its
application_name says so in pg_stat_activity) and holds a session-level advisory lock per mailbox it owns, keyed
by a 64-bit hash of the mailbox name. When the process dies, the server ends the session and so frees its locks.

SQLite: one process per store. An exclusive lock (flock) on a file beside the database says which process it is;
the kernel frees it when the process ends, however it ends."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from extractors.core.errors import ConfigError, TransientError

log = logging.getLogger(__name__)

REPLICA = "inquiry-triage replica"  # the application_name prefix of a replica's session: its membership
ONCE = "inquiry-triage once"  # a `run --once` session: holds locks while it works, is no member
NAME_MAX = 63  # PostgreSQL keeps this many bytes of an application_name

_HELD = """
SELECT l.classid::bigint, l.objid::bigint, l.pid FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_MEMBERS = """
SELECT pid, application_name FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE %s ORDER BY pid
"""


def _key(text: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


SCHEMA_KEY = _key(b"inquiry-triage schema upgrade")  # a transaction lock: one schema upgrade at a time


def mailbox_key(name: str) -> int:
    """The advisory lock key of a mailbox: a signed 64-bit hash of its name (a collision among 100,000 mailboxes
    has a chance of about 3 in 10 billion; it would only make the two mailboxes share one owner)."""
    return _key(b"inquiry-triage mailbox\0" + name.encode())


def _key_of(classid: int, objid: int) -> int:
    """The bigint key pg_locks shows as its high (classid) and low (objid) 32 bits."""
    unsigned = (classid << 32) | objid
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def replica_name(role: str = REPLICA) -> str:
    """`inquiry-triage replica <host> <pid>`, cut to what PostgreSQL keeps (the host name's end is dropped)."""
    tail = f" {os.getpid()}"
    return f"{role} {socket.gethostname()}"[: NAME_MAX - len(tail)] + tail


class Session:
    """A replica's dedicated PostgreSQL session: its membership and its mailbox locks. Thread-safe; every call
    raises TransientError when the session is lost (the caller must then assume it holds no lock)."""

    def __init__(self, engine: sa.Engine, name: str, *, claim_seconds: float) -> None:
        self._engine = engine
        self.name = name
        self.claim_seconds = claim_seconds
        self._conn: Any = None
        self._lock = threading.Lock()
        self.pid = 0
        self.budget = 0

    @property
    def url_for_display(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def open(self) -> None:
        """Connect and set the session up so that the server frees its locks about 6 claim rounds after it last
        heard of a replica that went silent (TCP keepalives and user timeout; idle timeouts off)."""
        import psycopg

        self.close()
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        beat = max(1, round(self.claim_seconds))
        try:
            conn = psycopg.connect(*cargs, **cparams, autocommit=True, application_name=self.name, connect_timeout=10,
                                   keepalives=1, keepalives_idle=2 * beat, keepalives_interval=beat,
                                   keepalives_count=3, tcp_user_timeout=4 * beat * 1000)
        except psycopg.Error as e:
            raise self._lost(e) from e
        settings = {"idle_session_timeout": "0", "idle_in_transaction_session_timeout": "0",
                    "statement_timeout": f"{4 * beat}s", "tcp_keepalives_idle": str(2 * beat),
                    "tcp_keepalives_interval": str(beat), "tcp_keepalives_count": "4",
                    "tcp_user_timeout": str(6 * beat * 1000)}
        for key, value in settings.items():
            try:
                conn.execute("SELECT set_config(%s, %s, false)", (key, value))
            except psycopg.errors.UndefinedObject:  # an older server without this setting
                log.debug("PostgreSQL has no setting %s", key)
            except psycopg.Error as e:
                conn.close()
                raise self._lost(e) from e
        self._conn = conn
        self.pid = int(conn.info.backend_pid)
        self.budget = self._budget()

    def _budget(self) -> int:
        """How many mailbox locks the replicas may hold together: half the server's shared lock table
        (max_locks_per_transaction x (backends + prepared transactions), as PostgreSQL sizes it). A full table
        refuses every new connection to the server ("out of shared memory"), so it must never fill."""
        names = ("max_locks_per_transaction", "max_connections", "autovacuum_max_workers", "max_worker_processes",
                 "max_wal_senders", "max_prepared_transactions")
        rows = self._query("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(names),))
        got = {str(k): int(v) for k, v in rows}
        backends = sum(got.get(n, 0) for n in names[1:5]) + 1 + got.get("max_prepared_transactions", 0)
        return got.get("max_locks_per_transaction", 64) * backends // 2

    def close(self) -> None:
        """Close the session (the server frees its locks)."""
        conn, self._conn, self.pid = self._conn, None, 0
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @property
    def open_(self) -> bool:
        return self._conn is not None

    def fileno(self) -> int | None:
        """The session's socket, to notice at once when the server ends it (readable then)."""
        conn = self._conn
        try:
            return None if conn is None else int(conn.fileno())
        except Exception:  # noqa: BLE001 - closed meanwhile
            return None

    def members(self) -> list[tuple[int, str]]:
        """(backend pid, application_name) of every live replica session of this database, by pid; also proves
        that this session is alive."""
        return [(int(pid), str(name)) for pid, name in self._query(_MEMBERS, (f"{REPLICA} %",))]

    def held(self) -> dict[int, int]:
        """key -> backend pid of every advisory lock (of one bigint key) granted in this database."""
        return {_key_of(int(c), int(o)): int(pid) for c, o, pid in self._query(_HELD)}

    def try_lock(self, key: int) -> bool:
        """Take a mailbox's lock if no other session holds it (never waits)."""
        return bool(self._query("SELECT pg_try_advisory_lock(%s)", (key,))[0][0])

    def unlock(self, key: int) -> bool:
        """Let a mailbox's lock go; False when this session did not hold it."""
        return bool(self._query("SELECT pg_advisory_unlock(%s)", (key,))[0][0])

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with self._lock:
            conn = self._conn
            if conn is None:
                raise TransientError(f"database unreachable at {self.url_for_display}: the replica's session is closed")
            try:
                return list(conn.execute(sql, params).fetchall())
            except psycopg.errors.OutOfMemory as e:  # the lock table is full
                raise ConfigError(f"database {self.url_for_display} has no room for another lock ({e}); raise "
                                  "max_locks_per_transaction (each replica's session holds one lock per mailbox it "
                                  "owns; see docs/operations.md)") from e
            except psycopg.Error as e:
                self._conn = None
                with contextlib.suppress(Exception):
                    conn.close()
                raise self._lost(e) from e

    def _lost(self, e: Exception) -> TransientError:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return TransientError(f"database unreachable at {self.url_for_display}: {reason}; the replica's session is "
                              "lost (its mailboxes are left to the replicas that can reach the database)")


def owners(engine: sa.Engine, names: list[str]) -> dict[str, str]:
    """The session holding each mailbox's lock, for `status`: the replica's host and pid, and its backend pid."""
    keys = {mailbox_key(n): n for n in names}
    query = sa.text("SELECT l.classid::bigint, l.objid::bigint, l.pid, a.application_name FROM pg_locks l "
                    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objsubid = 1 "
                    "AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for classid, objid, pid, app in conn.execute(query):
            name = keys.get(_key_of(int(classid), int(objid)))
            if name is not None:
                who = (app or "").removeprefix(REPLICA).removeprefix(ONCE).strip() or "?"
                found[name] = f"{who} (backend {pid})"
    return found


# -- SQLite: one process per store ---------------------------------------------------------------------------------
def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class StoreLock:
    """An exclusive lock on `<database>.lock`, held while the process runs; the file says who holds it."""

    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ConfigError naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ConfigError(f"the SQLite store {self.path.with_suffix('')} is in use by {holder}; a SQLite store "
                              "serves one process: stop that one first, or use PostgreSQL to run several replicas "
                              "(see docs/operations.md)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"inquiry-triage on {socket.gethostname()}, pid {os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def store_holder(database: Path) -> str | None:
    """Who holds a SQLite store's lock now (the text of its lock file), None when no process does."""
    path = lock_path(database)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
        return text.removeprefix("inquiry-triage on ") or "another process"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
