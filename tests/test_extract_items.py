"""Extraction tables per language: every item and signal, at least 15 cases each, about half near-misses. An item
case gives the value the checklist must hold (its normalised form), or False when nothing may be found."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from extractors.engine import Engine, Result
from extractors.rules import load
from tests.tables import items_ar, items_de, items_en, items_es, items_ru, items_tr, items_zh

DATE = dt.date(2025, 1, 15)
TABLES = {"en": items_en, "zh": items_zh, "es": items_es, "de": items_de, "ru": items_ru, "tr": items_tr, "ar": items_ar}
ITEM_CASES = [(lang, *case) for lang, table in TABLES.items() for case in table.CASES]
SIGNAL_CASES = [(lang, *case) for lang, table in TABLES.items() for case in table.SIGNALS]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def _run(engine: Engine, lang: str, text: str) -> Result:
    return engine.run({"text": text}, lang, DATE)


def _ids(cases: list[tuple[str, str, str, Any]]) -> list[str]:
    return [f"{lang}-{what}-{i}" for i, (lang, _, what, _) in enumerate(cases)]


def test_tables_state_values() -> None:
    assert all(expected is False or not isinstance(expected, bool) for *_, expected in ITEM_CASES)


@pytest.mark.parametrize(("lang", "text", "item", "expected"), ITEM_CASES, ids=_ids(ITEM_CASES))
def test_item(engine: Engine, lang: str, text: str, item: str, expected: Any) -> None:
    found = _run(engine, lang, text).findings.get(item)
    if expected is False:
        assert found is None, f"{item} on {text!r}: {found}"
    else:
        assert found is not None and found.value == expected, f"{item} on {text!r}: {found}"


@pytest.mark.parametrize(("lang", "text", "signal", "expected"), SIGNAL_CASES, ids=_ids(SIGNAL_CASES))
def test_signal(engine: Engine, lang: str, text: str, signal: str, expected: bool) -> None:
    names = {s.name for s in _run(engine, lang, text).signals}
    assert (signal in names) == expected, f"{signal} on {text!r}: {sorted(names)}"
