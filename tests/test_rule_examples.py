"""Every rule's inline `ok` / `fail` examples, run through the engine (SpamAssassin's `test RULE ok|fail`).

An `ok` example must make the rule itself produce its item or signal (a sub-rule: a hit); a `fail` example must
not produce an accepted hit of that rule. Rules in `shared/` are checked with the English grammar, each example
as the part the rule reads (see `extractors.examples`).
"""

from __future__ import annotations

import datetime as dt

import pytest

from extractors.engine import Engine
from extractors.examples import fires
from extractors.rules import load

RULESET = load()
DATE = dt.date(2025, 1, 15)


def _cases() -> list[tuple[str, str, str, int, str, bool]]:
    shared = {r.id for r in RULESET.rules.get("en", [])} & {r.id for r in RULESET.rules.get("zh", [])}
    cases = []
    seen: set[str] = set()
    for lang in sorted(RULESET.rules):
        for rule in RULESET.rules[lang]:
            if rule.id in seen or (rule.id in shared and lang != "en"):
                continue
            seen.add(rule.id)
            cases += [(lang, rule.id, "ok", i, text, True) for i, text in enumerate(rule.ok)]
            cases += [(lang, rule.id, "fail", i, text, False) for i, text in enumerate(rule.fail)]
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(RULESET)


def test_every_rule_has_examples() -> None:
    thin = [r.id for r in RULESET.all_rules() if len(r.ok) < 2 or len(r.fail) < 2]
    assert not thin, f"rules with fewer than 2 ok or 2 fail examples: {thin}"


@pytest.mark.parametrize(
    ("lang", "rule_id", "kind", "index", "text", "expect"),
    CASES,
    ids=[f"{c[1]}-{c[2]}{c[3]}" for c in CASES],
)
def test_rule_example(engine: Engine, lang: str, rule_id: str, kind: str, index: int, text: str, expect: bool) -> None:
    rule = RULESET.rule(rule_id, lang)
    assert rule is not None
    assert fires(engine, lang, rule, text, DATE) is expect, (
        f"{rule_id} {'did not fire' if expect else 'fired'} on {text!r}; "
        f"rejected: {[r for r in engine.run({'text': text}, lang, DATE).rejected if r[0] == rule_id]}")
