"""A long-running engine renews spaCy's vocabulary instead of keeping every word it has seen.

spaCy adds every new token to its vocabulary (and its tokenizer's cache) and never drops one; with real mail
(model codes, order numbers, names, addresses) that is unbounded growth over months. Past `vocab_growth` new
words a language's pipeline and matchers are built afresh; the findings must not change.
"""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest

from extractors.core.model import Finding, Signal
from extractors.engine import Engine
from extractors.rules import load
from tests.tables import items_en, items_es, items_zh

RULESET = load()
DATE = dt.date(2025, 1, 15)
GROWTH = 2_000
TABLES = {"en": items_en, "zh": items_zh, "es": items_es}


def _noise(rng: random.Random, words: int) -> str:
    """Words no vocabulary has seen, as in order numbers and model codes."""
    return " ".join("".join(rng.choices(string.ascii_lowercase + string.digits, k=9)) for _ in range(words))


def _findings(engine: Engine, lang: str, text: str) -> tuple[dict[str, Finding], tuple[Signal, ...]]:
    result = engine.run({"text": text}, lang, DATE)
    return dict(result.findings), result.signals


@pytest.mark.parametrize("lang", sorted(TABLES))
def test_vocabulary_stays_bounded(lang: str) -> None:
    engine = Engine(RULESET, vocab_growth=GROWTH)
    eng = engine.for_language(lang)
    rng = random.Random(7)
    for _ in range(40):  # 40 x 300 new words: six renewals' worth
        engine.run({"text": "We need 2000 pcs. " + _noise(rng, 300)}, lang, DATE)
    assert len(eng.nlp.vocab) - eng.tokens.base <= GROWTH


@pytest.fixture(scope="module")
def fresh() -> Engine:
    return Engine(RULESET)


@pytest.mark.parametrize("lang", sorted(TABLES))
def test_findings_unchanged_after_renewal(fresh: Engine, lang: str) -> None:
    renewing = Engine(RULESET, vocab_growth=GROWTH)
    rng = random.Random(11)
    texts = [case[0] for case in TABLES[lang].CASES + TABLES[lang].SIGNALS]
    for i, text in enumerate(texts):  # every table case, against a never-renewed engine, renewing every 40 cases
        if i % 40 == 0:
            renewing.run({"text": _noise(rng, GROWTH + 1)}, lang, DATE)
        assert _findings(renewing, lang, text) == _findings(fresh, lang, text), text
