"""Value normalisers: evidence text -> a structured value, or None when the text is not concrete enough.

The patterns here read short evidence strings, where the stdlib `re` answers in about half the time of the
`regex` module; only the Incoterm place needs `regex` (Unicode letter classes).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import regex

from extractors import calendar

_NUM = r"\d{1,3}(?:[,.\s]\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?"
NUMBER = re.compile(rf"(?P<num>{_NUM})\s*(?P<mult>[kK](?![a-zA-Z])|万|千|百|thousand|million|mil(?![a-z]))?")
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_MULT = {"k": 1000, "K": 1000, "万": 10000, "千": 1000, "百": 100, "thousand": 1000, "million": 1_000_000, "mil": 1000}
CONTAINER = re.compile(
    r"(?P<n>\d{1,3})\s*[x×*]\s*(?P<size>20|40|45)\s*['’′]?\s*(?P<kind>HQ|HC|GP|STD|DV|FT|FCL|RH)?", re.I
)
# Counts written as words ("two units", "a dozen", "one or two"): the first one read is the amount
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                "fifty": 50, "hundred": 100, "a hundred": 100, "a dozen": 12, "a couple": 2, "a pair": 2, "a few": 3}
_NUMBER_WORD = re.compile(r"\b(?P<word>a (?:hundred|dozen|couple|pair|few)|" + "|".join(w for w in NUMBER_WORDS if " " not in w) + r")\b", re.I)
_TIMES = re.compile(r"^\s?[x×](?=\s)")
_NOT_UNIT_WORDS = {"of", "or", "and", "to", "more"}
_UNIT_WORDS = re.compile(r"(?P<unit>[^\W\d_][\w/().-]{0,20})", re.U)
CURRENCIES = {
    "usd": "USD", "us$": "USD", "$": "USD", "dollar": "USD", "dollars": "USD", "dólares": "USD", "dolares": "USD",
    "美元": "USD", "美金": "USD",
    "eur": "EUR", "€": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR",
    "gbp": "GBP", "£": "GBP", "rmb": "CNY", "cny": "CNY", "¥": "CNY", "元": "CNY", "人民币": "CNY",
    "r$": "BRL", "aud": "AUD", "cad": "CAD", "jpy": "JPY", "inr": "INR", "aed": "AED", "brl": "BRL", "mxn": "MXN",
    "clp": "CLP", "ars": "ARS", "cop": "COP", "pen": "PEN", "ngn": "NGN", "zar": "ZAR", "rub": "RUB",
}
_CURRENCY = re.compile(
    r"(?P<cur>US\$|R\$|USD|EUR|GBP|RMB|CNY|AUD|CAD|JPY|INR|AED|BRL|MXN|CLP|ARS|COP|PEN|NGN|ZAR|RUB|[$€£¥]|dollars?|d[oó]lares|euros?|美元|美金|欧元|人民币|元)",
    re.I,
)
# Currencies written in Russian, Turkish and Arabic words (руб., рублей, евро, lira, TL, دولار): a stem and its code
_CURRENCY_WORDS = (("руб", "RUB"), ("₽", "RUB"), ("доллар", "USD"), ("евро", "EUR"), ("юан", "CNY"), ("тенге", "KZT"),
                   ("₺", "TRY"), ("tl", "TRY"), ("try", "TRY"), ("lira", "TRY"), ("dolar", "USD"), ("avro", "EUR"), ("دولار", "USD"), ("يورو", "EUR"),
                   ("ريال", "SAR"), ("درهم", "AED"), ("جنيه", "EGP"))
_CURRENCY_WORD = re.compile(r"(?<![^\W\d_])(?:руб|₽|доллар|евро|юан|тенге|₺|TL(?![^\W\d_])|TRY(?![^\W\d_])|lira|dolar|avro|دولار|يورو|ريال|درهم|جنيه)", re.I)
# Units of German, Russian, Turkish and Arabic durations: a word's stem and its days
_OTHER_UNITS = (
    ("werktag", 1.4), ("arbeitstag", 1.4), ("tag", 1), ("woche", 7), ("monat", 30),
    ("рабочих дн", 1.4), ("дн", 1), ("день", 1), ("недел", 7), ("месяц", 30),
    ("iş gün", 1.4), ("gün", 1), ("hafta", 7), ("ay(?![^\\W\\d_])", 30),
    ("يوم عمل", 1.4), ("أيام عمل", 1.4), ("يوم", 1), ("أيام", 1), ("أسبوع", 7), ("أسابيع", 7), ("شهر", 30), ("أشهر", 30),
)
_DURATION = re.compile(
    r"(?P<a>\d{1,3})(?:\s*(?:-|~|–|to|a|à|bis|до|ila|至|到)\s*(?P<b>\d{1,3}))?\s*"
    r"(?P<unit>working days?|business days?|days?|weeks?|months?|wks?|d[ií]as?(?:\s(?:h[aá]biles|[úu]teis))?|semanas?|"
    r"mes(?:es)?|m[eê]s|jours?(?:\souvr(?:[ée]s|ables))?|semaines?|mois|giorni(?:\slavorativi)?|settimane|mes[ei]|"
    r"个工作日|工作日|天|日|周|星期|个月|"
    + "|".join(stem for stem, _ in _OTHER_UNITS) + ")",
    re.I,
)
_DAYS_PER = {"d": 1, "j": 1, "g": 1, "w": 7, "m": 30, "天": 1, "日": 1, "周": 7, "星": 7, "个": 30, "月": 30, "s": 7}
_WORKING = re.compile(r"working|business|h[aá]biles|[úu]teis|ouvr|lavorativ|工作日", re.I)
_DATE_DMY = re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th|er|º|\.)?\s*(?:of\s+|de\s+)?(?P<m>[^\W\d_]{3,10})\.?(?:\s*,?\s*(?:de\s+)?(?P<y>\d{4}))?", re.I)
_DATE_MDY = re.compile(r"(?P<m>[A-Za-z]{3,10})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:\s*,?\s*(?P<y>\d{4}))?", re.I)
_DATE_MONTH_PART = re.compile(
    r"(?P<part>end|beginning|start|middle|mid|early|late|fin(?:ales|ais|al|e)?|principios|mediados|d[ée]but|milieu|mi|"
    r"in[ií]cio|meados|inizio|met[àa]|ende|anfang|mitte|beginn"
    r"|конц[аеу]|конец|середин[аеуы]|начал[аеоу]|نهاية|منتصف|بداية|أوائل|أواخر)\s*(?:of\s+|de\s+|d'|di\s+|-\s*)?(?P<m>[^\W\d_]{3,10})",
    re.I,
)
_DATE_ZH = re.compile(r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2}|[一二三四五六七八九十]{1,2})月(?:(?P<d>\d{1,2})[日号]|(?P<part>底|末|初|中|中旬|下旬|上旬))?")
_DATE_ISO = re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})")
# A numeric date with the year last (15/03/2026, 15.03.26): day first, unless the second number cannot be a month
_DATE_NUMERIC = re.compile(r"(?<![\d/.])(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4}|\d{2})(?![\d/]|\.\d)")
# A date said relative to today (this summer, next month, end of this month, Q3, before Christmas)
_DATE_RELATIVE = re.compile(
    r"\b(?:(?P<which>this|next|the\scoming|coming)\s+(?:(?P<season>spring|summer|autumn|fall|winter)|(?P<span>week|month|year))"
    r"|(?:by|before|in|until)\s+(?P<season2>spring|summer|autumn|winter)"
    r"|(?P<q>Q[1-4])|(?P<xmas>christmas))\b",
    re.I,
)
_SEASON_END = {"spring": (5, 31), "summer": (8, 31), "autumn": (11, 30), "fall": (11, 30), "winter": (2, 28)}
_DATE_DOTTED = re.compile(r"(?<![\d.,])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})?(?![\d,])")  # 15.03.2026, 15.03.
_CALENDAR_WEEK = re.compile(r"\b(?:KW|Kalenderwoche)\s?(?P<w>\d{1,2})(?:\s?[/.]\s?(?P<y>\d{4}|\d{2}))?(?!\d)", re.I)  # KW 20
_MONTH_THEN_PART = re.compile(r"(?P<m>[^\W\d_]{3,10})\s+(?P<part>sonu|sonuna|ortası|ortasına|başı|başına)", re.I)  # Mart sonu
_PERCENT = re.compile(r"(?P<p>\d{1,3})\s*%|%\s?(?P<q>\d{1,3})")  # 30% / %30 (Turkish)
# EXW in words: "puesto en fábrica", "ex fábrica", "départ usine", "franco fabbrica", "posto na fábrica"
_EX_WORKS = re.compile(r"puesto\s+en\s+f[aá]brica|ex\s?-?f[aá]brica|d[ée]part\s+usine|franco\s+fabbrica|posto\s+na\s+f[aá]brica|ex\s?works", re.I)
_INCOTERMS = ("EXW", "FCA", "FAS", "FOB", "CFR", "CNF", "C&F", "CIF", "CPT", "CIP", "DAP", "DPU", "DDP", "DAT", "DDU", "DES", "DEQ", "DAF")
_INCOTERM = regex.compile(r"(?<![A-Za-z])(?P<t>" + "|".join(regex.escape(t) for t in _INCOTERMS) + r")(?![A-Za-z])(?:\s*(?:price|prices|terms?)\b)?\s*(?:to\s+|in\s+|at\s+|port\s+(?:of\s+)?|,\s*)?(?-i:(?P<place>\p{Lu}[\p{L}\-]+(?:\s+\p{Lu}[\p{L}\-]+)?|\p{Han}{2,4}))?", regex.I)

# precompiled here: a pattern string passed to re.search() is looked up in a cache on every call
_ZH_DIGITS = re.compile(r"[一二两三四五六七八九十]+(?=万|千|百)?")
_GROUPED = re.compile(r"\d{1,3}(?:[,.]\d{3})+")
_RANGE_SEP = re.compile(r"-|~|to|–|至|到|bis|до|ila")
_PER_UNIT = re.compile(r"/\s*(?:pc|pcs|piece|unit|set|pair|kg|ton|m|meter|each|pièce|unité|peça|unidade|pezzo)|per\s+\w+|each|单价|/个|/件|/套|"
                       r"por\s+unidad|c/u|par\s+(?:pièce|unité|paire)|l[’']unité|unitaire|por\s+(?:unidade|peça)|cada|al\s+pezzo|cad\.", re.I)
_PER_TOTAL = re.compile(r"budget|total|presupuesto|orçamento|budget|预算|总", re.I)
_ZH_TENTHS = re.compile(r"([\d一二三四五六七八九])\s*成")
_DIGIT = re.compile(r"\d")
_PAYMENT_METHODS = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("T/T", r"\bT\s*/\s*T\b|\bTT\b|telegraphic|wire transfer|bank transfer|电汇|transferencia"),
        ("L/C", r"\bL\s*/\s*C\b|\bLC\b|letter of credit|信用证|carta de cr[eé]dito"),
        ("D/P", r"\bD\s*/\s*P\b"),
        ("D/A", r"\bD\s*/\s*A\b"),
        ("PayPal", r"paypal"),
        ("Western Union", r"western union|西联"),
        ("credit card", r"credit card|visa|master\s*card|tarjeta"),
        ("O/A", r"\bO\s*/\s*A\b|open account|net\s*\d+"),
    )
)


@dataclass(frozen=True)
class Context:
    """What normalisers may need besides the evidence."""

    date: dt.date = field(default_factory=dt.date.today)
    language: str = "en"
    canonical: Mapping[str, str] = field(default_factory=dict)
    months: Mapping[str, int] = field(default_factory=dict)  # month name -> number (default: English)


def parse_number(text: str) -> float | None:
    m = NUMBER.search(text)
    if m is None:
        zh = _ZH_DIGITS.search(text)
        if zh and zh.group() in _CN_DIGITS:
            return float(_CN_DIGITS[zh.group()])
        return None
    raw = m.group("num").replace(" ", "")
    if _GROUPED.fullmatch(raw):
        value = float(raw.replace(",", "").replace(".", ""))
    else:
        value = float(raw.replace(",", "."))
    mult = m.group("mult")
    if mult:
        value *= _MULT.get(mult, _MULT.get(mult.lower(), 1))
    return value


_ZH_AMOUNT = re.compile(r"[一二两三四五六七八九十百千万]{1,8}")


def _zh_amount(s: str) -> int:
    """A Chinese numeral such as 两, 十二, 三千五百, 两万 -> its value (0 when it is not one)."""
    total, section, digit = 0, 0, 0
    for ch in s:
        if ch in _CN_DIGITS and ch != "十":
            digit = _CN_DIGITS[ch]
        elif ch in ("十", "百", "千"):
            section += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
    return total + section + digit


def _int_or_float(v: float) -> int | float:
    return int(v) if v == int(v) else v


def quantity(text: str, ctx: Context) -> dict[str, Any] | None:
    c = CONTAINER.search(text)
    if c:
        kind = (c.group("kind") or "").upper()
        return {"amount": int(c.group("n")), "unit": f"{c.group('size')}{kind or 'FT'}", "container": True}
    numbers = list(NUMBER.finditer(text))
    if (w := _NUMBER_WORD.search(text)) and (not numbers or (w.start() == 0 and w.end() <= numbers[0].start())):
        unit_m = _UNIT_WORDS.search(text[w.end() :])
        unit = unit_m.group("unit") if unit_m else ""  # a lowercase word: a name ("two Radxa CM3") is no unit
        return {"amount": NUMBER_WORDS[w.group("word").lower()], "unit": "" if unit in _NOT_UNIT_WORDS or not unit.islower() else unit}
    if not numbers:
        zh = _ZH_AMOUNT.search(text)
        if zh is None or not (amount := _zh_amount(zh.group())):
            return None
        unit_m = _UNIT_WORDS.search(text[zh.end() :])
        return {"amount": amount, "unit": unit_m.group("unit").lower() if unit_m else ""}
    first = parse_number(numbers[0].group())
    if first is None or first <= 0:
        return None
    tail = _TIMES.sub("", text[numbers[-1].end() :], count=1)  # "3 x soldered pcb", "3x BSH Board": the thing
    unit_m = _UNIT_WORDS.search(tail)
    unit = unit_m.group("unit").lower() if unit_m else ""
    value: dict[str, Any] = {"amount": _int_or_float(first), "unit": unit}
    if len(numbers) >= 2 and _RANGE_SEP.search(text[numbers[0].end() : numbers[1].start()]):
        second = parse_number(numbers[1].group())
        if second is not None and second > first:
            value = {"min": _int_or_float(first), "max": _int_or_float(second), "amount": _int_or_float(second), "unit": unit}
    return value


def _month(word: str, ctx: Context) -> int | None:
    """The month a word names in the message's language or in English (CLDR names: wide, abbreviated, or the
    first three letters or more of a wide name, e.g. "Sept", "septiem")."""
    w = word.lower().rstrip(".")
    months = ctx.months or _english_months()
    if w in months:
        return months[w]
    if len(w) >= 3:
        for name, number in months.items():
            if name.startswith(w):
                return number
    return None


@functools.lru_cache(maxsize=1)
def _english_months() -> dict[str, int]:
    return {w: n for kind in ("months", "months_abbr") for loc in ("en", "en_GB") for w, n in calendar.month_names(loc, kind)}


def _zh_num(s: str) -> int:
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_DIGITS.get(s[1:], 0)
    if s.endswith("十"):
        return _CN_DIGITS.get(s[0], 0) * 10
    if "十" in s:
        a, b = s.split("十", 1)
        return _CN_DIGITS.get(a, 0) * 10 + _CN_DIGITS.get(b, 0)
    return _CN_DIGITS.get(s, 0)


def _future(year: int | None, month: int, day: int, ref: dt.date) -> dt.date | None:
    try:
        d = dt.date(year or ref.year, month, day)
    except ValueError:
        return None
    if year is None and d < ref - dt.timedelta(days=31):
        d = d.replace(year=d.year + 1)
    return d


def _month_end(year: int, month: int) -> int:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def _month_part(part: str) -> str:
    p = part.lower()
    if p in ("end", "late", "fin", "finales", "finais", "final", "fine", "底", "末", "下旬", "ende", "sonu", "sonuna", "نهاية",
             "أواخر") or p.startswith("кон"):
        return "end"
    if p in ("middle", "mid", "mediados", "mi", "milieu", "meados", "metà", "meta", "中", "中旬", "mitte", "ortası", "ortasına",
             "منتصف") or p.startswith("серед"):
        return "mid"
    return "start"


def _date_of(text: str, ctx: Context) -> dt.date | None:
    ref = ctx.date
    if m := _DATE_ISO.search(text):
        return _future(int(m["y"]), int(m["m"]), int(m["d"]), ref)
    if m := _DATE_ZH.search(text):
        month = _zh_num(m["m"])
        if not 1 <= month <= 12:
            return None
        year = int(m["y"]) if m["y"] else None
        if m["d"]:
            return _future(year, month, int(m["d"]), ref)
        part = _month_part(m["part"] or "end")
        y = year or (ref.year if month >= ref.month else ref.year + 1)
        day = {"end": _month_end(y, month), "mid": 15, "start": 10}[part]
        return _future(y, month, day, ref)
    if m := _CALENDAR_WEEK.search(text):  # German calendar week: its Friday
        week = int(m["w"])
        year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0) if m["y"] else ref.year
        if not m["y"] and week < ref.isocalendar()[1]:
            year += 1
        try:
            return dt.date.fromisocalendar(year, week, 5)
        except ValueError:
            return None
    if m := _DATE_NUMERIC.search(text):
        first, second, y = int(m["a"]), int(m["b"]), int(m["y"])
        day, month = (second, first) if second > 12 >= first else (first, second)
        if 1 <= month <= 12 and 1 <= day <= 31:
            return _future(y + 2000 if y < 100 else y, month, day, ref)
    if m := _DATE_DOTTED.search(text):  # without its year: 15.03.
        year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0) if m["y"] else None
        if 1 <= int(m["m"]) <= 12:
            return _future(year, int(m["m"]), int(m["d"]), ref)
    if m := _DATE_RELATIVE.search(text):
        return _relative(m, ref)
    for m in (_DATE_MONTH_PART.search(text), _MONTH_THEN_PART.search(text)):
        part_month = _month(m["m"], ctx) if m else None
        if m is not None and part_month:
            y = ref.year if part_month >= ref.month else ref.year + 1
            day = {"end": _month_end(y, part_month), "mid": 15, "start": 10}[_month_part(m["part"])]
            return _future(y, part_month, day, ref)
    for pat in (_DATE_DMY, _DATE_MDY):
        for m in pat.finditer(text):
            day_month = _month(m["m"], ctx)
            if day_month and 1 <= int(m["d"]) <= 31:
                return _future(int(m["y"]) if m["y"] else None, day_month, int(m["d"]), ref)
    return None


def _relative(m: re.Match[str], ref: dt.date) -> dt.date | None:
    """The last day a relative date allows: a season's end (northern), the end of this or next week, month or
    year, a quarter's end, Christmas Eve."""
    if m["xmas"]:
        return _future(None, 12, 24, ref)
    if m["q"]:
        month = int(m["q"][1]) * 3
        return _future(None, month, _month_end(ref.year, month), ref)
    later = bool(m["which"]) and m["which"].lower() != "this"
    if season := (m["season"] or m["season2"] or "").lower():
        month, day = _SEASON_END[season]
        year = ref.year + (1 if later or (month, day) < (ref.month, ref.day) else 0)
        return dt.date(year, month, day)
    span = (m["span"] or "").lower()
    if span == "week":
        return ref + dt.timedelta(days=(6 - ref.weekday()) + (7 if later else 0))
    if span == "month":
        y, mo = (ref.year + (ref.month == 12), ref.month % 12 + 1) if later else (ref.year, ref.month)
        return dt.date(y, mo, _month_end(y, mo))
    if span == "year":
        return dt.date(ref.year + (1 if later else 0), 12, 31)
    return None


