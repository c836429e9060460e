"""Extraction tables per language: every item and signal, at least 15 cases each, about half near-misses."""

from __future__ import annotations

import datetime as dt

import pytest

from extractors.engine import Engine, Result
from extractors.rules import load
from tests.tables import items_en, items_es, items_zh

DATE = dt.date(2025, 1, 15)
TABLES = {"en": items_en, "zh": items_zh, "es": items_es}
ITEM_CASES = [(lang, *case) for lang, table in TABLES.items() for case in table.CASES]
SIGNAL_CASES = [(lang, *case) for lang, table in TABLES.items() for case in table.SIGNALS]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def _run(engine: Engine, lang: str, text: str) -> Result:
    return engine.run({"text": text}, lang, DATE)


def _ids(cases: list[tuple[str, str, str, bool]]) -> list[str]:
    return [f"{lang}-{what}-{i}" for i, (lang, _, what, _) in enumerate(cases)]


@pytest.mark.parametrize(("lang", "text", "item", "expected"), ITEM_CASES, ids=_ids(ITEM_CASES))
def test_item(engine: Engine, lang: str, text: str, item: str, expected: bool) -> None:
    found = _run(engine, lang, text).findings.get(item)
    assert (found is not None) == expected, f"{item} on {text!r}: {found}"


@pytest.mark.parametrize(("lang", "text", "signal", "expected"), SIGNAL_CASES, ids=_ids(SIGNAL_CASES))
def test_signal(engine: Engine, lang: str, text: str, signal: str, expected: bool) -> None:
    names = {s.name for s in _run(engine, lang, text).signals}
    assert (signal in names) == expected, f"{signal} on {text!r}: {sorted(names)}"
