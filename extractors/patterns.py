"""What every match of a pattern has: literal words it contains (`derive`), and how far it reaches (`extent`).

Both read the pattern's structure with the stdlib parser (`regex`-only syntax such as \\p{..} stands in as a class of
any character); a pattern it cannot read has no words and no extent, which is always safe: its rule runs on every
text, scanned whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

try:  # the stdlib parser gives the structure of a pattern; without it no words are derived (rules always run)
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parser = None  # type: ignore[assignment]

_LIMIT = 64  # most strings kept in an exact set (alternations, optional letters)
# `regex`-only syntax replaced by a class of any character before the stdlib parser sees the pattern
_REGEX_ONLY = re.compile(r"\\[pP]\{[^}]*\}|\\[pP][A-Za-z]")
# `regex`-only syntax the stdlib parser would read as literals (fuzzy counts, POSIX classes) or inline flags
# that change what a character matches: no extent is computed for such a pattern
_NO_EXTENT = re.compile(r"\{(?!\d*(?:,\d*)?\})|\[:\^?\w+:\]|\(\?[a-zA-Z-]*[fVwrbep]")
_ESCAPE = re.compile(r"\\.", re.S)

Strings = frozenset[str]


def derive(patterns: Iterable[str]) -> tuple[str, ...] | None:
    """Literal strings, one of which every match of any of the patterns contains; None when there is no such set."""
    out: set[str] = set()
    for pattern in patterns:
        found = _derive_one(pattern)
        if not found:
            return None
        out |= found
    return tuple(sorted(out)) or None


@functools.lru_cache(maxsize=4096)  # shared rules are compiled once per language
def _derive_one(pattern: str) -> Strings | None:
    if _sre_parser is None:
        return None
    try:
        tree = _sre_parser.parse(_REGEX_ONLY.sub(r"\\w", pattern))
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return None
    return _seq(list(tree))[1]


def extent(pattern: str) -> tuple[int, int, tuple[Strings, int] | None] | None:
    """(longest match, farthest character looked at right of the match start, leading words) of a pattern that
    always consumes at least one character; None when unbounded, possibly empty or not understood. The leading
    words (words, offset), when found, are literal strings one of which every match contains starting at most
    `offset` characters after the match start."""
    if _sre_parser is None or _NO_EXTENT.search(_ESCAPE.sub("", _REGEX_ONLY.sub("", pattern))):
        return None
    try:
        tree = _sre_parser.parse(_REGEX_ONLY.sub(r"\\w", pattern))
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return None
    ext = items_extent(list(tree))
    if ext is None or ext[0] < 1:
        return None
    return ext[1], ext[2], _lead(list(tree))


def _lead(items: Sequence[tuple[Any, Any]]) -> tuple[Strings, int] | None:
    """(words, offset): one of the words starts at most `offset` characters into every match of the sequence."""
    best: tuple[Strings, int] | None = None

    def consider(words: Strings | None, offset: int) -> None:
        nonlocal best
        if (words := _usable(words)) is not None and (best is None or (_score(words), -offset) > (_score(best[0]), -best[1])):
            best = (words, offset)

    pre = 0  # longest the items so far can be
    run: Strings = frozenset({""})  # exact strings of the run of literal items ending here, from run_start
    run_start = 0
    for op, av in items:
        width = items_extent([(op, av)])
        after = None if width is None else pre + width[1]  # longest the items up to this one can be
        exact, _ = _node(op, av)
        if exact is not None and (joined := _product(run, exact)) is not None:
            run = joined
            consider(run, run_start)
        elif exact is not None:
            run, run_start = exact, pre
            consider(run, run_start)
        elif after is not None:
            run, run_start = frozenset({""}), after  # a new run starts after this item
        inner = _lead_node(op, av)
        if inner is not None:
            consider(inner[0], pre + inner[1])
        if after is None:
            break
        pre = after
    return best


def _lead_node(op: Any, av: Any) -> tuple[Strings, int] | None:
    if op is _c.SUBPATTERN:
        return _lead(list(av[-1]))
    if op is _c.ATOMIC_GROUP:
        return _lead(list(av))
    if op is _c.BRANCH:
        leads = [_lead(list(alt)) for alt in av[1]]
        alts = [a for a in leads if a is not None]
        if len(alts) != len(leads):
            return None
        return frozenset().union(*(a[0] for a in alts)), max(a[1] for a in alts)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] >= 1:
        return _lead(list(av[2]))
    return None


_UNITS = (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN, _c.RANGE, _c.CATEGORY) if _sre_parser is not None else ()


def items_extent(items: Sequence[tuple[Any, Any]]) -> tuple[int, int, int] | None:
    """(min consumed, max consumed, max reach right of the start incl. lookaheads and boundary checks)."""
    lo = hi = reach = 0
    for op, av in items:
        sub: tuple[int, int, int] | None
        if op in _UNITS:
            sub = (1, 1, 1)
        elif op is _c.AT:
            sub = (0, 0, 1)  # \b and $ look at the next character
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            direction, pattern = av
            if direction != 1:
                sub = (0, 0, 0)  # a lookbehind looks left: the whole text stays visible there
            elif (inner := items_extent(list(pattern))) is None:
                return None
            else:
                sub = (0, 0, inner[2])
        elif op is _c.SUBPATTERN:
            sub = items_extent(list(av[-1]))
        elif op is _c.ATOMIC_GROUP:
            sub = items_extent(list(av))
        elif op is _c.BRANCH:
            extents = [items_extent(list(alt)) for alt in av[1]]
            alts = [a for a in extents if a is not None]
            if len(alts) != len(extents):
                return None
            sub = (min(a[0] for a in alts), max(a[1] for a in alts), max(a[2] for a in alts))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            n_min, n_max, pattern = av
            inner = items_extent(list(pattern))
            if inner is None or n_max == _c.MAXREPEAT and (inner[1] or inner[2]):
                return None
            if n_max == _c.MAXREPEAT or n_max == 0:
                sub = (0, 0, 0)
            else:
                sub = (n_min * inner[0], n_max * inner[1], (n_max - 1) * inner[1] + inner[2])
        else:
            return None
        if sub is None:
            return None
        reach = max(reach, hi + sub[2])
        lo += sub[0]
        hi += sub[1]
    return lo, hi, max(reach, hi)


def _usable(s: Strings | None) -> Strings | None:
    return s if s and "" not in s else None


def _score(s: Strings) -> tuple[int, int]:
    return (min(len(x) for x in s), -len(s))


def _best(*sets: Strings | None) -> Strings | None:
    usable = [u for s in sets if (u := _usable(s)) is not None]
    return max(usable, key=_score) if usable else None


def _product(a: Strings, b: Strings) -> Strings | None:
    if len(a) * len(b) > _LIMIT:
        return None
    return frozenset(x + y for x in a for y in b)


def _seq(items: Sequence[tuple[object, object]]) -> tuple[Strings | None, Strings | None]:
    """(exact, contains) of a concatenation: exact is every string it can match (when few), contains a set
    one of which every match contains."""
    exact: Strings | None = frozenset({""})
    run: Strings | None = frozenset({""})
    best: Strings | None = None
    for op, av in items:
        e, c = _node(op, av)
        best = _best(best, c)
        exact = _product(exact, e) if exact is not None and e is not None else None
        if e is not None and run is not None and (joined := _product(run, e)) is not None:
            run = joined
        else:
            best = _best(best, run)
            run = e if e is not None else frozenset({""})
    best = _best(best, run, exact)
    return exact, best


def _node(op: Any, av: Any) -> tuple[Strings | None, Strings | None]:  # sre parse-tree nodes are untyped
    if op is _c.LITERAL:
        s = frozenset({chr(av)})
        return s, s
    if op is _c.IN:
        chars = [chr(v) for o, v in av if o is _c.LITERAL]
        if len(chars) == len(av) and chars:
            s = frozenset(chars)
            return s, s
        return None, None
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return frozenset({""}), None
    if op is _c.SUBPATTERN:
        return _seq(list(av[-1]))
    if op is _c.ATOMIC_GROUP:
        return _seq(list(av))
    if op is _c.BRANCH:
        alts = [_seq(list(alt)) for alt in av[1]]
        exact: Strings | None = None
        if all(e is not None for e, _ in alts):
            union: Strings = frozenset().union(*(e for e, _ in alts if e is not None))
            exact = union if len(union) <= _LIMIT else None
        contains = [_usable(c) for _, c in alts]
        return exact, (frozenset().union(*(c for c in contains if c is not None)) if all(c is not None for c in contains) else None)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        e, c = _seq(list(sub))
        if lo == 0:
            return (e | {""} if e is not None and hi == 1 else None), None
        if e is not None and lo == hi == 1:
            return e, c
        return None, c
    return None, None