def duration(text: str, ctx: Context) -> dict[str, Any] | None:
    """A lead time: {"days": n} (upper bound, with "days_min" for a range) or {"date": "YYYY-MM-DD", "days": n}.
    A date with its month written as a number (2026-05-10, 3月15日) is read as a date before "15日" can be
    read as a number of days."""
    if _DATE_ISO.search(text) or _DATE_ZH.search(text):
        d = _date_of(text, ctx)
        if d is not None:
            return {"date": d.isoformat(), "days": (d - ctx.date).days}
    if m := _DURATION.search(text):
        unit = m["unit"].lower()
        other = next((days for stem, days in _OTHER_UNITS if unit.startswith(stem.split("(")[0])), None)
        per: float = (other if other is not None else
                      30 if unit.startswith(("month", "mes", "mês", "mois")) or unit == "个月" else _DAYS_PER.get(unit[0], 1))
        if _WORKING.search(unit):
            per = 1.4
        a = int(m["a"])
        b = int(m["b"]) if m["b"] else None
        if a == 0 or (b is not None and b < a):
            return None
        value: dict[str, Any] = {"days": round((b or a) * per)}
        if b is not None:
            value["days_min"] = round(a * per)
        return value
    d = _date_of(text, ctx)
    if d is None:
        return None
    return {"date": d.isoformat(), "days": (d - ctx.date).days}


