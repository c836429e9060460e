"""The assess stage: one pure function from the checklist, the signals and the customer's history to decisions.

Every threshold comes from `rules/decisions.toml`; every decision carries its reason (the rule id and the
threshold it applied), which `explain` prints and `--json` returns under `reasons`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractors.core.errors import RulesError
from extractors.core.model import CORE_ITEMS, ITEM_IDS, RISK_SIGNALS, Assessment, Checklist
from extractors.policy import Policy, SignalRules, StrengthRules

BANDS = ("very_high", "high", "low")
STRENGTHS = ("high", "medium", "low")
DECISIONS = ("priority", "response_due", "tier", "follow_up_mode", "quote", "sample", "order_risk", "action")
# Replies that commit the seller to a price, an order or a sample; a mail with risk signs never gets one.
COMMITTING = ("order_confirmation", "precise_quote", "range_quote", "sample_accept", "repeat_order", "catalogue_reply")
# IMAP keywords are atoms: no space, no ( ) { % * " \ ] and no control characters.
_KEYWORD = regex.compile(r"^\$?[A-Za-z0-9_.\-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityRules(_Strict):
    low_max: int = 4
    high_min: int = 8
    high_due_hours: int = 12
    medium_due_hours: int = 48
    low_due_hours: int = 72


class QuoteRules(_Strict):
    precise_min: int = 6


class TierRules(_Strict):
    very_high_min: int = 12
    high_min: int = 8
    matrix: dict[str, dict[str, str]] = {}
    due_hours: dict[str, int] = {}


class FollowUpRules(_Strict):
    fast_track_min: int = 8
    fast_track_next_step_hours: int = 24
    guided_min: int = 5
    guided_questions: int = Field(default=2, ge=1, le=5)
    question_order: list[str] = list(ITEM_IDS)


class SampleRules(_Strict):
    send_min: int = 6
    requires: list[str] = ["specs", "quantity", "lead_time"]


class OrderRules(_Strict):
    min_yes: int = 10
    required: list[str] = ["specs", "quantity", "lead_time", "certification", "payment_terms"]
    change_clause_unclear_core: int = 3
    high_change_risk_changes: int = Field(default=2, ge=1)  # changed requirements that make a buyer a change risk
    high_change_risk_after_order: int = Field(default=1, ge=1)  # values changed after an order that make one
    high_change_risk_deposit_pct: int = 50
    standard_deposit_pct: int = 30


class RiskRules(_Strict):
    """When an order- or payment-shaped mail, or one that would get a quote, shows signs of a lure: no reply that
    commits the seller, a keyword on the inquiry and (with `note`) a note to the salesperson in Drafts."""

    signs: list[str] = ["lure", *RISK_SIGNALS]
    note: bool = False


class TagRules(_Strict):
    """IMAP keyword names; `{value}` is the decision in CamelCase (High, B, FastTrack). "" switches a tag off."""

    priority: str = "$Priority_{value}"
    tier: str = "$Tier_{value}"
    mode: str = "$Mode_{value}"
    action: str = ""
    no_reply: str = "$Triage_NoReply"
    invalid: str = "$Triage_Invalid"
    verify: str = "$Triage_Verify"


class Decisions(_Strict):
    priority: PriorityRules = PriorityRules()
    quote: QuoteRules = QuoteRules()
    tier: TierRules = TierRules()
    follow_up: FollowUpRules = FollowUpRules()
    sample: SampleRules = SampleRules()
    order: OrderRules = OrderRules()
    risk: RiskRules = RiskRules()
    tags: TagRules = TagRules()
    strength: StrengthRules = StrengthRules()  # read by the extract stage (see extractors/policy.py)
    signals: SignalRules = SignalRules()

    @property
    def policy(self) -> Policy:
        """The sections the extract stage reads."""
        return Policy(strength=self.strength, signals=self.signals)

    @classmethod
    def load(cls, path: Path) -> Decisions:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise RulesError(f"{path}: cannot read decision rules: {e}") from e
        try:
            decisions = cls.model_validate(data)
        except ValidationError as e:
            raise RulesError(
                [f"{path} [{' -> '.join(map(str, err['loc']))}] {err['msg'].removeprefix('Value error, ')}" for err in e.errors()]
            ) from e
        problems = [f"{path} {p}" for p in decisions.problems()]
        if problems:
            raise RulesError(problems)
        return decisions

    def problems(self) -> list[str]:
        """Every inconsistency of the rules, each naming its path and the fix."""
        out = []
        for section, items in (("follow_up -> question_order", self.follow_up.question_order),
                               ("sample -> requires", self.sample.requires), ("order -> required", self.order.required)):
            out += [f"[{section}] unknown item {i!r}; use one of the 18 item ids" for i in items if i not in ITEM_IDS]
        for band in BANDS:
            for strength in STRENGTHS:
                if self.tier.matrix.get(band, {}).get(strength) not in ("A", "B", "C"):
                    out.append(f'[tier -> matrix -> {band} -> {strength}] must be "A", "B" or "C"')
        known = {"lure", *RISK_SIGNALS}
        out += [f"[risk -> signs] unknown risk sign {s!r}; use one of: {', '.join(sorted(known))}" for s in self.risk.signs
                if s not in known]
        for name in ("priority", "tier", "mode", "action", "no_reply", "invalid", "verify"):
            pattern = getattr(self.tags, name)
            if pattern and not _KEYWORD.match(pattern.replace("{value}", "X")):
                out.append(f"[tags -> {name}] {pattern!r} is not a valid IMAP keyword (letters, digits, _ . - and a leading $)")
        if not self.priority.low_max < self.priority.high_min:
            out.append("[priority] low_max must be below high_min")
        if not self.follow_up.guided_min <= self.follow_up.fast_track_min:
            out.append("[follow_up] guided_min must not exceed fast_track_min")
        return out


@dataclass(frozen=True, slots=True)
class History:
    """What the store knows about the customer before this message."""

    previous_inquiries: int = 0
    has_order: bool = False
    high_change_risk: bool = False
    last_order: dict[str, Any] | None = None  # item -> Finding.as_json() of the last order (None: not stated)


def _band(clarity: int, t: TierRules) -> str:
    return "very_high" if clarity >= t.very_high_min else "high" if clarity >= t.high_min else "low"


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).casefold()


def changes_since(checklist: Checklist, last_order: dict[str, Any] | None) -> tuple[tuple[str, Any, Any], ...]:
    """(item, finding-json at the last order or None, finding-json now) for each need the buyer restated differently."""
    if not last_order:
        return ()
    out = []
    for item, finding in checklist.items:
        if finding is None or item in ("company", "contact"):
            continue
        before = last_order.get(item)
        now = finding.as_json()
        if not isinstance(before, dict) or _norm(before.get("value")) != _norm(now["value"]):
            out.append((item, before if isinstance(before, dict) else None, now))
    return tuple(out)


def _priority(n: int, p: PriorityRules) -> tuple[str, int, str]:
    if n >= p.high_min:
        return "high", p.high_due_hours, f"PRIORITY_HIGH: clarity {n} >= {p.high_min}; precise proposal within {p.high_due_hours} hours"
    if n <= p.low_max:
        return "low", p.low_due_hours, f"PRIORITY_LOW: clarity {n} <= {p.low_max}; catalogue and basic quote, no deep conversation"
    return "medium", p.medium_due_hours, f"PRIORITY_MEDIUM: clarity {n} between {p.low_max + 1} and {p.high_min - 1}"


def _quote(n: int, declines: bool, q: QuoteRules) -> tuple[str, str]:
    if n >= q.precise_min:
        return "precise", f"QUOTE_PRECISE: clarity {n} >= {q.precise_min}; quote on the basis of the confirmed requirements"
    if declines:
        return "range", f"QUOTE_RANGE: clarity {n} < {q.precise_min} and the buyer declines to clarify; range quote with preconditions"
    return "follow_up", f"QUOTE_FOLLOW_UP: clarity {n} < {q.precise_min}; ask targeted questions before a precise quote"


def _mode(n: int, missing: set[str], f: FollowUpRules) -> tuple[str, tuple[str, ...], str]:
    if n >= f.fast_track_min:
        return "fast_track", (), (
            f"MODE_FAST_TRACK: clarity {n} >= {f.fast_track_min}; confirm parameters -> send contract -> collect deposit, "
            f"next step due within {f.fast_track_next_step_hours} hours"
        )
    if n >= f.guided_min:
        questions = tuple(i for i in f.question_order if i in missing)[: f.guided_questions]
        return "guided", questions, (
            f"MODE_GUIDED: clarity {n} in {f.guided_min}-{f.fast_track_min - 1}; ask the {f.guided_questions} most "
            f"important missing items in question_order: {', '.join(questions) or 'none missing'}"
        )
    return "nurture", (), f"MODE_NURTURE: clarity {n} < {f.guided_min}; ask nothing, share a case study or compliance note"


def _sample(n: int, missing: set[str], s: SampleRules) -> tuple[str, list[str], str]:
    lacking = [i for i in s.requires if i in missing]
    if n >= s.send_min and not lacking:
        return "send", [], (
            f"SAMPLE_SEND: clarity {n} >= {s.send_min} and {', '.join(s.requires)} all stated; "
            "small fee credited against the bulk order, sample confirmation form"
        )
    why = [f"clarity {n} < {s.send_min}"] if n < s.send_min else []
    why += [f"{', '.join(lacking)} not stated"] if lacking else []
    return "decline", lacking, f"SAMPLE_DECLINE: {' and '.join(why)}; decline the free sample, ask for parameters and purchase plan"


def _order_risk(n: int, missing: set[str], o: OrderRules, history: History) -> tuple[dict[str, Any], str]:
    unclear_core = [i for i in CORE_ITEMS if i in missing]
    lacking = [i for i in o.required if i in missing]
    risk = {
        "accept": n >= o.min_yes and not lacking,
        "unclear_core": unclear_core,
        "change_clause": len(unclear_core) >= o.change_clause_unclear_core,
        "high_change_risk": history.high_change_risk,
        "deposit_pct": o.high_change_risk_deposit_pct if history.high_change_risk else o.standard_deposit_pct,
        "missing_required": lacking,
    }
    verdict = "ORDER_ACCEPT" if risk["accept"] else "ORDER_CONFIRM_FIRST"
    reason = (
        f"{verdict}: {n} yes (need >= {o.min_yes} incl. {', '.join(o.required)})"
        f"{'; missing ' + ', '.join(lacking) if lacking else ''}; "
        f"{len(unclear_core)} of {len(CORE_ITEMS)} core items unclear "
        f"({'change clause added' if risk['change_clause'] else 'no change clause'}, added at >= {o.change_clause_unclear_core}); "
        + (f"high change risk: {o.high_change_risk_deposit_pct}% deposit" if history.high_change_risk
           else f"standard deposit {o.standard_deposit_pct}%")
    )
    return risk, reason


def _none(checklist: Checklist, reason: str) -> Assessment:
    reasons = {d: reason for d in DECISIONS}
    return Assessment(checklist.key, checklist, None, None, None, None, None, "none", tuple(reasons.items()))


def assess(checklist: Checklist, rules: Decisions, history: History = History()) -> Assessment:
    """Decide priority, quote readiness, tier, follow-up mode, sample and order risk, each with its reason."""
    for signal_name, label in (("invalid", "INVALID: invalid inquiry"), ("auto_reply", "NO_REPLY: auto-reply, bounce or list mail")):
        if checklist.signal(signal_name):
            why = next(s.reason for s in checklist.signals if s.name == signal_name)
            return _none(checklist, f"{label} ({why}); no reply is drafted, the message is tagged and recorded")

    n = checklist.clarity
    missing = set(checklist.missing)
    reasons: dict[str, str] = {}
    priority, due, reasons["priority"] = _priority(n, rules.priority)

    band = _band(n, rules.tier)
    price_only = checklist.signal("price_only")
    strength = "low" if price_only else checklist.strength
    tier = rules.tier.matrix[band][strength]
    reasons["tier"] = (
        f"TIER_MATRIX: clarity {n} is band {band} (very_high >= {rules.tier.very_high_min}, high >= {rules.tier.high_min}, "
        f"else low), strength {checklist.strength}{' but price-only (counts as low)' if price_only else ''} -> tier {tier}"
    )
    tier_due = rules.tier.due_hours.get(tier)
    due_hours = min(due, tier_due) if tier_due is not None else due
    reasons["response_due"] = (
        f"RESPONSE_DUE: {due_hours} hours, the sooner of priority {priority} ({due} h) and tier {tier} "
        f"({tier_due if tier_due is not None else '-'} h)"
    )

    quote, reasons["quote"] = _quote(n, checklist.signal("declines_to_clarify"), rules.quote)
    mode, questions, reasons["follow_up_mode"] = _mode(n, missing, rules.follow_up)

    sample = None
    reasons["sample"] = "SAMPLE_NONE: the buyer did not ask for a sample"
    if checklist.signal("sample_requested"):
        sample, lacking, reasons["sample"] = _sample(n, missing, rules.sample)
        if sample == "decline" and mode != "nurture":
            order = lacking + [i for i in rules.follow_up.question_order if i in missing and i not in lacking]
            questions = tuple(order[: rules.follow_up.guided_questions])

    risk: dict[str, Any] = {}
    reasons["order_risk"] = "ORDER_NONE: not an order or purchase order"
    if checklist.signal("is_order"):
        risk, reasons["order_risk"] = _order_risk(n, missing, rules.order, history)

    changes = changes_since(checklist, history.last_order) if history.has_order else ()
    action = _action(checklist, sample, quote, mode, priority, history)
    reasons["action"] = f"ACTION_{action.upper()}: " + _action_reason(action, n, rules, changes)
    signs = [s for s in checklist.signals if s.name in rules.risk.signs]
    if signs and _commits(checklist, action):
        reasons["action"] = (
            f"ACTION_VERIFY: instead of {action}: " + "; ".join(f"{s.rule}: {s.reason}" for s in signs)
            + "; no reply that commits the seller, the salesperson verifies first"
        )
        action = "verify"
    return Assessment(
        checklist.key, checklist, priority, tier, mode, quote, sample, action, tuple(reasons.items()), questions,
        due_hours, tuple(risk.items()), changes, history.has_order,
    )


def _commits(checklist: Checklist, action: str) -> bool:
    """The reply would commit the seller: an order, a payment, a quote or prices, a sample sent."""
    return (action in COMMITTING or checklist.signal("is_order") or checklist.signal("payment_mail")
            or checklist.signal("asks_price"))


def risk_signs(a: Assessment, decisions: Decisions) -> list[str]:
    """The risk signs of the inquiry, each as "RULE: reason" (for the note and `explain`)."""
    return [f"{s.rule}: {s.reason}" for s in a.checklist.signals if s.name in decisions.risk.signs]


def _action(checklist: Checklist, sample: str | None, quote: str, mode: str, priority: str, history: History) -> str:
    if checklist.signal("refers_to_earlier_order"):
        return "repeat_order"
    if checklist.signal("is_order"):
        return "order_confirmation"
    if history.has_order:
        return "repeat_order"
    if sample is not None:
        return "sample_accept" if sample == "send" else "sample_decline"
    if quote == "range":
        return "range_quote"
    if quote == "precise":
        return "precise_quote"
    if mode == "guided":
        return "follow_up_questions"
    if history.previous_inquiries > 0 and priority == "low":
        return "nurture"
    return "catalogue_reply"


def _action_reason(action: str, n: int, rules: Decisions, changes: tuple[tuple[str, Any, Any], ...]) -> str:
    changed = ", ".join(c[0] for c in changes) or "nothing"
    return {
        "order_confirmation": "the buyer places an order; contract annex of the confirmed items (see order_risk)",
        "repeat_order": f"a re-order or a customer with a previous order; changed since the last order: {changed}",
        "sample_accept": "sample request that meets the sample rule (see sample)",
        "sample_decline": "sample request that does not meet the sample rule (see sample)",
        "range_quote": f"the buyer declines to clarify at clarity {n} < {rules.quote.precise_min}",
        "precise_quote": f"clarity {n} >= {rules.quote.precise_min}",
        "follow_up_questions": f"clarity {n} in {rules.follow_up.guided_min}-{rules.quote.precise_min - 1}; "
                               "ask the most important missing items",
        "nurture": f"a returning contact at clarity {n} <= {rules.priority.low_max}; no questions, useful content",
        "catalogue_reply": f"clarity {n} <= {rules.priority.low_max}: catalogue and basic quote",
    }[action]


def _camel(value: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in value.split("_"))


def tags_for(a: Assessment, decisions: Decisions) -> list[str]:
    """The IMAP keywords that show the triage on the inquiry (names from [tags] in decisions.toml)."""
    t = decisions.tags
    if a.action == "none":
        tag = t.invalid if a.checklist.signal("invalid") else t.no_reply
        return [tag] if tag else []
    pairs = ((t.priority, a.priority), (t.tier, a.tier), (t.mode, a.follow_up_mode), (t.action, a.action))
    tags = [pattern.replace("{value}", _camel(value)) for pattern, value in pairs if pattern and value]
    if t.verify and risk_signs(a, decisions):
        tags.append(t.verify)
    return tags
