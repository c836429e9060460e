"""The store on SQLite and on PostgreSQL: migrations, idempotence, checkpoints, customers, errors."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from daemon.assess import Decisions
from daemon.store import Base, CustomerUpdate, Store
from extractors.core.errors import ConfigError, TransientError
from extractors.core.model import Assessment, Checklist, Draft, Finding, MessageKey, Outcome, Signal

KEY = MessageKey("sales", "INBOX", 7, 4711)
OTHER = MessageKey("sales", "INBOX", 8, 1)


def finding(item: str, value: object) -> Finding:
    return Finding(item, value, f"{item}: {value}", 0, 10, f"{item.upper()}_RULE", 0.9)


def outcome(key: MessageKey = KEY, status: str = "drafted", message_id: str = "<a@b>") -> Outcome:
    checklist = Checklist(
        key,
        "en",
        (("quantity", finding("quantity", 500)), ("specs", None)),
        signals=(Signal("sample_requested", "SAMPLE", "asks for a sample"),),
        strength="high",
    )
    assessment = Assessment(
        key, checklist, "high", "B", "ask", "precise", None, "precise_quote", reasons=(("tier", "clear buyer"),)
    )
    draft = Draft(key, "<draft@x>", "precise_quote", "buyer@example.com", "Re: RFQ", b"")
    return Outcome(
        key, message_id, status, "precise_quote", "clear", assessment, draft if status == "drafted" else None
    )


def test_upgrade_from_empty(empty_store: Store) -> None:
    with pytest.raises(ConfigError, match="inquiry-triage db upgrade"):
        empty_store.ping()
    empty_store.upgrade()
    empty_store.upgrade()  # a second upgrade is a no-op
    empty_store.ping()
    tables = set(sa.inspect(empty_store.engine).get_table_names())
    assert {"messages", "customers", "checkpoints", "mailbox_state", "alembic_version"} <= tables


def test_migrations_match_metadata(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_record_is_idempotent_and_fills_decisions(store: Store) -> None:
    store.record(outcome(), sender="buyer@example.com", subject="RFQ", language="en", content_hash="h" * 64)
    store.record(outcome(), subject="")  # same key again: one row, empty strings keep stored values
    rows = store.messages()
    assert len(rows) == 1
    row = rows[0]
    assert (row["sender"], row["subject"], row["content_hash"]) == ("buyer@example.com", "RFQ", "h" * 64)
    assert (row["clarity"], row["tier"], row["priority"], row["strength"]) == (1, "B", "high", "high")
    assert row["checklist"]["quantity"]["value"] == 500 and row["checklist"]["specs"] is None
    assert row["signals"] == ["sample_requested"]
    assert row["reasons"] == {"tier": "clear buyer"}
    assert row["draft_message_id"] == "<draft@x>"
    assert row["created_at"].tzinfo is not None and row["updated_at"] >= row["created_at"]
    assert store.get(KEY) == row


DONE_CASES = [("drafted", True), ("skipped", True), ("quarantined", True), ("failed", False), (None, False)]


@pytest.mark.parametrize(("status", "done"), DONE_CASES, ids=[str(c[0]) for c in DONE_CASES])
def test_is_done_by_status(store: Store, status: str | None, done: bool) -> None:
    if status == "failed":
        store.record_failure(KEY, "boom")
    elif status is not None:
        store.record(outcome(status=status))
    assert store.is_done(KEY) is done
    assert store.is_done(OTHER) is False


DUPLICATE_CASES = [
    ("same id and hash", "sales", "<a@b>", "h1", True),
    ("other hash", "sales", "<a@b>", "h2", False),
    ("other id", "sales", "<c@d>", "h1", False),
    ("other account", "support", "<a@b>", "h1", False),
    ("empty id", "sales", "", "h1", False),
]


@pytest.mark.parametrize(("account", "message_id", "content_hash", "found"), [c[1:] for c in DUPLICATE_CASES],
                         ids=[c[0] for c in DUPLICATE_CASES])  # fmt: skip
def test_find_duplicate(store: Store, account: str, message_id: str, content_hash: str, found: bool) -> None:
    store.record(outcome(), content_hash="h1")
    assert store.find_duplicate(account, message_id, content_hash) == (KEY if found else None)


def test_find_duplicate_ignores_failed(store: Store) -> None:
    store.record_failure(KEY, "boom", message_id="<a@b>")
    assert store.find_duplicate("sales", "<a@b>", "") is None


def test_record_failure_counts_then_record_keeps_attempts(store: Store) -> None:
    assert store.attempts(KEY) == 0
    assert [store.record_failure(KEY, f"error {n}", sender="s@x") for n in range(3)] == [1, 2, 3]
    row = store.get(KEY)
    assert row is not None and (row["status"], row["error"], row["sender"]) == ("failed", "error 2", "s@x")
    store.record(outcome(status="quarantined"))
    row = store.get(KEY)
    assert row is not None and (row["status"], row["attempts"], row["error"]) == ("quarantined", 3, "")
    assert store.counts() == {"quarantined": 1}


def test_counts_and_messages_newest_first(store: Store) -> None:
    store.record(outcome(KEY))
    store.record(outcome(OTHER, status="skipped"))
    store.record_failure(MessageKey("support", "INBOX", 1, 1), "boom")
    assert store.counts() == {"drafted": 1, "skipped": 1, "failed": 1}
    assert store.counts("sales") == {"drafted": 1, "skipped": 1}
    assert [r["uid"] for r in store.messages("sales")] == [OTHER.uid, KEY.uid]
    assert len(store.messages(limit=2)) == 2


CHECKPOINT_CASES = [([10], 10), ([10, 5], 10), ([10, 20], 20), ([3, 3, 2, 7], 7)]


@pytest.mark.parametrize(("uids", "expected"), CHECKPOINT_CASES, ids=[str(c[0]) for c in CHECKPOINT_CASES])
def test_checkpoint_never_moves_back(store: Store, uids: list[int], expected: int) -> None:
    assert store.checkpoint("sales", "INBOX", 7) == 0
    for uid in uids:
        store.set_checkpoint("sales", "INBOX", 7, uid)
    assert store.checkpoint("sales", "INBOX", 7) == expected
    assert store.checkpoint("sales", "INBOX", 8) == 0  # another UIDVALIDITY starts over


def test_mailbox_state(store: Store) -> None:
    store.set_mailbox_state("sales", "ok", backlog=4, polled=True)
    store.set_mailbox_state("sales", "unreachable", error="connection refused")
    (state,) = store.mailbox_states()
    assert (state["state"], state["last_error"], state["backlog"]) == ("unreachable", "connection refused", 4)
    assert isinstance(state["last_poll"], dt.datetime)


# the change-risk threshold of the shipped decisions (decisions.toml [order] high_change_risk_changes)
CHANGE_RISK_AT = Decisions.load(Path(__file__).resolve().parent.parent / "rules" / "decisions.toml").order.high_change_risk_changes
CUSTOMER_CASES = [
    # (checklists in order, changes expected, high risk expected)
    ("first inquiry", [{"quantity": 500}], 0, False),
    ("same values", [{"quantity": 500}, {"quantity": 500}], 0, False),
    ("new item is no change", [{"quantity": 500}, {"quantity": 500, "lead_time": 30}], 0, False),
    ("missing item is no change", [{"quantity": 500}, {"quantity": None}], 0, False),
    ("one change", [{"quantity": 500}, {"quantity": 800}], 1, False),
    ("two changes over three", [{"quantity": 500}, {"quantity": 800}, {"quantity": 500}], 2, True),
    ("two items at once", [{"quantity": 5, "lead_time": 30}, {"quantity": 8, "lead_time": 20}], 2, True),
    ("text case ignored", [{"destination": "Hamburg"}, {"destination": " hamburg "}], 0, False),
]


@pytest.mark.parametrize(("checklists", "changes", "risky"), [c[1:] for c in CUSTOMER_CASES],
                         ids=[c[0] for c in CUSTOMER_CASES])  # fmt: skip
def test_customer_change_counting(store: Store, checklists: list[dict], changes: int, risky: bool) -> None:
    for values in checklists:
        as_json = {k: None if v is None else finding(k, v).as_json() for k, v in values.items()}
        row = store.update_customer("Buyer@Example.COM", as_json, len(values), "B", is_order=False, change_risk_at=CHANGE_RISK_AT)
    assert (row["change_count"], row["high_change_risk"]) == (changes, risky)
    assert row["high_change_risk"] is (changes >= CHANGE_RISK_AT)
    assert (row["address"], row["domain"], row["inquiries"]) == ("buyer@example.com", "example.com", len(checklists))
    assert store.customer("buyer@EXAMPLE.com") == row
    assert row["last_order_checklist"] is None


def test_customer_order_checklist(store: Store) -> None:
    assert store.customer("x@y.z") is None
    row = store.update_customer("x@y.z", {"quantity": {"value": 1}}, 1, None, is_order=True, change_risk_at=CHANGE_RISK_AT)
    assert row["last_order_checklist"] == {"quantity": {"value": 1}}


def test_concurrent_updates_lose_nothing(store: Store) -> None:
    def work(n: int) -> None:
        for i in range(5):
            store.update_customer("c@x.y", {"quantity": {"value": 1}}, 1, None, is_order=False, change_risk_at=CHANGE_RISK_AT)
            store.record_failure(KEY, f"{n}.{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.attempts(KEY) == 20
    assert (store.customer("c@x.y") or {})["inquiries"] == 20


def test_ping_unreachable_server() -> None:
    store = Store("postgresql+psycopg://postgres:secret@127.0.0.1:1/x?connect_timeout=2")
    try:
        with pytest.raises(TransientError, match=r"database unreachable at .*\*\*\*@127.0.0.1:1/x") as err:
            store.ping()
        assert "secret" not in str(err.value) and isinstance(err.value.__cause__, sa.exc.OperationalError)
        assert "***" in store.url_for_display
    finally:
        store.dispose()


def test_ping_sqlite_not_upgraded(tmp_path: Path) -> None:
    missing = Store(f"sqlite:///{tmp_path / 'none.sqlite3'}")
    with pytest.raises(ConfigError, match="inquiry-triage db upgrade"):
        missing.ping()
    assert not (tmp_path / "none.sqlite3").exists()  # ping creates nothing
    (tmp_path / "empty.sqlite3").touch()
    with pytest.raises(ConfigError, match="not 0006"):
        Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}").ping()


def test_upgrade_creates_sqlite_folder(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a' / 'b' / 'triage.sqlite3'}")
    store.upgrade()
    store.ping()
    store.dispose()


def test_statuses_of_many_keys(store: Store) -> None:
    keys = [MessageKey("sales", "INBOX", 7, uid) for uid in range(1, 1202)]  # more than one query's worth
    stored = {keys[0]: "drafted", keys[600]: "skipped", keys[1200]: "quarantined", keys[5]: "failed"}
    for key, status in stored.items():
        store.record(outcome(key, status=status))
    assert store.statuses([*keys, OTHER]) == stored


def test_prior_reads_duplicate_customer_and_thread(store: Store) -> None:
    store.record(outcome(), sender="buyer@example.com", content_hash="h1",
                 customer=CustomerUpdate("buyer@example.com", {"quantity": {"value": 500}}, 1, "B", CHANGE_RISK_AT))
    prior = store.prior("sales", "<a@b>", "h1", "buyer@example.com", ["<draft@x>"])
    assert (prior.duplicate, (prior.customer or {}).get("inquiries"), len(prior.thread)) == (KEY, 1, 1)


def test_record_with_customer_is_one_transaction(store: Store) -> None:
    bad = CustomerUpdate("buyer@example.com", {"quantity": {"value": object()}}, 1, "B", CHANGE_RISK_AT)  # not JSON: the write fails
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own error
        store.record(outcome(), sender="buyer@example.com", customer=bad)
    assert (store.get(KEY), store.customer("buyer@example.com")) == (None, None)


ATTEMPTED_CASES = [([10], 10), ([10, 5], 10), ([200, 400], 400)]


@pytest.mark.parametrize(("uids", "expected"), ATTEMPTED_CASES, ids=[str(c[0]) for c in ATTEMPTED_CASES])
def test_attempted_mark_never_moves_back_and_leaves_the_checkpoint(store: Store, uids: list[int], expected: int) -> None:
    store.set_checkpoint("sales", "INBOX", 7, 3)
    for uid in uids:
        store.set_attempted("sales", "INBOX", 7, uid)
    assert (store.attempted("sales", "INBOX", 7), store.checkpoint("sales", "INBOX", 7)) == (expected, 3)


def test_schema_head_is_the_newest_migration(store: Store) -> None:
    from alembic.script import ScriptDirectory

    from daemon.store import migrations_config
    from daemon.store.schema import SCHEMA_HEAD

    head = ScriptDirectory.from_config(migrations_config(store.url_for_display)).get_current_head()
    assert (SCHEMA_HEAD, store.revision()) == (head, head)


def test_a_current_schema_never_loads_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.sqlite3'}"
    Store(url).upgrade()
    code = ("import sys; from daemon.store import Store; s = Store(sys.argv[1]); s.upgrade(); s.ping(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"


def _json(values: dict) -> dict:
    return {k: None if v is None else finding(k, v).as_json() for k, v in values.items()}


AFTER_ORDER_CASES = [
    # (inquiries as (values, is_order), high risk expected, reason expected to contain)
    ("order then the same values", [({"quantity": 500}, True), ({"quantity": 500}, False)], False, None),
    ("order then a new item", [({"quantity": 500}, True), ({"quantity": 500, "lead_time": 30}, False)], False, None),
    ("order then a changed quantity", [({"quantity": 500}, True), ({"quantity": 800}, False)], True,
     "changed quantity after an order"),
    ("change before any order", [({"quantity": 500}, False), ({"quantity": 800}, False)], False, None),
    ("two changes without order", [({"quantity": 5}, False), ({"quantity": 8}, False), ({"quantity": 5}, False)], True,
     "changed stated requirements 2 times"),
    ("risk stays after a calm inquiry", [({"quantity": 5}, True), ({"quantity": 8}, False), ({"quantity": 8}, False)],
     True, "changed quantity after an order"),
]


@pytest.mark.parametrize(("inquiries", "risky", "why"), [c[1:] for c in AFTER_ORDER_CASES],
                         ids=[c[0] for c in AFTER_ORDER_CASES])  # fmt: skip
def test_change_after_an_order_marks_change_risk(store: Store, inquiries: list, risky: bool, why: str | None) -> None:
    for values, is_order in inquiries:
        row = store.add_customer(CustomerUpdate("b@x.de", _json(values), 9, "A", CHANGE_RISK_AT, is_order=is_order))
    assert (row["high_change_risk"], why in (row["change_risk_reason"] or "") if why else row["change_risk_reason"]) == \
        (risky, True if why else None)


def test_customer_events_record_moves_with_reasons(store: Store) -> None:
    steps = [(5, "C", "guided", "medium"), (7, "C", "guided", "medium"), (9, "B", "fast_track", "high")]
    for n, (clarity, tier, mode, priority) in enumerate(steps):
        store.add_customer(CustomerUpdate(
            "b@x.de", _json({"quantity": 500}), clarity, tier, CHANGE_RISK_AT, priority=priority, mode=mode,
            action="follow_up_questions", message_id=f"<m{n}@x.de>", subject="RFQ", company="Acme GmbH" if n else None,
            country="Germany", missing=("specs",) if n < 2 else (),
            reasons={"tier": f"tier reason {n}", "follow_up_mode": f"mode reason {n}"}))  # fmt: skip
    row = store.customer("b@x.de") or {}
    events = store.customer_events(row["id"])
    assert [(e["clarity"], e["tier"], e["follow_up_mode"], e["missing"]) for e in events] == [
        (5, "C", "guided", ["specs"]), (7, "C", "guided", ["specs"]), (9, "B", "fast_track", [])]
    assert [e["moves"] for e in events] == [None, None, [
        {"what": "tier", "from": "C", "to": "B", "reason": "tier reason 2"},
        {"what": "mode", "from": "guided", "to": "fast_track", "reason": "mode reason 2"}]]
    assert (row["company"], row["country"], row["last_mode"], row["last_priority"], row["source"], row["status"]) == (
        "Acme GmbH", "Germany", "fast_track", "high", "mail", "drafted")
    assert store.customer_by_id(row["id"]) == row and [c["address"] for c in store.customers()] == ["b@x.de"]