def money(text: str, ctx: Context) -> dict[str, Any] | None:
    cur = _CURRENCY.search(text)
    numbers = [m for m in NUMBER.finditer(text)]
    if not numbers:
        return None
    amount = parse_number(numbers[0].group())
    if amount is None or amount <= 0:
        return None
    value: dict[str, Any] = {"amount": _int_or_float(amount)}
    if cur:
        key = cur.group("cur").lower()
        value["currency"] = CURRENCIES.get(key, key.upper())
    elif word := _CURRENCY_WORD.search(text):
        value["currency"] = next(code for stem, code in _CURRENCY_WORDS if word.group().lower().startswith(stem))
    if len(numbers) >= 2 and _RANGE_SEP.search(text[numbers[0].end() : numbers[1].start()]):
        high = parse_number(numbers[1].group())
        if high and high > amount:
            value = {**value, "min": _int_or_float(amount), "max": _int_or_float(high)}
    if _PER_UNIT.search(text):
        value["per"] = "unit"
    elif _PER_TOTAL.search(text):
        value["per"] = "total"
    return value


def incoterm(text: str, ctx: Context) -> dict[str, Any] | None:
    m = _INCOTERM.search(text)
    if not m:
        return {"term": "EXW"} if _EX_WORKS.search(text) else None
    term = m["t"].upper().replace("CNF", "CFR").replace("C&F", "CFR")
    value: dict[str, Any] = {"term": term}
    place = m["place"]
    if place and place.lower() not in ("price", "prices", "term", "terms", "basis", "and", "or", "please", "quote"):
        value["place"] = place.strip()
    return value


