"""The Hyperscan prefilter finds what a whole scan finds: its image of a text, its translation of a regex into a
pattern matching at least as much, and the engine's windows built on the candidates it reports.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import hyperscan
import pytest
import regex

from extractors import multiscan, safe_regex
from extractors.engine import Engine
from extractors.multiscan import image, translate
from extractors.prefilter import Prefilter
from extractors.rules import load
from tests.tables import items_en, items_es, items_zh

RULESET = load()
DATE = dt.date(2025, 1, 15)
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev.jsonl"


def test_hyperscan_is_installed() -> None:
    assert multiscan.AVAILABLE, "the hyperscan package is missing: pip install -e . (or pip install 'hyperscan>=0.7,<0.10')"


IMAGES = [
    ("ascii", "Need 5 PCS", b"need 5 pcs"),
    ("accents", "Cámara É", b"c" + bytes([multiscan.image_byte("á")]) + b"mara " + bytes([multiscan.image_byte("é")])),
    ("han", "型号", bytes([multiscan.image_byte("型"), multiscan.image_byte("号")])),
    ("kelvin-sign", "\u212a", b"k"),  # lowercases to ASCII k, which the regex module folds it with
    ("long-s", "ſhip", None),  # matches "s" case-insensitively, lowercases to itself
    ("final-sigma", "ς", None),
    ("dotted-capital-i", "İ", None),  # lowercases to two characters: offsets would shift
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in IMAGES], ids=[c[0] for c in IMAGES])
def test_image(text: str, expected: bytes | None) -> None:
    assert image(text, text.lower()) == expected


# (pattern, case-insensitive, text the pattern matches): the translation reports a candidate ending where each
# match of the regex ends
TRANSLATIONS = [
    ("lookbehind", r"(?<![\w.])\d{1,3}\s?pcs\b", True, "We need 200 PCS."),
    ("unicode-property", r"\p{Lu}\p{Ll}+ GmbH", False, "Élan GmbH"),
    ("han-property", r"\p{Han}{2,4}公司", False, "宁波灯饰公司"),
    ("han-literals", r"交货期\s*[:：]?\s*\d+", False, "交货期：30天"),
    ("case-insensitive-accent", r"inspección", True, "INSPECCIÓN SGS"),
    ("scoped-case-flag", r"(?i:model)\s[A-Z]{2}-\d+", False, "MODEL LT-220"),
    ("negated-class", r"price[^.?!\n]{0,40}usd", True, "Price: about 5 ¥ or USD"),
    ("long-bounded-repeat", r"copy\s[\w.+-]{1,64}@\w+", True, "copy anna.berg.purchasing.department@example"),
    ("atomic-and-possessive", r"(?>\d+)x(?:hq)++", True, "2x40HQ is 2xhq"),
    ("lazy", r"trial\b[^.]{0,40}?\bthen\b", True, "trial order of 500 then 5000"),
    ("case-sensitive-upper", r"(?<![A-Za-z])T\s?/\s?T(?![A-Za-z])", False, "Pay by T/T."),
    ("wide-range", r"[\u4e00-\u9fff]{2}\d", False, "数量5"),
]


@pytest.mark.parametrize(("pattern", "ci", "text"), [c[1:] for c in TRANSLATIONS], ids=[c[0] for c in TRANSLATIONS])
def test_translation_reports_every_match_end(pattern: str, ci: bool, text: str) -> None:
    compiled = regex.compile(pattern, regex.V0 | (regex.I if ci else 0))
    translated = translate(compiled)
    assert translated is not None
    db = hyperscan.Database()
    db.compile(expressions=[translated[0]], ids=[0], elements=1, flags=[hyperscan.HS_FLAG_PREFILTER])
    ends: set[int] = set()
    db.scan(image(text, text.lower()), match_event_handler=lambda _i, _a, end, _f, _c: ends.add(end))
    expected = {m.end() for m in compiled.finditer(text)}
    assert expected and expected <= ends


@pytest.mark.parametrize("pattern", [r"(\w)\1", r"(a)?(?(1)b|c)"], ids=["backreference", "conditional"])
def test_untranslatable_regexes_keep_the_trigger_prefilter(pattern: str) -> None:
    assert translate(regex.compile(pattern)) is None


def _texts() -> list[str]:
    texts = [t for r in RULESET.all_rules() for t in r.ok + r.fail]
    texts += [case[0] for table in (items_en, items_es, items_zh) for case in table.CASES]
    if CORPUS.exists():
        texts += [json.loads(line).get("body", "") for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    rnd = random.Random(5)
    words = [w for t in texts for w in t.split()]
    extra = ["ſhip", "\u212aG", "İ", "ÉTÉ", "ς", "型号", "\u00a0", "–", "’", "×"]
    for _ in range(300):
        mixed = " ".join(rnd.choice(words if rnd.random() < 0.9 else extra) for _ in range(rnd.randint(3, 40)))
        texts.append("".join(c.upper() if rnd.random() < 0.2 else c for c in mixed))
    return texts


@pytest.mark.parametrize("use_multiscan", [True, False], ids=["hyperscan", "triggers"])
def test_windows_find_what_a_whole_scan_finds(use_multiscan: bool) -> None:
    engine = Engine(RULESET, multiscan=use_multiscan)
    texts = _texts()
    for lang, eng in engine.languages.items():
        for text in texts:
            plan = eng.prefilter.plan(text)
            for i, (rule, pattern) in enumerate(eng.regexes):
                whole = [m.span() for m in pattern.finditer(text)]
                found = safe_regex.finditer(pattern, text, plan.regions(i, len(text)), False) if i in plan.selected else []
                assert [m.span() for m in found] == whole, (lang, rule.id, text)


def test_hyperscan_stands_in_for_most_shipped_regexes() -> None:
    engine = Engine(RULESET)
    for lang, eng in engine.languages.items():
        scanner = eng.prefilter.multiscan
        assert scanner is not None, lang
        assert len(scanner.covered) >= 0.9 * len(eng.regexes), (lang, len(scanner.covered), len(eng.regexes))


def test_findings_are_the_same_with_and_without_hyperscan() -> None:
    fast, plain = Engine(RULESET), Engine(RULESET, multiscan=False)
    for lang, table in (("en", items_en), ("es", items_es), ("zh", items_zh)):
        for text, *_ in table.CASES:
            parts = {"text": text, "subject": text[:60]}
            a, b = fast.run(parts, lang, DATE), plain.run(parts, lang, DATE)
            assert (a.findings, a.signals, a.hits, a.rejected) == (b.findings, b.signals, b.hits, b.rejected), text


@pytest.mark.parametrize(("explicit", "selected"), [(frozenset({0}), False), (frozenset(), True)],
                         ids=["trigger-words-given", "derived"])
def test_trigger_words_given_in_a_rules_file_still_decide(explicit: frozenset[int], selected: bool) -> None:
    prefilter = Prefilter([("unrelated",)], [regex.compile(r"\d+ pcs", regex.I)], multiscan=True, explicit=explicit)
    assert (0 in prefilter.plan("We need 200 pcs.").selected) == selected


SAMPLE = "Quantity: 2,000 pcs. Packaging: colour box, 10 pcs per carton. Delivery within 45 days, FOB Ningbo. AQL 2.5"


def test_a_database_compiled_in_a_child_process_finds_what_one_compiled_here_finds() -> None:
    patterns = [p for _, p in Engine(RULESET, multiscan=False).languages["en"].regexes]
    entries = [(i, t[0]) for i, p in enumerate(patterns) if (t := translate(p)) is not None]
    flags = {i: hyperscan.HS_FLAG_PREFILTER for i, _ in entries}
    data = image(SAMPLE, SAMPLE.lower())
    assert data is not None
    found = []
    for compile_ in (multiscan._compile_apart, multiscan._compile):
        db, kept = compile_(entries, flags)
        ends: set[tuple[int, int]] = set()
        db.scan(data, match_event_handler=lambda i, _a, end, _f, ctx: ctx.add((i, end)), context=ends,
                scratch=hyperscan.Scratch(db))
        found.append((kept, ends))
    assert found[0] == found[1] and found[0][1]


def test_a_failed_compilation_leaves_every_regex_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(multiscan, "_compile", fail)  # the child process inherits it
    eng = Engine(RULESET).languages["en"]
    plan = eng.prefilter.plan(SAMPLE)
    assert eng.prefilter.multiscan is not None and eng.prefilter.multiscan.covered <= plan.selected
    for i, (_, pattern) in enumerate(eng.regexes):
        found = safe_regex.finditer(pattern, SAMPLE, plan.regions(i, len(SAMPLE)), False) if i in plan.selected else []
        assert [m.span() for m in found] == [m.span() for m in pattern.finditer(SAMPLE)]


def test_prepare_compiles_every_language_before_the_first_message() -> None:
    engine = Engine(RULESET)
    engine.prepare()
    assert all(eng.prefilter.multiscan is not None and eng.prefilter.multiscan._db not in (None, False)
               for eng in engine.languages.values())
