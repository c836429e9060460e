"""Trigger prefilter: run a rule's regexes only on a part that contains one of the rule's trigger words.

Every match of a regex such as `\\b(?:deliver|ship)\\w*\\s(?:within|in)\\s\\d+` contains "deliver" or "ship", so
a part without either cannot match and the regex need not run. The triggers of a rule are its `trigger` list
when the rules file gives one, else derived here from its regexes (`derive`); a rule whose regexes allow no such
set (e.g. one that starts with a bare `\\d+` and has no literal word) always runs.

A `Prefilter` finds every trigger word of a language's rules in one overlapped scan of the part and returns the
indices of the rules to run. Matching is case-insensitive with the `regex` module's own case folding, so a
trigger matches wherever the rule's (case-insensitive or case-sensitive) literal can.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

import regex

try:  # the stdlib parser gives the structure of a pattern; without it no triggers are derived (rules always run)
    from re import _constants as _c
    from re import _parser as _sre_parser
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parser = None  # type: ignore[assignment]

_MIN_WORD = 3  # a rule with a shorter trigger word always runs
_LIMIT = 64  # most strings kept in an exact set (alternations, optional letters)
_FLAGS = regex.IGNORECASE | regex.V0
# `regex`-only syntax replaced by a class of any character before the stdlib parser sees the pattern
_REGEX_ONLY = re.compile(r"\\[pP]\{[^}]*\}|\\[pP][A-Za-z]")

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


def _node(op: object, av: object) -> tuple[Strings | None, Strings | None]:
    if op is _c.LITERAL:
        s = frozenset({chr(av)})  # type: ignore[arg-type]
        return s, s
    if op is _c.IN:
        chars = [chr(v) for o, v in av if o is _c.LITERAL]  # type: ignore[union-attr]
        if len(chars) == len(av) and chars:  # type: ignore[arg-type]
            s = frozenset(chars)
            return s, s
        return None, None
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return frozenset({""}), None
    if op is _c.SUBPATTERN:
        return _seq(list(av[-1]))  # type: ignore[index]
    if op is _c.ATOMIC_GROUP:
        return _seq(list(av))  # type: ignore[arg-type]
    if op is _c.BRANCH:
        alts = [_seq(list(alt)) for alt in av[1]]  # type: ignore[index]
        exact: Strings | None = None
        if all(e is not None for e, _ in alts):
            union = frozenset().union(*(e for e, _ in alts))  # type: ignore[misc]
            exact = union if len(union) <= _LIMIT else None
        contains = [_usable(c) for _, c in alts]
        return exact, (frozenset().union(*contains) if all(c is not None for c in contains) else None)  # type: ignore[misc]
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        lo, hi, sub = av  # type: ignore[misc]
        e, c = _seq(list(sub))
        if lo == 0:
            return (e | {""} if e is not None and hi == 1 else None), None
        if e is not None and lo == hi == 1:
            return e, c
        return None, c
    return None, None


class Prefilter:
    """Says which rules' regexes may match a text: those with a trigger word in it (or without triggers).

    The text is lowercased once and each distinct word looked up with `in` (a C substring search): an overlapped
    regex alternation of a few hundred words is ~30x slower in both `regex` and `re`. Lowercasing stands in for
    the `regex` module's case-insensitive matching except for a few characters (e.g. "ſ" matches "s"); a text
    containing one of those runs every rule.
    """

    def __init__(self, triggers: Sequence[tuple[str, ...] | None]):
        """`triggers[i]` are rule i's trigger words, or None when rule i always runs."""
        self.count = len(triggers)
        always: set[int] = set()
        entries: list[tuple[int, tuple[str, ...]]] = []
        for i, words in enumerate(triggers):
            lowered = [w.lower() for w in words or ()]
            if (
                not lowered
                or any(len(w) < _MIN_WORD and w.isascii() for w in lowered)  # in nearly every text: no gain
                or not all(_lower_keeps_case_class(w, lw) for w, lw in zip(words or (), lowered, strict=True))
            ):
                always.add(i)
                continue
            entries.append((i, tuple(sorted(_cover(lowered), key=lambda w: (len(w), w)))))
        self.always = frozenset(always)
        self.entries = entries
        alphabet = sorted({ch for _, words in entries for w in words for ch in w})
        self._any_letter = regex.compile("[" + "".join(regex.escape(a) for a in alphabet) + "]", _FLAGS) if alphabet else None
        self._letters = [(a, regex.compile(regex.escape(a), _FLAGS)) for a in alphabet]
        self.ascii_safe = not any(self._exotic(chr(c)) for c in range(128))
        self._exotic_memo: dict[str, bool] = {}

    def _exotic(self, ch: str) -> bool:
        """ch matches some trigger character case-insensitively that its lowercase form is not."""
        if self._any_letter is None or self._any_letter.fullmatch(ch) is None:
            return False
        low = ch.lower()
        return any(a != low and pattern.fullmatch(ch) for a, pattern in self._letters)

    def _has_exotic(self, text: str) -> bool:
        memo = self._exotic_memo
        for ch in set(text):
            if ch.isascii() and self.ascii_safe:
                continue
            bad = memo.get(ch)
            if bad is None:
                bad = memo[ch] = self._exotic(ch)
            if bad:
                return True
        return False

    def select(self, text: str) -> frozenset[int] | set[int]:
        """Indices of the rules whose regexes may match the text."""
        if not self.entries:
            return self.always
        if not (self.ascii_safe and text.isascii()) and self._has_exotic(text):
            return set(range(self.count))
        low = text.lower()
        found = set(self.always)
        for i, words in self.entries:
            for word in words:
                if word in low:
                    found.add(i)
                    break
        return found


def _lower_keeps_case_class(word: str, low: str) -> bool:
    """The lowercase word matches exactly what the word matches case-insensitively."""
    if word.isascii():
        return True
    return len(low) == len(word) and regex.fullmatch(regex.escape(word), low, _FLAGS) is not None


_RUN = re.compile(r"[^\W_]{3,}")


def _cover(words: list[str]) -> list[str]:
    """Fewer, shorter words with the same guarantee: each word is replaced by one of its own substrings, chosen
    so that one substring stands for as many words as possible (any text containing a word contains them)."""
    left = set(words)
    out: list[str] = []
    while left:
        candidates: dict[str, int] = {}
        for w in left:
            for sub in {w, *_RUN.findall(w)}:
                candidates[sub] = sum(1 for v in left if sub in v)
        best = max(candidates, key=lambda c: (candidates[c], len(c), c))
        out.append(best)
        left = {v for v in left if best not in v}
    return out