def payment(text: str, ctx: Context) -> dict[str, Any] | None:
    value: dict[str, Any] = {"terms": text.strip()}
    methods = []
    for name, pat in _PAYMENT_METHODS:
        if pat.search(text):
            methods.append(name)
    if methods:
        value["methods"] = methods
    if pct := _PERCENT.search(text):
        p = int(pct["p"] or pct["q"])
        if 0 < p <= 100:
            value["deposit_pct"] = p
    elif m := _ZH_TENTHS.search(text):
        tenths = m.group(1)
        value["deposit_pct"] = (int(tenths) if tenths.isdigit() else _CN_DIGITS[tenths]) * 10
    if "methods" not in value and "deposit_pct" not in value and not _DIGIT.search(text):
        return None if len(text.strip()) < 3 else value
    return value


def certification(text: str, ctx: Context) -> str | None:
    key = text.strip().strip(".,;:").lower()
    return ctx.canonical.get(key, text.strip().strip(".,;:"))


def term(text: str, ctx: Context) -> str | None:
    key = text.strip().lower()
    return ctx.canonical.get(key, text.strip())


def place(text: str, ctx: Context) -> str | None:
    """A place as written, or the canonical name of a vocabulary's place ("Allemagne", "德国" -> "Germany")."""
    t = text.strip().strip(".,;:")
    if (name := ctx.canonical.get(t.lower())) is not None:
        return name
    words = t.split()
    for i in range(1, len(words)):  # "en France", "vers la Belgique", "en nuestro almacén de Valparaíso": the place
        if (name := ctx.canonical.get(" ".join(words[i:]).lower())) is not None:
            return name
    return t or None


def plain_text(text: str, ctx: Context) -> str | None:
    t = text.strip()
    return t or None


NORMALISERS: dict[str, Callable[[str, Context], Any]] = {
    "text": plain_text,
    "quantity": quantity,
    "duration": duration,
    "money": money,
    "incoterm": incoterm,
    "payment": payment,
    "certification": certification,
    "term": term,
    "place": place,
}
