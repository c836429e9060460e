"""Runs every rule's inline `ok` / `fail` examples: an ok example must fire the rule, a fail example must not.

An example is read as the part the rule reads (`text` when it reads it, else its first part). A rule fires on an
example when it makes an accepted hit; a sub-rule fires when it has a hit at all (it feeds nothing to check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from extractors.engine import Engine, Scan
from extractors.rules import Rule, RuleSet, load

EXAMPLE_DATE = dt.date(2026, 11, 2)


def example_cases(ruleset: RuleSet, detect: Callable[[str], str] | None = None) -> list[tuple[str, Rule, str, bool]]:
    """(language, rule, text, must_fire) for every inline example of every enabled rule, once per rule: a rule
    of a language in that language; a shared rule's example in the language `detect` finds in it, as its mail
    is read ("请报CIF汉堡价格" by the Chinese rules; "Цена CIF Москва" by the English ones while Russian has none)."""
    cases = []
    seen: set[str] = set()
    order = sorted(ruleset.rules, key=lambda lang: (lang != "en", lang))
    for lang in order:
        for rule in ruleset.rules[lang]:
            if rule.id in seen:
                continue
            seen.add(rule.id)
            for texts, must in ((rule.ok, True), (rule.fail, False)):
                for text in texts:
                    cases.append((example_language(ruleset, lang, rule, text, detect), rule, text, must))
    return cases


def example_language(ruleset: RuleSet, lang: str, rule: Rule, text: str, detect: Callable[[str], str] | None) -> str:
    """The language an example runs in (see `example_cases`)."""
    if rule.id not in ruleset.shared or detect is None:
        return lang
    found = detect(text)  # a language without rules of its own is read by the English ones, as its mail is
    return found if found in ruleset.rules and ruleset.rule(rule.id, found) is not None else "en"


def example_parts(rule: Rule, text: str) -> dict[str, str]:
    """The parts of a message holding only the example, in the part the rule reads."""
    return {"text" if "text" in rule.parts else rule.parts[0]: text}


def fires(engine: Engine, lang: str, rule: Rule, text: str, date: dt.date = EXAMPLE_DATE) -> bool:
    parts = example_parts(rule, text)
    if rule.is_sub_rule:
        eng = engine.for_language(lang)
        return bool(Scan(eng, parts).rule_hits(eng.compiled[rule.id]))
    result = engine.run(parts, lang, date)
    return any(f.rule == rule.id for f in result.hits)


def run_examples(overlay: Path | None = None, detect: Callable[[str], str] | None = None) -> tuple[list[str], int]:
    """The failures of every example and how many there are; `detect` gives the language of a shared rule's
    example (the parse stage's language detection)."""
    ruleset = load(overlay=overlay)
    engine = Engine(ruleset)
    failures = []
    cases = example_cases(ruleset, detect)
    for lang, rule, text, must in cases:
        if fires(engine, lang, rule, text) != must:
            kind = "ok example did not fire" if must else "fail example fired"
            failures.append(f"{rule.id} ({lang}): {kind}: {text!r}")
    return failures, len(cases)
