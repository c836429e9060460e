"""Mailbox ownership on the real PostgreSQL server: replicas' sessions, advisory locks, fair shares, take-over,
a lost session; and the lock file of a SQLite store."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from daemon.ownership import Replicas
from daemon.store import Store
from daemon.store.locks import Session, StoreLock, mailbox_key, owners, store_holder
from daemon.store.schema import SCHEMA_HEAD
from extractors.core.errors import ConfigError, TransientError
from tests.faults import private_postgres, shared_pg_database


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


class Fleet:
    """Replicas in this process, each with its own session, and what each believes it holds."""

    def __init__(self, engine: sa.Engine, names: list[str]) -> None:
        self.engine, self.names = engine, names
        self.replicas: list[Replicas] = []
        self.held: list[set[str]] = []

    def add(self) -> Replicas:
        replica = Replicas(Session(self.engine, f"inquiry-triage replica test {len(self.replicas)}", claim_seconds=1))
        replica.join()
        self.replicas.append(replica)
        self.held.append(set())
        return replica

    def settle(self, rounds: int = 6) -> list[int]:
        """Claim rounds by every live replica in turn until nothing changes; the count each holds."""
        for _ in range(rounds):
            changed = False
            for i, replica in enumerate(self.replicas):
                if not replica.session.open_:
                    continue
                decided = replica.round(self.names, self.held[i], set())
                for name in decided.release:
                    replica.release(name)
                    self.held[i].discard(name)
                self.held[i] |= set(decided.claimed)
                changed = changed or bool(decided.claimed or decided.release)
            if not changed:
                break
        return [len(h) for i, h in enumerate(self.held) if self.replicas[i].session.open_]

    def close(self) -> None:
        for replica in self.replicas:
            replica.leave()


@pytest.fixture
def fleet(engine: sa.Engine, request: pytest.FixtureRequest) -> Iterator[Fleet]:
    made: list[Fleet] = []

    def make(mailboxes: int) -> Fleet:
        made.append(Fleet(engine, [f"{request.node.name[-20:]}-{i}" for i in range(mailboxes)]))
        return made[-1]

    yield make  # type: ignore[misc]
    for f in made:
        f.close()


SHARES = [
    (20, 3, [6, 7, 7]),
    (20, 4, [5, 5, 5, 5]),
    (7, 1, [7]),
    (3, 5, [0, 0, 1, 1, 1]),
    (1, 2, [0, 1]),
    (10, 4, [2, 2, 3, 3]),
]


@pytest.mark.parametrize(("mailboxes", "replicas", "shares"), SHARES, ids=[f"{m}-over-{r}" for m, r, _ in SHARES])
def test_mailboxes_are_spread_evenly_and_each_has_one_owner(fleet, mailboxes: int, replicas: int,  # noqa: ANN001
                                                             shares: list[int]) -> None:
    f = fleet(mailboxes)
    for _ in range(replicas):
        f.add()
    assert sorted(f.settle()) == shares
    union = set().union(*f.held)
    assert union == set(f.names) and sum(len(h) for h in f.held) == len(union)
    assert set(owners(f.engine, f.names)) == set(f.names)


def test_a_replica_gone_leaves_its_mailboxes_to_the_others_and_a_new_one_gets_its_share(fleet) -> None:  # noqa: ANN001
    f = fleet(20)
    for _ in range(3):
        f.add()
    assert sorted(f.settle()) == [6, 7, 7]
    f.replicas[1].leave()  # its session ends: the server frees its locks
    f.held[1] = set()
    assert sorted(f.settle()) == [10, 10]
    f.add()
    assert sorted(f.settle()) == [6, 7, 7]
    assert set().union(*f.held) == set(f.names)


def test_a_lost_session_raises_then_claims_again_after_one_round(fleet, engine: sa.Engine) -> None:  # noqa: ANN001
    f = fleet(4)
    replica = f.add()
    assert f.settle() == [4]
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": replica.session.pid})
    with pytest.raises(TransientError, match="database unreachable"):
        replica.round(f.names, f.held[0], set())
    assert owners(f.engine, f.names) == {}  # the server freed the locks with the session
    f.held[0] = set()
    first = replica.round(f.names, set(), set())  # the new session: no claims yet
    assert (first.claimed, replica.session.open_) == ([], True)
    assert len(replica.round(f.names, set(), set()).claimed) == 4


def test_a_lock_held_but_not_believed_held_is_let_go_and_claimed_once(fleet) -> None:  # noqa: ANN001
    f = fleet(2)
    replica = f.add()
    key = mailbox_key(f.names[0])
    assert replica.session.try_lock(key) and replica.session.try_lock(key)  # held twice, believed not held
    decided = replica.round(f.names, set(), set())
    assert sorted(decided.claimed) == sorted(f.names)
    assert replica.session.unlock(key) and not replica.session.unlock(key)  # held exactly once now


def test_the_lock_key_of_a_name_never_changes() -> None:
    # replicas of different versions must agree on it during a rolling update
    assert mailbox_key("sales") == mailbox_key("sales") == -3113601096468665151
    assert mailbox_key("sales") != mailbox_key("sales2")


def test_the_session_names_itself_and_sets_keepalives(engine: sa.Engine) -> None:
    session = Session(engine, "inquiry-triage replica host-a 4242", claim_seconds=5)
    session.open()
    try:
        url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
        with psycopg.connect(url, autocommit=True) as conn:
            app = conn.execute("SELECT application_name FROM pg_stat_activity WHERE pid = %s", (session.pid,)).fetchone()
        assert app == ("inquiry-triage replica host-a 4242",)
        assert session.members() and session.pid in [pid for pid, _ in session.members()]
        settings = dict(session._query("SELECT name, setting FROM pg_settings WHERE name IN "  # noqa: SLF001
                                       "('tcp_keepalives_idle', 'tcp_keepalives_count', 'idle_session_timeout')"))
        assert settings == {"tcp_keepalives_idle": "10", "tcp_keepalives_count": "4", "idle_session_timeout": "0"}
    finally:
        session.close()


def test_a_sqlite_store_serves_one_process(tmp_path: Path) -> None:
    db = tmp_path / "triage.sqlite3"
    first, second = StoreLock(db), StoreLock(db)
    first.acquire()
    try:
        with pytest.raises(ConfigError, match=r"in use by inquiry-triage on .*, pid \d+; a SQLite store serves one"):
            second.acquire()
        assert store_holder(db) is not None and "pid" in str(store_holder(db))
    finally:
        first.release()
    assert store_holder(db) is None
    second.acquire()
    second.release()


def test_replicas_starting_together_upgrade_the_schema_one_at_a_time() -> None:
    with shared_pg_database() as (host, port, name):
        stores = [Store(f"postgresql+psycopg://postgres@{host}:{port}/{name}") for _ in range(3)]
        try:
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda s: s.upgrade(), stores))  # each would fail on the others' tables without the lock
            assert {s.revision() for s in stores} == {SCHEMA_HEAD}
        finally:
            for s in stores:
                s.dispose()


def test_the_lock_table_is_never_filled_and_the_setting_is_named() -> None:
    with private_postgres() as pg:
        with (pg.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("max_locks_per_transaction = 10\n")
        pg.restart()
        engine = sa.create_engine(pg.url)
        replica = Replicas(Session(engine, "inquiry-triage replica full 1", claim_seconds=1))
        replica.join()
        try:
            names = [f"full-{i}" for i in range(5000)]
            decided = replica.round(names, set(), set())
            assert len(decided.claimed) == replica.session.budget == 10 * 62 // 2  # 40 connections and 22 other backends
            assert "raise max_locks_per_transaction" in decided.trouble
            assert len(owners(engine, names)) == len(decided.claimed)  # and the server still takes connections
        finally:
            replica.leave()
            engine.dispose()
