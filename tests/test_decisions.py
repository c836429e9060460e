"""The decision table: one pure function from checklist, signals and history to decisions, at every threshold edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from daemon.assess import Decisions, History, assess, tags_for
from extractors.core.errors import RulesError
from extractors.core.model import CORE_ITEMS, ITEM_IDS, Assessment, Checklist, Finding, MessageKey, Signal
from rules import __file__ as rules_init

RULES = Decisions.load(Path(rules_init).parent / "decisions.toml")
KEY = MessageKey("sales", "INBOX", 1, 1)
# Filler order: items outside the core first, so "n yes" leaves the core unclear unless a case says otherwise.
FILL = tuple(i for i in ITEM_IDS if i not in CORE_ITEMS) + CORE_ITEMS


def make(n: int, yes: tuple[str, ...] = (), no: tuple[str, ...] = (), signals: tuple[str, ...] = (),
         strength: str = "medium") -> Checklist:
    """A checklist with exactly n yes items: every item in `yes`, none in `no`, the rest taken in FILL order."""
    chosen = list(yes)
    for item in FILL:
        if len(chosen) >= n:
            break
        if item not in chosen and item not in no:
            chosen.append(item)
    assert len(chosen) == n, f"cannot make {n} yes items with yes={yes} no={no}"
    items = tuple((i, Finding(i, f"v-{i}", i, 0, 1, "T", 1.0) if i in chosen else None) for i in ITEM_IDS)
    return Checklist(KEY, "en", items, tuple(Signal(s, "T", s) for s in signals), strength)


REQ = ("specs", "quantity", "lead_time", "certification", "payment_terms")
SRQ = ("specs", "quantity", "lead_time")
RISKY = History(previous_inquiries=4, high_change_risk=True)
ORDERED = History(previous_inquiries=1, has_order=True, last_order={"specs": {"value": "v-specs"}})


def get(a: Assessment, decision: str) -> Any:
    if decision.startswith("risk."):
        return dict(a.order_risk).get(decision[5:])
    if decision == "n_questions":
        return len(a.questions)
    return {"priority": a.priority, "tier": a.tier, "mode": a.follow_up_mode, "quote": a.quote, "sample": a.sample,
            "action": a.action, "due": a.response_due_hours, "questions": a.questions}[decision]


# (id, checklist, history, decision, expected)
CASES: list[tuple[str, Checklist, History, str, Any]] = [
    # priority: <= 4 low, 5-7 medium, >= 8 high
    ("priority-0-low", make(0), History(), "priority", "low"),
    ("priority-4-low", make(4), History(), "priority", "low"),
    ("priority-5-medium", make(5), History(), "priority", "medium"),
    ("priority-7-medium", make(7), History(), "priority", "medium"),
    ("priority-8-high", make(8), History(), "priority", "high"),
    ("priority-18-high", make(18), History(), "priority", "high"),
    # response due: sooner of priority and tier
    ("due-8-high-12h", make(8), History(), "due", 12),
    ("due-7-medium-48h", make(7), History(), "due", 48),
    ("due-4-low-72h", make(4), History(), "due", 72),
    ("due-12-tierA-12h", make(12, strength="high"), History(), "due", 12),
    # quote: >= 6 precise, < 6 follow-up, declines -> range
    ("quote-5-follow-up", make(5), History(), "quote", "follow_up"),
    ("quote-6-precise", make(6), History(), "quote", "precise"),
    ("quote-0-follow-up", make(0), History(), "quote", "follow_up"),
    ("quote-5-declines-range", make(5, signals=("declines_to_clarify",)), History(), "quote", "range"),
    ("quote-1-declines-range", make(1, signals=("declines_to_clarify",)), History(), "quote", "range"),
    ("quote-6-declines-still-precise", make(6, signals=("declines_to_clarify",)), History(), "quote", "precise"),
    ("action-1-declines-range-quote", make(1, signals=("declines_to_clarify", "price_only")), History(), "action", "range_quote"),
    # follow-up mode: <= 4 nurture, 5-7 guided, >= 8 fast-track
    ("mode-4-nurture", make(4), History(), "mode", "nurture"),
    ("mode-5-guided", make(5), History(), "mode", "guided"),
    ("mode-7-guided", make(7), History(), "mode", "guided"),
    ("mode-8-fast-track", make(8), History(), "mode", "fast_track"),
    ("mode-4-nurture-asks-nothing", make(4), History(), "n_questions", 0),
    ("mode-8-fast-track-asks-nothing", make(8), History(), "n_questions", 0),
    ("mode-5-guided-asks-two", make(5), History(), "n_questions", 2),
    ("mode-guided-rule-order", make(6, yes=("specs", "quantity")), History(), "questions", ("lead_time", "certification")),
    ("mode-guided-skips-stated", make(6, yes=("specs", "lead_time", "certification")), History(), "questions", ("quantity", "material")),
    # tier: the playbook's three cells and the default matrix (lower of clarity band and strength band)
    ("tier-12-high-A", make(12, strength="high"), History(), "tier", "A"),
    ("tier-11-high-B", make(11, strength="high"), History(), "tier", "B"),
    ("tier-12-medium-B", make(12, strength="medium"), History(), "tier", "B"),
    ("tier-12-low-C", make(12, strength="low"), History(), "tier", "C"),
    ("tier-18-price-only-C", make(18, strength="high", signals=("price_only",)), History(), "tier", "C"),
    ("tier-8-medium-B", make(8, strength="medium"), History(), "tier", "B"),
    ("tier-11-medium-B", make(11, strength="medium"), History(), "tier", "B"),
    ("tier-8-high-B", make(8, strength="high"), History(), "tier", "B"),
    ("tier-8-low-C", make(8, strength="low"), History(), "tier", "C"),
    ("tier-7-high-C", make(7, strength="high"), History(), "tier", "C"),
    ("tier-7-medium-C", make(7, strength="medium"), History(), "tier", "C"),
    ("tier-7-price-only-C", make(7, signals=("price_only",)), History(), "tier", "C"),
    ("tier-0-low-C", make(0, strength="low"), History(), "tier", "C"),
    # sample: >= 6 with specs, quantity, lead_time -> send; otherwise decline; null unless requested
    ("sample-not-requested-null", make(10, yes=SRQ), History(), "sample", None),
    ("sample-6-with-sql-send", make(6, yes=SRQ, signals=("sample_requested",)), History(), "sample", "send"),
    ("sample-5-with-sql-decline", make(5, yes=SRQ, signals=("sample_requested",)), History(), "sample", "decline"),
    ("sample-6-no-specs-decline", make(6, yes=("quantity", "lead_time"), no=("specs",), signals=("sample_requested",)), History(), "sample", "decline"),
    ("sample-6-no-quantity-decline", make(6, yes=("specs", "lead_time"), no=("quantity",), signals=("sample_requested",)), History(), "sample", "decline"),
    ("sample-6-no-lead-time-decline", make(6, yes=("specs", "quantity"), no=("lead_time",), signals=("sample_requested",)), History(), "sample", "decline"),
    ("sample-12-no-lead-time-decline", make(12, yes=("specs", "quantity"), no=("lead_time",), signals=("sample_requested",)), History(), "sample", "decline"),
    ("sample-1-freemail-decline", make(1, signals=("sample_requested", "price_only")), History(), "sample", "decline"),
    ("sample-send-action", make(10, yes=SRQ, signals=("sample_requested",)), History(), "action", "sample_accept"),
    ("sample-decline-action", make(2, signals=("sample_requested",)), History(), "action", "sample_decline"),
    ("sample-decline-asks-lacking-first", make(8, yes=("specs", "quantity"), no=("lead_time",), signals=("sample_requested",)), History(), "questions", ("lead_time", "certification")),
    # order risk: >= 10 yes incl. the required five; change clause at >= 3 unclear core items; 50% deposit at high change risk
    ("order-10-with-required-accept", make(10, yes=REQ, signals=("is_order",)), History(), "risk.accept", True),
    ("order-9-with-required-not-accepted", make(9, yes=REQ, signals=("is_order",)), History(), "risk.accept", False),
    ("order-14-no-payment-not-accepted", make(14, yes=REQ[:4], no=("payment_terms",), signals=("is_order",)), History(), "risk.accept", False),
    ("order-14-no-certification-missing", make(14, yes=("specs", "quantity", "lead_time", "payment_terms"), no=("certification",), signals=("is_order",)), History(), "risk.missing_required", ["certification"]),
    ("order-2-unclear-core-no-clause", make(12, yes=CORE_ITEMS[:8], no=CORE_ITEMS[8:], signals=("is_order",)), History(), "risk.change_clause", False),
    ("order-3-unclear-core-clause", make(12, yes=CORE_ITEMS[:7], no=CORE_ITEMS[7:], signals=("is_order",)), History(), "risk.change_clause", True),
    ("order-0-unclear-core-no-clause", make(10, yes=CORE_ITEMS, signals=("is_order",)), History(), "risk.change_clause", False),
    ("order-standard-deposit-30", make(12, yes=REQ, signals=("is_order",)), History(), "risk.deposit_pct", 30),
    ("order-high-change-risk-deposit-50", make(12, yes=REQ, signals=("is_order",)), RISKY, "risk.deposit_pct", 50),
    ("order-action", make(3, signals=("is_order",)), History(), "action", "order_confirmation"),
    ("order-beats-repeat", make(12, signals=("is_order",)), ORDERED, "action", "order_confirmation"),
    ("no-order-no-risk", make(12), History(), "risk.accept", None),
    # actions by clarity and history
    ("action-0-catalogue", make(0, signals=("price_only",)), History(), "action", "catalogue_reply"),
    ("action-4-catalogue", make(4), History(), "action", "catalogue_reply"),
    ("action-5-follow-up-questions", make(5), History(), "action", "follow_up_questions"),
    ("action-6-precise", make(6), History(), "action", "precise_quote"),
    ("action-4-returning-nurture", make(4), History(previous_inquiries=2), "action", "nurture"),
    ("action-5-returning-follow-up", make(5), History(previous_inquiries=2), "action", "follow_up_questions"),
    ("action-repeat-customer", make(9), ORDERED, "action", "repeat_order"),
    # invalid, auto-reply: everything null, action none
    ("invalid-priority-null", make(10, signals=("invalid",)), History(), "priority", None),
    ("invalid-action-none", make(10, signals=("invalid",)), History(), "action", "none"),
    ("invalid-sample-null", make(10, yes=SRQ, signals=("invalid", "sample_requested")), History(), "sample", None),
    ("auto-reply-tier-null", make(3, signals=("auto_reply",)), History(), "tier", None),
    ("auto-reply-mode-null", make(3, signals=("auto_reply",)), History(), "mode", None),
    ("auto-reply-quote-null", make(3, signals=("auto_reply",)), History(), "quote", None),
    ("auto-reply-action-none", make(3, signals=("auto_reply",)), History(), "action", "none"),
]


@pytest.mark.parametrize(("checklist", "history", "decision", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision(checklist: Checklist, history: History, decision: str, expected: Any) -> None:
    a = assess(checklist, RULES, history)
    assert get(a, decision) == expected, dict(a.reasons)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("n", [0, 4, 5, 6, 7, 8, 11, 12, 18])
def test_every_decision_has_a_reason(n: int) -> None:
    a = assess(make(n, signals=("sample_requested", "is_order")), RULES)
    reasons = dict(a.reasons)
    for decision in ("priority", "response_due", "tier", "follow_up_mode", "quote", "sample", "order_risk", "action"):
        assert reasons.get(decision), decision
    assert reasons["priority"].startswith("PRIORITY_") and str(n) in reasons["priority"]


def test_reasons_name_rule_and_threshold() -> None:
    reasons = dict(assess(make(7), RULES).reasons)
    assert reasons["priority"] == "PRIORITY_MEDIUM: clarity 7 between 5 and 7"
    assert reasons["quote"].startswith("QUOTE_PRECISE: clarity 7 >= 6")
    assert reasons["follow_up_mode"].startswith("MODE_GUIDED: clarity 7 in 5-7")
    assert "band low" in reasons["tier"] and "-> tier C" in reasons["tier"]
    assert dict(assess(make(3, signals=("invalid",)), RULES).reasons)["action"].startswith("INVALID")


def test_repeat_order_changes() -> None:
    c = make(3, yes=("specs", "quantity", "certification"))
    last = {"specs": {"value": "v-specs"}, "quantity": {"value": "old"}, "certification": None}
    a = assess(c, RULES, History(1, True, False, last))
    assert [(item, before and before["value"]) for item, before, _ in a.changes] == [("quantity", "old"), ("certification", None)]
    assert "quantity, certification" in dict(a.reasons)["action"]


def test_tags() -> None:
    assert tags_for(assess(make(9, strength="medium"), RULES), RULES) == ["$Priority_High", "$Tier_B", "$Mode_FastTrack"]
    assert tags_for(assess(make(5), RULES), RULES) == ["$Priority_Medium", "$Tier_C", "$Mode_Guided"]
    assert tags_for(assess(make(9, signals=("invalid",)), RULES), RULES) == ["$Triage_Invalid"]
    assert tags_for(assess(make(0, signals=("auto_reply",)), RULES), RULES) == ["$Triage_NoReply"]
    custom = RULES.model_copy(update={"tags": RULES.tags.model_copy(update={"tier": "Kunde-{value}", "mode": "", "action": "$A_{value}"})})
    assert tags_for(assess(make(3), custom), custom) == ["$Priority_Low", "Kunde-C", "$A_CatalogueReply"]


def test_thresholds_are_data(tmp_path: Path) -> None:
    text = (Path(rules_init).parent / "decisions.toml").read_text(encoding="utf-8").replace("high_min = 8           #", "high_min = 9           #", 1)
    path = tmp_path / "decisions.toml"
    path.write_text(text, encoding="utf-8")
    rules = Decisions.load(path)
    assert assess(make(8), rules).priority == "medium" and assess(make(9), rules).priority == "high"


@pytest.mark.parametrize(("old", "new", "message"), [
    ('high = "A"', 'high = "D"', "tier -> matrix -> very_high -> high"),
    ('tier = "$Tier_{value}"', 'tier = "Tier {value}"', "tags -> tier"),
    ('requires = ["specs", "quantity", "lead_time"]', 'requires = ["specs", "qty"]', "sample -> requires"),
    ("low_max = 4", "low_max = 4\nbogus = 1", "priority -> bogus"),
])
def test_bad_rules_are_reported(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (Path(rules_init).parent / "decisions.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "decisions.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulesError) as e:
        Decisions.load(path)
    assert message in str(e.value) and str(path) in str(e.value)
