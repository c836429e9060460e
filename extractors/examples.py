"""Runs every rule's inline `ok` / `fail` examples: an ok example must fire the rule, a fail example must not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from extractors.engine import Engine
from extractors.rules import Rule, RuleSet, load

EXAMPLE_DATE = dt.date(2026, 11, 2)


def example_cases(ruleset: RuleSet) -> list[tuple[str, Rule, str, bool]]:
    """(language, rule, text, must_fire) for every inline example of every enabled rule."""
    cases = []
    for lang, rules in sorted(ruleset.rules.items()):
        for rule in rules:
            for text in rule.ok:
                cases.append((lang, rule, text, True))
            for text in rule.fail:
                cases.append((lang, rule, text, False))
    seen: set[tuple[str, str, bool]] = set()
    unique = []
    for lang, rule, text, must in cases:
        if (rule.id, text, must) in seen:
            continue
        seen.add((rule.id, text, must))
        unique.append((lang, rule, text, must))
    return unique


def fires(engine: Engine, lang: str, rule: Rule, text: str) -> bool:
    result = engine.run({"text": text, "subject": "", "form": "", "signature": text if "signature" in rule.parts and "text" not in rule.parts else ""}, lang, EXAMPLE_DATE)
    return any(f.rule == rule.id for f in result.hits)


def run_examples(overlay: Path | None = None) -> tuple[list[str], int]:
    ruleset = load(overlay=overlay)
    engine = Engine(ruleset)
    failures = []
    cases = example_cases(ruleset)
    for lang, rule, text, must in cases:
        if fires(engine, lang, rule, text) != must:
            kind = "ok example did not fire" if must else "fail example fired"
            failures.append(f"{rule.id} ({lang}): {kind}: {text!r}")
    return failures, len(cases)
