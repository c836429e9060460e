"""Every Alembic revision upgrades and downgrades, through the alembic command, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import _reset_pg

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]

# (revision, tables there besides alembic_version, columns of customers there)
STEPS = [
    ("base", set(), set()),
    ("0001", {"messages", "customers", "checkpoints", "mailbox_state"}, {"address", "last_order_checklist"}),
    ("0002", {"messages", "customers", "checkpoints", "mailbox_state"}, {"address", "last_order_checklist"}),
    ("0003", {"messages", "customers", "checkpoints", "mailbox_state", "customer_events"},
     {"address", "company", "contact", "country", "source", "status", "last_priority", "last_mode", "change_risk_reason"}),
    ("0004", {"messages", "customers", "checkpoints", "mailbox_state", "customer_events", "draft_texts", "sent_replies"},
     {"address", "company"}),
    ("0005", {"messages", "customers", "checkpoints", "mailbox_state", "customer_events", "draft_texts", "sent_replies"},
     {"address", "company"}),
    ("0006", {"messages", "customers", "checkpoints", "mailbox_state", "customer_events", "draft_texts", "sent_replies",
              "nurtures"}, {"address", "company"}),
]
NEW_IN_0003 = {"company", "contact", "country", "source", "status", "last_priority", "last_mode", "change_risk_reason"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    pg = request.getfixturevalue("pg_url")
    try:
        yield pg
    finally:
        _reset_pg(pg)


def alembic(url: str, *args: str) -> None:
    result = subprocess.run([*ALEMBIC, "-x", f"url={url}", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def shape(url: str) -> tuple[set[str], set[str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        columns = {c["name"] for c in inspector.get_columns("customers")} if "customers" in tables else set()
        return tables, columns
    finally:
        engine.dispose()


def test_upgrade_head_then_downgrade_base(url: str) -> None:
    alembic(url, "upgrade", "head")
    tables, columns = shape(url)
    assert (tables, NEW_IN_0003 <= columns) == (STEPS[-1][1], True)
    alembic(url, "downgrade", "base")
    assert shape(url) == (set(), set())


@pytest.mark.parametrize("step", range(1, len(STEPS)), ids=[s[0] for s in STEPS[1:]])
def test_each_revision_up_and_down(url: str, step: int) -> None:
    revision, tables, columns = STEPS[step]
    alembic(url, "upgrade", revision)
    got_tables, got_columns = shape(url)
    assert (got_tables, columns <= got_columns) == (tables, True)
    alembic(url, "downgrade", STEPS[step - 1][0])
    got_tables, got_columns = shape(url)
    gone = NEW_IN_0003 & got_columns if revision == "0003" else set()
    assert (got_tables, STEPS[step - 1][2] <= got_columns, gone) == (STEPS[step - 1][1], True, set())


def test_customers_survive_0003_both_ways(url: str) -> None:
    alembic(url, "upgrade", "0002")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    insert = sa.text("INSERT INTO customers (address, domain, first_seen, last_seen, inquiries, change_count, "
                     "high_change_risk) VALUES ('a@b.example', 'b.example', :t, :t, 3, 1, false)")
    read = "SELECT address, inquiries FROM customers"
    try:
        with engine.begin() as conn:
            conn.execute(insert, {"t": "2026-12-01 10:00:00+00:00"})
        alembic(url, "upgrade", "head")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT address, inquiries, source FROM customers").all() == [("a@b.example", 3, "mail")]
        alembic(url, "downgrade", "0002")
        with engine.connect() as conn:
            assert conn.exec_driver_sql(read).all() == [("a@b.example", 3)]
    finally:
        engine.dispose()
