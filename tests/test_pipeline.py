"""The pipeline over a real Maildir and a real store: exactly one draft, bad mail quarantined, nothing lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daemon import config
from daemon.demo import sample_files
from daemon.limits import Limits
from daemon.mailboxes.maildir import MaildirMailbox
from daemon.pipeline import KitRef, process, run_mailbox
from daemon.store import Store
from daemon.toolkit import load_toolkit
from extractors.core.errors import TransientError

GOOD = next(p for p in sample_files() if p.stem.startswith("02-"))
OWN = b"From: Grace Lin <sales@brightway-power.example>\nTo: a@b.example\nSubject: our offer\nMessage-ID: <own-1@brightway-power.example>\n\nWe need 500 pcs.\n"
NOREPLY = b"From: Shop <no-reply@shop.example>\nTo: sales@brightway-power.example\nSubject: Your receipt\nMessage-ID: <nr-1@shop.example>\n\nWe need 500 pcs of 60W lights.\n"


@pytest.fixture(scope="module")
def kit():  # noqa: ANN201
    return KitRef(load_toolkit(config.embedded_default(), quiet=True))


@pytest.fixture
def box(tmp_path: Path) -> MaildirMailbox:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "in" / sub).mkdir(parents=True)
    return MaildirMailbox("m", tmp_path / "in", tmp_path / "drafts", create=True)


@pytest.fixture
def db(store: Store) -> Store:
    return store


def _put(box: MaildirMailbox, name: str, data: bytes) -> None:
    (box.path / "new" / name).write_bytes(data)


def _drafts(box: MaildirMailbox) -> list[Path]:
    return sorted((box.drafts / "cur").glob("*")) if (box.drafts / "cur").is_dir() else []


def test_one_draft_and_a_record(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    box.open()
    stats = run_mailbox(box, kit, db)
    assert (stats.drafted, len(_drafts(box)), db.counts("m").get("drafted")) == (1, 1, 1)


def test_second_pass_is_a_no_op(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    box.open()
    run_mailbox(box, kit, db)
    assert (run_mailbox(box, kit, db).processed, len(_drafts(box))) == (0, 1)


def test_crash_after_draft_before_record_makes_no_second_draft(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    from daemon.pipeline import _deliver_once

    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    box.open()
    raw = next(box.fetch_new(db.statuses))
    parsed, assessment = _analysed(raw, kit)
    _deliver_once(raw, parsed, kit.get().drafter.draft(parsed, assessment, kit.get().rules_version), box, db)
    box.close()  # the process dies here, before the store records the message as drafted
    box.open()
    run_mailbox(box, kit, db)
    assert (len(_drafts(box)), db.counts("m").get("drafted")) == (1, 1)


def _analysed(raw, kit):  # noqa: ANN001, ANN202
    from daemon.pipeline import analyse

    return analyse(raw, kit.get())


def test_oversized_message_is_skipped_with_the_limit_named_and_the_next_one_processed(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    _put(box, "1.big", b"From: a@b.example\nSubject: big\n\n" + b"x" * 20_000)
    shutil.copyfile(GOOD, box.path / "new" / "2.good")
    (box.path / "new" / "1.big").touch()
    box.open()
    stats = run_mailbox(box, kit, db, limits=Limits(max_message_bytes=10_000))
    reasons = [r["reason"] for r in db.messages("m") if r["status"] == "skipped"]
    assert (stats.skipped, stats.drafted, reasons) == (1, 1, [
        "message of 20,032 bytes is over the 10,000-byte limit ([daemon] max_message_bytes)"])


def test_a_message_that_cannot_succeed_is_quarantined_at_the_first_attempt(box: MaildirMailbox, db: Store, kit: KitRef, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    import daemon.pipeline as pipeline

    def boom(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise ValueError("template exploded")

    monkeypatch.setattr(pipeline, "assess", boom)
    box.open()
    stats = run_mailbox(box, kit, db, max_attempts=3)
    (row,) = db.messages("m")
    assert (stats.failed, stats.quarantined, row["attempts"]) == (0, 1, 1)
    assert (row["reason"], row["error"]) == ("could not be processed: the assess stage failed on it (ValueError)",
                                             "ValueError: template exploded")


def test_a_failure_that_may_pass_is_retried_then_quarantined(box: MaildirMailbox, db: Store, kit: KitRef, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    import daemon.pipeline as pipeline

    def short_of_memory(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise MemoryError()

    monkeypatch.setattr(pipeline, "assess", short_of_memory)
    box.open()
    results = [run_mailbox(box, kit, db, max_attempts=3) for _ in range(3)]
    assert ([r.failed for r in results], [r.quarantined for r in results], db.counts("m").get("quarantined")) == ([1, 1, 0], [0, 0, 1], 1)
    assert db.messages("m")[0]["reason"] == "could not be processed: it failed 3 times (MemoryError)"


@pytest.mark.parametrize(("name", "data", "reason"), [("own", OWN, "from our own domain"), ("noreply", NOREPLY, "no-reply sender")])
def test_never_draft_for_own_or_no_reply_senders(box: MaildirMailbox, db: Store, kit: KitRef, name: str, data: bytes, reason: str) -> None:
    _put(box, name, data)
    box.open()
    outcome = process(next(box.fetch_new(db.statuses)), kit.get(), box, db)
    assert (outcome.status, outcome.reason, _drafts(box)) == ("skipped", reason, [])


def test_buyer_message_is_never_modified(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    before = (box.path / "new" / "1.good").read_bytes()
    box.open()
    run_mailbox(box, kit, db)
    assert ((box.path / "new" / "1.good").read_bytes(), list((box.path / "cur").iterdir())) == (before, [])


def test_same_message_under_a_new_key_is_not_drafted_twice(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    box.open()
    run_mailbox(box, kit, db)
    shutil.copyfile(GOOD, box.path / "new" / "2.copy")  # e.g. after a UIDVALIDITY change
    stats = run_mailbox(box, kit, db)
    assert (stats.skipped, len(_drafts(box))) == (1, 1)


FIRST = b"""From: Tom Lee <tom@outback.example>
To: sales@brightway-power.example
Subject: Inquiry: LiFePO4 battery 12V 200Ah
Message-ID: <first@outback.example>
Date: Mon, 02 Nov 2026 10:00:00 +0000

