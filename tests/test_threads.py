"""A conversation over a real Maildir and a real store (SQLite and PostgreSQL): each buyer reply re-scores the
thread, the next draft asks only what is still missing and says what the reply gave, tier and mode moves are
recorded with their reason; a change after an order makes a high change risk and the next order draft asks the
larger deposit; a repeat inquiry lists what changed."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from daemon import config
from daemon.mailboxes.maildir import MaildirMailbox
from daemon.pipeline import KitRef, run_mailbox
from daemon.store import Store
from daemon.toolkit import load_toolkit
from extractors.core.model import Outcome

BUYER = "Tomas Rivera <t.rivera@andino-energia.example>"
HEAD = "From: {buyer}\nTo: sales@brightway-power.example\nSubject: {subject}\nMessage-ID: <{id}@andino-energia.example>\n" \
       "Date: {date}\n{thread}Content-Type: text/plain; charset=utf-8\n\n"
# (subject, body): the first inquiry states 5 items, each reply two more
THREAD = [
    ("Solar street lights for a municipal project",
     "Hello,\n\nwe are looking for 60W solar street lights, 300 units, delivered to Callao.\nPlease send us your offer.\n\n"
     "Best regards\nTomas Rivera\nProcurement Officer\nAndino Energia SAC\n"),
    ("Re: Solar street lights for a municipal project",
     "Hello,\n\nthank you. We need the lights within 40 days of the deposit, and they must carry CE marking.\n\n"
     "Best regards\nTomas Rivera\n"),
    ("Re: Re: Solar street lights for a municipal project",
     "Hello,\n\npayment would be 30% T/T deposit and the balance before shipment, on CIF terms.\n\nBest regards\nTomas Rivera\n"),
]
# (clarity, mode, items stated by this message that the thread had left open, as the draft notes them)
EXPECTED = [
    (5, "guided", []),
    (7, "guided", ["Lead time", "Certification"]),
    (9, "fast_track", ["Payment terms", "Trade terms"]),
]


@pytest.fixture(scope="module")
def kit() -> KitRef:
    return KitRef(load_toolkit(config.embedded_default(), quiet=True))


@pytest.fixture
def box(tmp_path: Path) -> MaildirMailbox:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "in" / sub).mkdir(parents=True)
    mailbox = MaildirMailbox("m", tmp_path / "in", tmp_path / "drafts", create=True)
    mailbox.open()
    return mailbox


def message(n: int, subject: str, body: str, earlier: list[Outcome], buyer: str = BUYER, prefix: str = "t") -> bytes:
    """The n-th buyer message, replying to our last draft (In-Reply-To) with the whole thread in References."""
    refs = [i for o in earlier for i in (o.message_id, o.draft.message_id if o.draft else "") if i]
    thread = f"In-Reply-To: {refs[-1]}\nReferences: {' '.join(refs)}\n" if refs else ""
    head = HEAD.format(buyer=buyer, subject=subject, id=f"{prefix}{n}", date=f"Tue, {n + 1:02d} Dec 2026 09:00:00 +0000",
                       thread=thread)
    return (head + body).encode()


def deliver(box: MaildirMailbox, store: Store, kit: KitRef, name: str, data: bytes) -> Outcome:
    (box.path / "new" / name).write_bytes(data)
    (outcome,) = run_mailbox(box, kit, store).outcomes
    return outcome


def body_of(outcome: Outcome) -> str:
    assert outcome.draft is not None, outcome.reason
    msg = email.message_from_bytes(outcome.draft.data, policy=email.policy.default)
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.fixture
def conversation(box: MaildirMailbox, store: Store, kit: KitRef) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for n, (subject, body) in enumerate(THREAD):
        outcomes.append(deliver(box, store, kit, f"{n}.msg", message(n, subject, body, outcomes)))
    return outcomes


def test_clarity_and_mode_over_the_thread(conversation: list[Outcome]) -> None:
    got = [(o.assessment.clarity, o.assessment.follow_up_mode) for o in conversation if o.assessment]
    assert got == [(c, m) for c, m, _ in EXPECTED]


@pytest.mark.parametrize("n", range(len(THREAD)))
def test_each_draft_asks_only_what_is_missing_and_notes_the_reply(conversation: list[Outcome], n: int) -> None:
    a = conversation[n].assessment
    assert a is not None
    text = body_of(conversation[n])
    noted = text.split("From your reply we have noted:\n")[1].split("\n\n")[0] if "From your reply" in text else ""
    assert (set(a.questions) <= set(a.checklist.missing), [line.split(":")[0][2:] for line in noted.splitlines()]) == \
        (True, EXPECTED[n][2])


def test_tier_and_mode_moves_are_recorded_with_their_reason(conversation: list[Outcome], store: Store) -> None:
    customer = store.customer("t.rivera@andino-energia.example") or {}
    events = store.customer_events(customer["id"])
    assert [(e["clarity"], e["follow_up_mode"]) for e in events] == [(c, m) for c, m, _ in EXPECTED]
    moves = [m for e in events for m in (e["moves"] or [])]
    mode_moves = [(m["from"], m["to"], m["reason"].split(":")[0]) for m in moves if m["what"] == "mode"]
    assert (mode_moves, [len(e["missing"]) for e in events]) == ([("guided", "fast_track", "MODE_FAST_TRACK")], [13, 11, 9])


PO = ("Purchase order {po}",
      "Hello,\n\nplease find our purchase order {po}:\n\nItem: All-in-one solar street light 60W, model BW-SSL60\n"
      "Quantity: {qty} units\nDelivery: within {days} days after deposit, CIF Callao\nCertification: CE\n"
      "Payment: 30% T/T deposit, balance before shipment\nPacking: export carton, 2 units per carton\n\n"
      "Please confirm the order.\n\nBest regards\nTomas Rivera\nProcurement Officer\nAndino Energia SAC\n")
CHANGE = ("Change to our street light requirement",
          "Hello,\n\nour municipality changed the plan: we now need 450 units of the 60W solar street lights, delivered "
          "within 25 days.\n\nBest regards\nTomas Rivera\n")


@pytest.fixture
def after_order(box: MaildirMailbox, store: Store, kit: KitRef) -> list[Outcome]:
    """An order, a message that restates two ordered values differently, then the next order."""
    subject, body = PO
    mails = [(subject.format(po="PO-AE-2026-031"), body.format(po="PO-AE-2026-031", qty=300, days=40)), CHANGE,
             (subject.format(po="PO-AE-2026-044"), body.format(po="PO-AE-2026-044", qty=450, days=25))]
    return [deliver(box, store, kit, f"{n}.po", message(n, s, b, [], prefix="po")) for n, (s, b) in enumerate(mails)]


def test_a_change_after_an_order_marks_change_risk_and_the_next_order_asks_the_larger_deposit(
        after_order: list[Outcome], store: Store, kit: KitRef) -> None:
    order = kit.get().decisions.order
    customer = store.customer("t.rivera@andino-energia.example") or {}
    risk = [dict(o.assessment.order_risk).get("deposit_pct") for o in after_order if o.assessment]
    assert ([o.action for o in after_order], risk) == (
        ["order_confirmation", "repeat_order", "order_confirmation"],
        [order.standard_deposit_pct, None, order.high_change_risk_deposit_pct])
    assert (customer["high_change_risk"], customer["change_risk_reason"]) == (
        True, "changed lead_time, quantity, specs after an order (from 1 change)")  # specs: "60W" for a model
    first, last = body_of(after_order[0]), body_of(after_order[2])
    assert (f"{order.standard_deposit_pct}%" in first, f"{order.high_change_risk_deposit_pct}%" in last,
            f"{order.high_change_risk_deposit_pct}%" in first) == (True, True, False)


def test_a_repeat_inquiry_lists_what_changed(after_order: list[Outcome], store: Store) -> None:
    a = after_order[1].assessment
    assert a is not None
    text = body_of(after_order[1])
    assert ([c[0] for c in a.changes], "300" in text and "450" in text, "40" in text and "25" in text) == (
        ["specs", "quantity", "lead_time"], True, True)  # specs: the wattage and model ordered, "60W" now
    customer = store.customer("t.rivera@andino-energia.example") or {}
    (event,) = [e for e in store.customer_events(customer["id"]) if e["action"] == "repeat_order"]
    assert [(c["item"], c["before"], c["now"]) for c in event["changes"]] == [
        ("specs", "60W, BW-SSL60", "60W"), ("quantity", {"amount": 300, "unit": "units"}, {"amount": 450, "unit": "units"}),
        ("lead_time", {"days": 40}, {"days": 25})]
