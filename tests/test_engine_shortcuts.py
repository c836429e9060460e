"""The engine's shortcuts find what the plain way finds: sentence bounds, trigger words, word spots, skipped rules.

Each shortcut is checked against the plain computation it stands for: sentence bounds against the one regex
they are defined by, the rules a scan leaves out (no trigger word) against a scan of every regex, word spots
against a search of each stretch, and the findings (which skip rules that cannot win) against the best of every
accepted hit.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import regex

from extractors.checks import LISTED_ITEMS, LISTED_MAX, sentence_bounds
from extractors.core.model import ITEM_IDS, Finding
from extractors.engine import Engine, Result, Scan
from extractors.prefilter import Triggers, Words
from extractors.rules import load
from tests.tables import items_en, items_es, items_zh

RULESET = load()
DATE = dt.date(2025, 1, 15)
# what sentence_bounds splits on (\s as the `regex` module reads it)
_SENTENCE_END = regex.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])|\n+|(?<=\S)\s{3,}|(?<=[a-z0-9)][.!?])(?=[A-Z¿])")
_ALPHABET = list(" \n\t\r\x0b\x0c\x1c\x85\xa0\u2003\u3000\u2028.!?;。！？；aZz0)¿Ab,é")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(RULESET)


def _bounds_by_definition(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            bounds.append((start, m.start()))
        start = m.end()
    return bounds + [(start, len(text))] if start < len(text) else bounds


SENTENCES = [
    ("Need 5 pcs. Ship by sea!", [(0, 11), (12, 24)]),
    ("Price?\n\nQty 20", [(0, 6), (8, 14)]),
    ("Model A    size B", [(0, 7), (11, 17)]),
    ("end.Next", [(0, 4), (4, 8)]),
    ("请报价。数量100", [(0, 4), (4, 9)]),
    (" \n \n x", [(0, 1), (2, 3), (4, 6)]),
]


@pytest.mark.parametrize(("text", "bounds"), SENTENCES, ids=[repr(t) for t, _ in SENTENCES])
def test_sentence_bounds(text: str, bounds: list[tuple[int, int]]) -> None:
    assert sentence_bounds(text) == bounds == _bounds_by_definition(text)


def test_sentence_bounds_match_their_definition_on_random_text() -> None:
    rnd = random.Random(11)
    for _ in range(20000):
        text = "".join(rnd.choice(_ALPHABET) for _ in range(rnd.randrange(16)))
        assert sentence_bounds(text) == _bounds_by_definition(text), repr(text)


TRIGGERS = [
    (["deliver", "ship"], "SHIPPING by sea", True),
    (["straße"], "Billstrasse 118", True),  # casefolded alike: a case-insensitive "straße" could match there too
    (["size"], "\u017fize 5", True),  # a long s: what the regex module matches as "s" case-insensitively
    (["lead time"], "lead-time 5 days", True),  # a word of several is looked for by its longest one
    (["lead time"], "delivery in 5 days", False),
    ([], "anything", True),  # no trigger words: always run
]


@pytest.mark.parametrize(("words", "text", "selected"), TRIGGERS, ids=[t for _, t, _ in TRIGGERS])
def test_trigger_words_select_rules(words: list[str], text: str, selected: bool) -> None:
    assert (0 in Triggers([words]).select(text)) is selected


def test_literal_spots_agree_with_may_match() -> None:
    literals = Words(["no", "not", "don't", "without"])
    text = "We do not need boxes; no logo, known brand, Nordic design, without foam. Don't."
    spots = literals.spots(text)
    assert spots is not None
    for lo in range(len(text)):
        for hi in range(lo, min(len(text), lo + 30) + 1):
            assert spots.within(lo, hi) == literals.may_match(text[lo:hi]), (lo, hi)


def _best_of_all_hits(result: Result) -> dict[str, Finding]:
    """The findings as the best accepted hit per item, every rule run (certification names merged)."""
    rank = {"headers": -2, "sender": -1, "text": 0, "form": 1, "subject": 2, "signature": 3}
    best: dict[str, Finding] = {}
    names: list[str] = []
    for f in sorted(result.hits, key=lambda f: (rank.get(f.part, 4), f.start)):
        if f.item.startswith("signal:"):
            continue
        if f.item == "certification" and isinstance(f.value, str) and f.value not in names:
            names.append(f.value)
        cur = best.get(f.item)
        if cur is None or (f.confidence, -rank.get(f.part, 4), f.end - f.start) > (cur.confidence, -rank.get(cur.part, 4), cur.end - cur.start):
            best[f.item] = f
    if "certification" in best and names:
        f = best["certification"]
        best["certification"] = Finding(f.item, names, f.evidence, f.start, f.end, f.rule, f.confidence, f.part)
    for item in LISTED_ITEMS & best.keys():  # stated in parts: every part that overlaps no preferred one, joined
        hits = sorted((f for f in result.hits if f.item == item),
                      key=lambda f: (-f.confidence, rank.get(f.part, 4), f.start - f.end, f.start))
        kept: list[Finding] = []
        for f in hits:
            if len(kept) < LISTED_MAX and not any(k.part == f.part and k.start < f.end and f.start < k.end for k in kept):
                kept.append(f)
        values = [f.value for f in sorted(kept, key=lambda f: (rank.get(f.part, 4), f.start))]
        if all(isinstance(v, str) for v in values):
            parts: list[str] = []
            for v in values:  # each part once, whatever its case
                parts += [v] if v.casefold() not in (p.casefold() for p in parts) else []
            f = best[item]
            best[item] = Finding(f.item, ", ".join(parts), f.evidence, f.start, f.end, f.rule, f.confidence, f.part)
    return {item: best[item] for item in ITEM_IDS if item in best}


def test_findings_are_the_best_of_every_hit(engine: Engine) -> None:
    cases = [(lang, text) for lang, table in (("en", items_en), ("es", items_es), ("zh", items_zh)) for text, *_ in table.CASES]
    cases += [(lang, text) for lang, rules in RULESET.rules.items() for r in rules for text in r.ok + r.fail]
    cases.append(("en", " ".join(text for lang, text in cases if lang == "en")))  # one long text with many hits
    for lang, text in cases:
        result = engine.run({"text": text, "subject": text[:60]}, lang, DATE)
        assert dict(result.findings) == _best_of_all_hits(result), text


def _texts() -> list[tuple[str, str]]:
    """Every table case and rule example, and per language all of them in one text (long enough for the scan to
    look up where words and digits start)."""
    cases = [(lang, text) for lang, table in (("en", items_en), ("es", items_es), ("zh", items_zh)) for text, *_ in table.CASES]
    cases += [(lang, text) for lang, rules in RULESET.rules.items() for r in rules for text in r.ok + r.fail]
    for lang in ("en", "es", "zh"):
        texts = [t for x, t in cases if x == lang]
        cases += [(lang, "\n".join(texts[i : i + 12])) for i in range(0, len(texts), 12)]
    return cases


def test_regex_hits_are_those_of_a_whole_scan(engine: Engine) -> None:
    """Where a regex is tried only at its opening words or digits, or skipped for want of a trigger word, it finds
    what a scan of the whole part finds."""
    for lang, text in _texts():
        eng = engine.for_language(lang)
        scan = Scan(eng, {"text": text})
        for rule, idx in eng.regexes_of.items():
            sites = {i for i, *_ in scan.sites(rule)}
            for i in idx:
                pattern = eng.regexes[i][1]
                whole = [m.span() for m in pattern.finditer(text)] if "text" in rule.parts else []
                found = [(h.match_start, h.match_end) for h in eng.regex_hits(i, 0, "text", text, scan._places(0, text))] \
                    if i in sites else []
                assert found == whole, (rule.id, pattern.pattern[:60], text[:80])
