"""Shared fixtures: a fresh PostgreSQL database for the test run."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from daemon.store import Store

# the rule-set cache of this test run (and of the CLI processes it starts) in a folder of its own
os.environ.setdefault("INQUIRY_TRIAGE_CACHE", tempfile.mkdtemp(prefix="inquiry-triage-cache-"))

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Create a database `it_<random>` on the local PostgreSQL server and drop it after the run."""
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"it_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as e:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at 127.0.0.1:5432 is not reachable ({e.orig}); start it with:\n    {PG_START}",
            pytrace=False,
        )
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _reset_pg(url: str) -> None:
    """Drop every table of the test database, so the next test starts empty."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A Store on an empty database (not upgraded), on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'triage.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    store = Store(url)
    try:
        yield store
    finally:
        store.dispose()
        if request.param == "postgresql":
            _reset_pg(url)


@pytest.fixture
def store(empty_store: Store) -> Store:
    """A Store whose schema is at head, on SQLite and on PostgreSQL."""
    empty_store.upgrade()
    return empty_store


@pytest.fixture(params=["sqlite", "postgresql"])
def maildir_workdir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A folder with an empty Maildir (its .Sent too) and config.toml: one mailbox `sales` on it, drafts in Drafts,
    the store SQLite or PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'triage.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    for folder in ("Maildir", "Maildir/.Sent"):
        for sub in ("cur", "new", "tmp"):
            (tmp_path / folder / sub).mkdir(parents=True)
    (tmp_path / "config.toml").write_text(
        f'[store]\nurl = "{url}"\n\n[[mailboxes]]\nname = "sales"\nkind = "maildir"\npath = "Maildir"\ndrafts = "Drafts"\n',
        encoding="utf-8")
    (tmp_path / "config.toml").chmod(0o600)
    try:
        yield tmp_path
    finally:
        if request.param == "postgresql":
            _reset_pg(url)


# The files that run longest (the fault runs, replicas, CLI conversations) start first: `make test` runs each file on
# one worker per core (pytest-xdist --dist loadfile), and a long file started last would run alone at the end.
LONG_FILES = ("test_outages.py", "test_imap_kill9.py", "test_replicas.py", "test_customers_cli.py", "test_cli.py",
              "test_draft_content.py", "test_rules_tuning.py", "test_rules_base.py", "test_reminders.py",
              "test_edits.py", "test_nurture.py", "test_imap_cli.py", "test_attachments_cli.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests keep their order