Hello, we need 12V 200Ah LiFePO4 batteries for off-grid cabins in Queensland. FOB Shenzhen please.
"""


def test_a_buyer_reply_inherits_the_threads_earlier_statements(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    _put(box, "1.first", FIRST)
    box.open()
    first = run_mailbox(box, kit, db).outcomes[0]
    reply = (b"From: Tom Lee <tom@outback.example>\nTo: sales@brightway-power.example\nSubject: Re: Inquiry: LiFePO4 battery 12V 200Ah\n"
             b"Message-ID: <second@outback.example>\nIn-Reply-To: " + first.draft.message_id.encode() +
             b"\nReferences: <first@outback.example> " + first.draft.message_id.encode() +
             b"\nDate: Tue, 03 Nov 2026 10:00:00 +0000\n\nQuantity: 800 pcs. Lead time 35 days after deposit.\n")
    _put(box, "2.reply", reply)
    second = run_mailbox(box, kit, db).outcomes[0]
    trade = second.assessment.checklist.get("trade_terms")
    assert (trade is not None and trade.part, second.assessment.checklist.get("quantity") is not None) == ("thread", True)


def test_a_pass_with_a_limit_stops_there_and_says_so(box: MaildirMailbox, db: Store, kit: KitRef) -> None:
    for n in range(3):
        _put(box, f"{n}.msg", GOOD.read_bytes().replace(b"Message-ID: <", f"Message-ID: <{n}.".encode(), 1))
    box.open()
    first = run_mailbox(box, kit, db, limit=2)
    second = run_mailbox(box, kit, db, limit=2)
    assert [(s.seen, s.cut) for s in (first, second)] == [(2, True), (1, False)]
    assert len(_drafts(box)) == 3


def test_a_mailbox_no_longer_owned_saves_no_draft_and_records_nothing(box: MaildirMailbox, db: Store,
                                                                     kit: KitRef) -> None:
    shutil.copyfile(GOOD, box.path / "new" / "1.good")
    box.open()
    box.held = lambda: False  # another replica took the mailbox over meanwhile
    with pytest.raises(TransientError, match="no longer owned by this process"):
        run_mailbox(box, kit, db)
    assert (_drafts(box), db.counts("m")) == ([], {})
