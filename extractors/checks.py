"""The checks a hit passes before it becomes a Finding, and the choice of the best finding per item.

A hit is checked against the sentence it stands in (a capability question or a negation is not a statement), the
rule's required and excluded context words, and the rule's value normaliser (a span that does not normalise is not
concrete enough).

Only the hits that decide the result are checked: for an item its hits in order of preference until one passes
(all of them for `certification`, whose names are merged, and for the items stated in parts, `LISTED_ITEMS`), for a signal its hits in text order until one passes.
The other hits are checked when `Result.hits` or `Result.rejected` is read (`eval`, rule examples). Sentence bounds
are computed only for a part with a hit to check, and each sentence is classified (question or not) once.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from extractors.core.model import ITEM_IDS, Finding, Signal
from extractors.cues import Cues
from extractors.normalise import NORMALISERS, Context
from extractors.prefilter import Spots
from extractors.rules import Rule, Window

# Sentence ends, as the matches of a left-to-right scan (stdlib `re`) of
#   (?<=[.!?;。！？；])\s+|(?<=[。！？；])|\n+|(?<=\S)\s{3,}|(?<=[a-z0-9)][.!?])(?=[A-Z¿])
# with \s the `regex` module's whitespace set (the stdlib's \s would also match \x1c-\x1f). Every match is a run
# of whitespace or empty right after a full stop, so they are found as `_RUN`s (the maximal runs that can hold a
# match: after sentence punctuation, two or more long, or holding a newline) and `_EMPTY` punctuation, both
# rare enough for the stdlib's first-character search to skip most of the text.
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_STOPS = ".!?;。！？；"
_RUN = re.compile(rf"[{_WS}](?:(?=[{_WS}])|(?<=[{_STOPS}][{_WS}])|(?<=\n))(?<![{_WS}][{_WS}])[{_WS}]*")
_NEWLINES = re.compile(r"\n+")
_EMPTY = re.compile(rf"[.!?。！？；](?:(?<=[。！？；])(?![{_WS}])|(?<=[a-z0-9)][.!?])(?=[A-Z¿]))")
_PART_RANK = {"headers": -2, "sender": -1, "text": 0, "form": 1, "subject": 2, "signature": 3}  # headers first: how a program marks its mail
LISTED_ITEMS = frozenset({"specs", "material", "customization"})  # stated in parts: every part is kept, joined
LISTED_MAX = 6  # the most parts of one such item kept
_SUBJECT_WEIGHT = 0.9  # a finding in the subject line counts for this much of its rule's confidence


class Compiled:
    """A rule as the checks read it for every hit: plain attributes (a pydantic model's cost more to read), its
    item or signal name, the parts it reads as a set, its context words lowercased, the sub-rules it combines or
    reads as context, and its normaliser."""

    __slots__ = ("rule", "id", "n", "name", "item", "signal", "description", "parts", "confidence", "reject_question",
                 "reject_negation", "near", "not_near", "near_rules", "not_near_rules", "near_within",
                 "not_near_within", "normalise", "sub", "all", "any", "within", "value_at", "combines")

    def __init__(self, rule: Rule, n: int = 0):
        self.rule = rule
        self.id = rule.id
        self.n = n  # the rule's place among its language's rules
        self.name = rule.feeds
        self.sub = rule.is_sub_rule
        self.item = rule.item
        self.signal = rule.signal
        self.description = rule.description
        self.parts = frozenset(rule.parts)
        self.confidence = rule.confidence
        self.reject_question = rule.in_question == "reject"
        self.reject_negation = rule.negation == "reject"
        self.near = tuple(w.lower() for w in rule.context_words("near"))
        self.not_near = tuple(w.lower() for w in rule.context_words("not_near"))
        self.near_within = rule.near.within if isinstance(rule.near, Window) else 0
        self.not_near_within = rule.not_near.within if isinstance(rule.not_near, Window) else 0
        self.normalise: Callable[[str, Context], Any] = NORMALISERS[rule.normaliser]
        self.within = rule.within
        self.combines = bool(rule.all or rule.any)
        self.value_at = rule.all.index(rule.value) if rule.value is not None else None
        self.all: tuple[Compiled, ...] = ()
        self.any: tuple[Compiled, ...] = ()
        self.near_rules: tuple[Compiled, ...] = ()
        self.not_near_rules: tuple[Compiled, ...] = ()

    def link(self, compiled: Mapping[str, Compiled]) -> None:
        """Resolve the ids of the sub-rules this rule reads (the rule set checked that they exist)."""
        rule = self.rule
        self.all = tuple(compiled[i] for i in rule.all)
        self.any = tuple(compiled[i] for i in rule.any)
        if isinstance(rule.near, Window):
            self.near_rules = tuple(compiled[i] for i in rule.near.rules)
        if isinstance(rule.not_near, Window):
            self.not_near_rules = tuple(compiled[i] for i in rule.not_near.rules)

    def __repr__(self) -> str:
        return f"Compiled({self.id})"


class Hit(NamedTuple):
    """A rule that fired on one part, before the checks."""

    rule: Compiled
    part: str
    start: int  # the value's span (a regex's `v` group, an `all` rule's `value` sub-rule) ...
    end: int
    match_start: int  # ... within the whole match
    match_end: int
    seq: tuple[int, int, int]  # (part, source, n): the order of the hits of a message, unique (see `engine.Scan`)


class Hits(Protocol):
    """The hits of one message: the token rules' at once, a regex rule's when asked for."""

    texts: Mapping[str, str]

    def may_hit(self, rule: Compiled) -> bool: ...

    def rule_hits(self, rule: Compiled) -> list[Hit]: ...

    def all_hits(self) -> list[Hit]: ...

    def near(self, hit: Hit, rules: tuple[Compiled, ...], within: int) -> Compiled | None: ...


class Result:
    """What the engine found in one message: the best finding per item, and each signal when first asked for
    (`signal`); on demand every accepted hit and every rejected one with the reason (for explain and eval)."""

    __slots__ = ("findings", "audit", "_signals")

    def __init__(self, findings: Mapping[str, Finding], audit: _Audit):
        self.findings = findings
        self.audit = audit
        self._signals: dict[str, tuple[tuple[int, int, tuple[int, int, int]], Signal, str] | None] = {}

    def _found(self, name: str) -> tuple[tuple[int, int, tuple[int, int, int]], Signal, str] | None:
        if name not in self._signals:
            self._signals[name] = self.audit.judge.signal(self.audit, name)
        return self._signals[name]

    def signal(self, name: str) -> Signal | None:
        """The signal a rule fed, with the rule and its description, or None."""
        found = self._found(name)
        return None if found is None else found[1]

    def evidence(self, name: str) -> str:
        """The text of the first hit of a signal (empty without one)."""
        found = self._found(name)
        return "" if found is None else found[2]

    @property
    def signals(self) -> tuple[Signal, ...]:
        """Every signal the rules fed, in text order."""
        found = [f for name in self.audit.judge.signal_names if (f := self._found(name)) is not None]
        return tuple(s for _, s, _ in sorted(found, key=lambda f: f[0]))

    @property
    def hits(self) -> tuple[Finding, ...]:
        return self.audit.accepted()

    @property
    def rejected(self) -> tuple[tuple[str, str], ...]:
        return self.audit.rejected()


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    ends: list[tuple[int, int]] = []
    for m in _RUN.finditer(text):
        a, b = m.span()
        if b - a == 1 or a > 0 and (text[a - 1] in _STOPS or text[a] != "\n" and b - a >= 3):
            ends.append((a, b))  # a lone newline, or the whole run: after sentence punctuation, or 3+ after a word
        else:
            ends += (n.span() for n in _NEWLINES.finditer(text, a, b))
    if empty := [(e, e) for e in map(_end, _EMPTY.finditer(text))]:
        ends += empty
        ends.sort()
    bounds = []
    start = 0
    for a, b in ends:
        if a > start:
            bounds.append((start, a))
        start = b
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


_end = re.Match.end


class Judge:
    """What the checks of one language read: its sentence cues, and for each item or signal the rules feeding
    it, grouped by confidence (highest first)."""

    def __init__(self, cues: Cues, rules: Sequence[Compiled]):
        self.cues = cues
        levels: dict[str, dict[float, list[Compiled]]] = {}
        for r in rules:
            levels.setdefault(r.name, {}).setdefault(r.confidence, []).append(r)
        self.levels = {name: sorted(by_conf.items(), key=lambda level: level[0], reverse=True) for name, by_conf in levels.items()}
        self.rules_of = {name: frozenset(r for _, rules in by_conf for r in rules) for name, by_conf in self.levels.items()}

    def decide(self, scan: Hits, ctx: Context) -> Result:
        """The findings of every item; the signals are found when first asked for (`Result.signal`)."""
        audit = _Audit(self, scan, ctx)
        best: dict[str, Finding] = {}
        for name, levels in self.levels.items():
            if name.startswith("signal:") or not any(map(scan.may_hit, self.rules_of[name])):
                continue  # a signal, or nothing can feed it
            if name == "certification":
                merged = _merged_certification(audit, [h for _, rules in levels for rule in rules for h in scan.rule_hits(rule)])
                if merged is not None:
                    best[name] = merged
            elif name in LISTED_ITEMS:
                merged = _merged_list(audit, [h for _, rules in levels for rule in rules for h in scan.rule_hits(rule)])
                if merged is not None:
                    best[name] = merged
            elif (winner := _preferred(audit, levels, scan)) is not None:
                best[name] = audit.finding(winner)
        findings = {item: best[item] for item in ITEM_IDS if item in best}
        return Result(findings, audit)

    def signal(self, audit: _Audit, name: str) -> tuple[tuple[int, int, tuple[int, int, int]], Signal, str] | None:
        """A signal fed by rules: its first accepted hit in text order, as (order, signal, evidence), or None."""
        key = f"signal:{name}"
        levels = self.levels.get(key)
        scan = audit.scan
        if levels is None or not any(map(scan.may_hit, self.rules_of[key])):
            return None
        hits = [h for _, rules in levels for rule in rules for h in scan.rule_hits(rule)]
        first = next((h for h in sorted(hits, key=_text_order) if audit.accepts(h)), None)
        if first is None:
            return None
        rule = first.rule
        evidence = scan.texts[first.part][first.match_start : first.match_end]
        return _text_order(first), Signal(name, rule.id, rule.description), evidence

    @property
    def signal_names(self) -> list[str]:
        return [name.removeprefix("signal:") for name in self.levels if name.startswith("signal:")]


def _preferred(audit: _Audit, levels: Sequence[tuple[float, list[Compiled]]], scan: Hits) -> Hit | None:
    """The hit of the best finding of an item: the first accepted in order of preference. A rule's hits are
    looked for only while a finding of its confidence could still win: they cannot beat one of higher confidence
    (their own rule's confidence is the most they get)."""
    best = None
    for confidence, rules in levels:
        if best is not None and _confidence(best) > confidence:
            break
        found: list[Hit] = []
        for rule in rules:
            found += scan.rule_hits(rule)
        if found:
            best = _first_accepted(audit, found, best)
    return best


def _first_accepted(audit: _Audit, hits: list[Hit], best: Hit | None) -> Hit | None:
    """The first accepted of the hits in order of preference, if it comes before `best` (else `best`)."""
    bound = _preference(best) if best is not None else None
    if len(hits) == 1:
        hit = hits[0]
        return hit if (bound is None or _preference(hit) < bound) and audit.accepts(hit) else best
    for key, hit in sorted((_preference(h), h) for h in hits):
        if bound is not None and key >= bound:
            break
        if audit.accepts(hit):
            return hit
    return best


def _merged_certification(audit: _Audit, hits: list[Hit]) -> Finding | None:
    """The preferred certification finding, its value the names of every accepted one in text order."""
    names: list[str] = []
    for hit in sorted(hits, key=_text_order):
        if audit.accepts(hit) and isinstance(value := audit.value(hit), str) and value not in names:
            names.append(value)
    winner = next((hit for hit in sorted(hits, key=_preference) if audit.accepts(hit)), None)
    if winner is None:
        return None
    f = audit.finding(winner)
    return Finding(f.item, names, f.evidence, f.start, f.end, f.rule, f.confidence, f.part) if names else f


def _merged_list(audit: _Audit, hits: list[Hit]) -> Finding | None:
    """The preferred finding of an item the buyer states as several parts (specs: "150W, IP66, 5000K"), its value
    every accepted part that does not overlap a preferred one, in text order, joined with commas."""
    kept: list[Hit] = []
    for _, hit in sorted((_preference(h), h) for h in hits):
        if len(kept) < LISTED_MAX and audit.accepts(hit) and not any(_overlap(hit, k) for k in kept):
            kept.append(hit)
    if not kept:
        return None
    f = audit.finding(kept[0])
    parts: list[str] = []
    for hit in sorted(kept, key=_text_order):
        value = audit.value(hit)
        if not isinstance(value, str):
            return f
        if value.casefold() not in (p.casefold() for p in parts):
            parts.append(value)
    return Finding(f.item, ", ".join(parts), f.evidence, f.start, f.end, f.rule, f.confidence, f.part)


def _overlap(a: Hit, b: Hit) -> bool:
    return a.part == b.part and a.start < b.end and b.start < a.end


def _text_order(hit: Hit) -> tuple[int, int, tuple[int, int, int]]:
    return _PART_RANK.get(hit.part, 4), hit.start, hit.seq


def _preference(hit: Hit) -> tuple[float, int, int, int, tuple[int, int, int]]:
    """Higher confidence first, then the part's rank, the longer span, text order."""
    part = hit.part
    # -_confidence(hit), written out: this key is built for every hit compared
    return -hit.rule.confidence * (_SUBJECT_WEIGHT if part == "subject" else 1.0), _PART_RANK.get(part, 4), hit.start - hit.end, hit.start, hit.seq


class _Audit:
    """The hits of one message, each checked once, when first asked: accepted with its value, or rejected with
    the reason."""

    __slots__ = ("judge", "scan", "ctx", "verdicts", "views")

    def __init__(self, judge: Judge, scan: Hits, ctx: Context):
        self.judge = judge
        self.scan = scan
        self.ctx = ctx
        self.verdicts: dict[tuple[int, int, int], tuple[Any] | str] = {}  # (value,) or why not
        self.views: dict[str, _PartText] = {}

    def accepts(self, hit: Hit) -> bool:
        v = self.verdicts.get(hit.seq)
        if v is None:
            v = self.verdicts[hit.seq] = self._check(hit)
        return not isinstance(v, str)

    def value(self, hit: Hit) -> Any:
        """The value of an accepted hit."""
        return self.verdicts[hit.seq][0]

    def finding(self, hit: Hit) -> Finding:
        """The finding of an accepted hit."""
        rule = hit.rule
        evidence = self.scan.texts[hit.part][hit.start : hit.end]
        return Finding(rule.name, self.value(hit), evidence, hit.start, hit.end, rule.id, _confidence(hit), hit.part)

    def accepted(self) -> tuple[Finding, ...]:
        return tuple(self.finding(hit) for hit in self.scan.all_hits() if self.accepts(hit))

    def rejected(self) -> tuple[tuple[str, str], ...]:
        return tuple((hit.rule.id, v) for hit in self.scan.all_hits() if isinstance(v := self._verdict(hit), str))

    def _verdict(self, hit: Hit) -> tuple[Any] | str:
        v = self.verdicts.get(hit.seq)
        if v is None:
            v = self.verdicts[hit.seq] = self._check(hit)
        return v

    def _check(self, hit: Hit) -> tuple[Any] | str:
        rule = hit.rule
        view = self.views.get(hit.part)
        if view is None:
            view = self.views[hit.part] = _PartText(self.judge.cues, self.scan.texts[hit.part])
        start = hit.start
        # the sentence (a, b) with a <= start < b, else (start, start)
        i = bisect.bisect_right(view.starts, start) - 1
        a, b = view.sentences[i] if i >= 0 else (start, start)
        if start >= b:
            a = b = start
        if rule.reject_question and view.is_question(a, b):
            return "in a question"
        if rule.reject_negation and view.negated(a, hit.match_start):
            return "negated"
        if rule.near_rules and self.scan.near(hit, rule.near_rules, rule.near_within) is None:
            return "no required rule near"
        if rule.not_near_rules and (other := self.scan.near(hit, rule.not_near_rules, rule.not_near_within)) is not None:
            return f"excluded by {other.id} near"
        if rule.near or rule.not_near:
            # the context words are the sentence's: one verdict per rule and sentence
            key = (rule, a)
            if key in view.context:
                why = view.context[key]
            else:
                why = view.context[key] = _context(rule, view.lower(a, b))
            if why is not None:
                return why
        if rule.item is None:
            return (True,)
        value = rule.normalise(view.text[start : hit.end], self.ctx)
        return "value not concrete" if value is None else (value,)


def _context(rule: Compiled, sentence: str) -> str | None:
    """Why the rule's context words reject a hit in the sentence (lowercased), or None."""
    if rule.near and not any(map(sentence.__contains__, rule.near)):
        return "no required context word"
    if rule.not_near and any(map(sentence.__contains__, rule.not_near)):
        return "excluded by context"
    return None


def _confidence(hit: Hit) -> float:
    return hit.rule.confidence * (_SUBJECT_WEIGHT if hit.part == "subject" else 1.0)


class _PartText:
    """One part's text with its sentence bounds; each sentence is classified (question or not) once."""

    __slots__ = ("cues", "text", "sentences", "starts", "questions", "lowered", "context", "_spots")

    def __init__(self, cues: Cues, text: str):
        self.cues = cues
        self.text = text
        self.sentences = sentence_bounds(text)
        self.starts = [a for a, _ in self.sentences]
        self.questions: dict[int, bool] = {}  # sentence start -> a question
        self.lowered: dict[int, str] = {}  # sentence start -> the sentence lowercased
        self.context: dict[tuple[Compiled, int], str | None] = {}  # (rule, sentence start) -> see `_context`
        self._spots: tuple[Spots | None, Spots | None] | None = None

    def lower(self, a: int, b: int) -> str:
        """The sentence (a, b) lowercased."""
        low = self.lowered.get(a)
        if low is None:
            low = self.lowered[a] = self.text[a:b].lower()
        return low

    def is_question(self, a: int, b: int) -> bool:
        """Whether the sentence (a, b) is a question."""
        q = self.questions.get(a)
        if q is None:
            q = self.questions[a] = self.cues.is_question(self.text, a, b, self.spots()[0])
        return q

    def negated(self, a: int, end: int) -> bool:
        """A negation word just before `end` in the sentence starting at a."""
        return self.cues.negated(self.text, a, end, self.spots()[1])

    def spots(self) -> tuple[Spots | None, Spots | None]:
        if self._spots is None:
            self._spots = self.cues.spots(self.text)
        return self._spots
