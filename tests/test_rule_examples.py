"""Every rule's inline `ok` / `fail` examples, run through the engine (SpamAssassin's `test RULE ok|fail`).

An `ok` example must make the rule itself produce its item or signal (a sub-rule: a hit); a `fail` example must
not produce an accepted hit of that rule. A rule in `shared/` is checked in the language of each example (as its
mail is read), each example as the part the rule reads (see `extractors.examples`).
"""

from __future__ import annotations

import datetime as dt

import pytest

from daemon.parse.language import detect
from extractors.engine import Engine
from extractors.examples import example_language, fires
from extractors.rules import load

RULESET = load()
DATE = dt.date(2025, 1, 15)


def _cases() -> list[tuple[str, str, str, int, str, bool]]:
    cases = []
    seen: set[str] = set()
    for lang in sorted(RULESET.rules, key=lambda lang: (lang != "en", lang)):
        for rule in RULESET.rules[lang]:
            if rule.id in seen:
                continue
            seen.add(rule.id)
            for kind, texts, must in (("ok", rule.ok, True), ("fail", rule.fail, False)):
                cases += [(example_language(RULESET, lang, rule, text, _detect), rule.id, kind, i, text, must)
                          for i, text in enumerate(texts)]
    return cases


def _detect(text: str) -> str:
    return detect(text)[0]


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
