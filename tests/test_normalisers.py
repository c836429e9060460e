"""The value normalisers: evidence -> the value stored in the checklist (tables in tests/tables/normalisers.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from extractors.engine import Engine
from extractors.normalise import Context, duration, incoterm, money, payment, quantity
from extractors.rules import load
from tests.tables import normalisers as t

DATE = dt.date(2026, 11, 2)
ENGINES = Engine(load())


def _ctx(lang: str = "en") -> Context:
    """The context a language's engine hands over: its month names (CLDR) among others."""
    eng = ENGINES.for_language(lang)
    return Context(date=DATE, language=eng.lang, canonical=eng.canonical, months=eng.months)


@pytest.mark.parametrize(("text", "value"), t.QUANTITIES, ids=[c[0] for c in t.QUANTITIES])
def test_quantity(text: str, value: Any) -> None:
    assert quantity(text, _ctx()) == value


@pytest.mark.parametrize(("text", "value"), t.DURATIONS, ids=[c[0] for c in t.DURATIONS])
def test_duration(text: str, value: Any) -> None:
    assert duration(text, _ctx()) == value


@pytest.mark.parametrize(("text", "lang", "value"), t.DATES, ids=[c[0] for c in t.DATES])
def test_date(text: str, lang: str, value: Any) -> None:
    assert duration(text, _ctx(lang)) == value


@pytest.mark.parametrize(("text", "value"), t.MONEY, ids=[c[0] for c in t.MONEY])
def test_money(text: str, value: Any) -> None:
    assert money(text, _ctx()) == value


@pytest.mark.parametrize(("text", "value"), t.PAYMENTS, ids=[c[0] for c in t.PAYMENTS])
def test_payment_and_percent_split(text: str, value: Any) -> None:
    assert payment(text, _ctx()) == value


@pytest.mark.parametrize(("text", "value"), t.INCOTERMS, ids=[c[0] for c in t.INCOTERMS])
def test_incoterm(text: str, value: Any) -> None:
    assert incoterm(text, _ctx()) == value
