"""Month names from CLDR (through Babel): for the `cldr` fragments of the rules and the date normaliser."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=256)
def month_names(locale: str, kind: str = "months") -> tuple[tuple[str, int], ...]:
    """(name, month number) of a CLDR locale ("en", "en_GB", "es_MX"): wide names, or abbreviated ones for
    "months_abbr"; format and stand-alone forms, lowercase, without a trailing dot. An unknown locale has none."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415 - only when a rule set is built

    try:
        loc = Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return ()
    width = "abbreviated" if kind == "months_abbr" else "wide"
    out: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for number, name in loc.months[context][width].items():
            out.setdefault(name.lower().rstrip("."), number)
    return tuple(out.items())


def known(locale: str) -> bool:
    """Whether CLDR has the locale."""
    from babel import Locale, UnknownLocaleError  # noqa: PLC0415

    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return False
    return True
