"""Place names from CLDR (through Babel): the `cldr` vocabularies of the rules (vocab/*.toml).

  territories  country and region names ("Allemagne", "Германия", "德国", "Latinoamérica"), each mapped to its
               English CLDR name ("Germany", "Latin America")
  cities       the exemplar cities of the time zones ("Le Caire", "Каир", "开罗" -> "Cairo"; "Dubai", "São Paulo")

A name written with a parenthesis ("Myanmar (Burma)") gives both halves as well; "X SAR China" gives "X". A name of
at most four letters in a script with capitals ("Peru", "Oman", "Того") is matched only as CLDR writes it (and in
capitals): such short names are often ordinary words in some language.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

KINDS = ("territories", "cities")
# The locales whose names a `cldr` vocabulary takes when it names none: the languages the rules are written for,
# Traditional Chinese, and further languages buyers write in with spaces between words (their mail runs on the
# English rules, which take these names too). Each name costs about 3 KB in the matchers of a language.
DEFAULT_LOCALES = ("en", "zh", "zh_Hant", "es", "fr", "de", "pt", "ru", "ar", "tr", "it", "nl", "pl", "sv", "id", "vi")
# Region codes that are not places a buyer ships to.
_NOT_PLACES = frozenset({"001", "ZZ", "UN", "EZ", "QO", "XA", "XB", "AQ", "BV", "HM", "TF", "UM", "CP", "DG", "IC", "EA"})
# Time zones whose exemplar city is no trade destination: research stations, "Etc/GMT+3", and the third-level
# zones of one state (America/Indiana/Knox, America/North_Dakota/Center), Argentina's provinces apart
_SKIP_ZONES = ("Etc/", "Antarctica/", "Arctic/", "SystemV/")
_PAREN = re.compile(r"^(?P<a>[^()]+?)\s*[(（](?P<b>[^()（）]+)[)）]$")
_SAR = re.compile(r"\s+SAR\s+China$")
_CASED_SHORT = re.compile(r"^[^\W\d_]{1,4}$")


def language(locale: str) -> str:
    """The language of a locale: "zh_Hant" -> "zh", "pt_BR" -> "pt"."""
    return re.split(r"[_-]", locale, maxsplit=1)[0].lower()


def known(locale: str) -> bool:
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415 - only when a rule set is built

    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=64)
def names(kind: str, locale: str) -> tuple[tuple[str, str], ...]:
    """(name, canonical English name) of every place of a kind in a CLDR locale; empty for an unknown locale."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    try:
        loc = Locale.parse(locale)
        en = Locale.parse("en")
    except (UnknownLocaleError, ValueError):
        return ()
    out: dict[str, str] = {}
    halves: list[tuple[str, str]] = []  # the second halves of names with a parenthesis, taken last
    if kind == "territories":
        for code, name in loc.territories.items():
            canonical = en.territories.get(code)
            if code in _NOT_PLACES or canonical is None:
                continue
            halves += _add(out, name, _plain(canonical))
        if language(locale) == "en":  # ISO 3166's names too (pycountry): "Republic of Korea", "Viet Nam"
            halves += _iso_names(out, en)
    elif kind == "cities":
        from babel.core import get_global  # noqa: PLC0415

        for zone in get_global("zone_territories"):
            if "/" not in zone or zone.startswith(_SKIP_ZONES) or zone.count("/") > 1 and not zone.startswith("America/Argentina/"):
                continue
            canonical = _city(en, zone)
            halves += _add(out, _city(loc, zone), canonical)
    for name, canonical in halves:
        out.setdefault(name, canonical)
    return tuple(out.items())


def _iso_names(out: dict[str, str], en: Locale) -> list[tuple[str, str]]:
    import pycountry  # noqa: PLC0415

    territories = en.territories
    halves: list[tuple[str, str]] = []
    for country in pycountry.countries:
        canonical = territories.get(country.alpha_2)
        if country.alpha_2 in _NOT_PLACES or canonical is None:
            continue
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            if name:
                a, comma, b = name.partition(", ")  # "Korea, Republic of" -> "Republic of Korea"
                halves += _add(out, f"{b} {a}" if comma and b.endswith(" of") else name, _plain(canonical))
    return halves


def _city(loc: Locale, zone: str) -> str:
    data = loc.time_zones.get(zone) or {}
    return str(data.get("city") or zone.rsplit("/", 1)[1].replace("_", " "))


def _plain(name: str) -> str:
    """An English CLDR name as a buyer writes it: "Myanmar (Burma)" -> "Myanmar", "Hong Kong SAR China" -> "Hong Kong"."""
    m = _PAREN.match(name)
    return _SAR.sub("", m.group("a") if m else name)


def _add(out: dict[str, str], name: str, canonical: str) -> list[tuple[str, str]]:
    """Note a name and its shorter forms; return the second half of a name with a parenthesis ("Burma" of
    "Myanmar (Burma)"), to be taken only where no place has it as its own name ("China" of "RAE de Hong Kong
    (China)")."""
    name = name.replace("’", "'").strip()
    if not name:
        return []
    out.setdefault(name, canonical)
    if " & " in name:  # "Bosnia & Herzegovina"
        out.setdefault(name.replace(" & ", " and "), canonical)
    halves = []
    if m := _PAREN.match(name):  # "Myanmar (Burma)", "Congo (RDC)": each half alone too
        out.setdefault(m.group("a"), canonical)
        if len(m.group("b")) >= 4:
            halves.append((m.group("b"), canonical))
    if _SAR.search(name):
        out.setdefault(_SAR.sub("", name), canonical)
    if name.endswith("特别行政区") or name.endswith("特別行政區"):  # 中国香港特别行政区 -> 香港
        out.setdefault(name[:-5].removeprefix("中国").removeprefix("中國"), canonical)
    return halves


def short(name: str) -> bool:
    """A name of at most four letters in a script with capitals ("Peru", "Того"): matched only as written."""
    return bool(_CASED_SHORT.match(name)) and name.lower() != name.upper()
