"""Trigger prefilter: run a rule's regexes only on a part that contains one of the rule's trigger words.

Every match of a regex such as `\\b(?:deliver|ship)\\w*\\s(?:within|in)\\s\\d+` contains "deliver" or "ship", so
a part without either cannot match and the regex need not run. The triggers of a rule are its `trigger` list
when the rules file gives one, else derived here from its regexes (`derive`); a rule whose regexes allow no such
set (e.g. one that starts with a bare `\\d+` and has no literal word) always runs.

A `Prefilter` finds every trigger word of a language's rules in one overlapped scan of the part and returns the
indices of the rules to run. Matching is case-insensitive with the `regex` module's own case folding, so a
trigger matches wherever the rule's (case-insensitive or case-sensitive) literal can.

Windows: a regex whose matches are at most W characters long (`extent`) can only match starting within W
characters before an occurrence of one of its derived words (all found in one stdlib-regex scan of a trie), so `Prefilter.plan` gives the few stretches of the
text where it may start, and the engine scans only those (with the whole text around them, so lookbehinds and
word boundaries see the same characters; see `safe_regex.finditer`). The matches are exactly those of a scan of
the whole text; a regex of unbounded length, or a text where the regions would cover most of it, is scanned whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import regex

try:  # the stdlib parser gives the structure of a pattern; without it no triggers are derived (rules always run)
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parser = None  # type: ignore[assignment]

_MIN_WORD = 3  # a rule with a shorter trigger word always runs
_LIMIT = 64  # most strings kept in an exact set (alternations, optional letters)
_FLAGS = regex.IGNORECASE | regex.V0
# `regex`-only syntax replaced by a class of any character before the stdlib parser sees the pattern
_REGEX_ONLY = re.compile(r"\\[pP]\{[^}]*\}|\\[pP][A-Za-z]")
# `regex`-only syntax the stdlib parser would read as literals (fuzzy counts, POSIX classes) or inline flags
# that change what a character matches: no extent is computed for such a pattern
_NO_EXTENT = re.compile(r"\{(?!\d*(?:,\d*)?\})|\[:\^?\w+:\]|\(\?[a-zA-Z-]*[fVwrbep]")
_ESCAPE = re.compile(r"\\.", re.S)
_CALL_COST = 24  # one extra regex call costs about as much as scanning this many characters
_COMMON = frozenset("abcdefghiklmnoprstuvwy0123456789 ")  # single characters too frequent to window on

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
    ext = _extent(list(tree))
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
        width = _extent([(op, av)])
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


def _extent(items: Sequence[tuple[Any, Any]]) -> tuple[int, int, int] | None:
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
            elif (inner := _extent(list(pattern))) is None:
                return None
            else:
                sub = (0, 0, inner[2])
        elif op is _c.SUBPATTERN:
            sub = _extent(list(av[-1]))
        elif op is _c.ATOMIC_GROUP:
            sub = _extent(list(av))
        elif op is _c.BRANCH:
            extents = [_extent(list(alt)) for alt in av[1]]
            alts = [a for a in extents if a is not None]
            if len(alts) != len(extents):
                return None
            sub = (min(a[0] for a in alts), max(a[1] for a in alts), max(a[2] for a in alts))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            n_min, n_max, pattern = av
            inner = _extent(list(pattern))
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


class Prefilter:
    """Says which rules' regexes may match a text: those with a trigger word in it (or without triggers).

    The text is lowercased once and each distinct word looked up with `in` (a C substring search): an overlapped
    regex alternation of a few hundred words is ~30x slower in both `regex` and `re`. Lowercasing stands in for
    the `regex` module's case-insensitive matching except for a few characters (e.g. "ſ" matches "s"); a text
    containing one of those runs every rule.
    """

    def __init__(self, triggers: Sequence[tuple[str, ...] | None], patterns: Sequence[str] | None = None):
        """`triggers[i]` are rule i's trigger words, or None when rule i always runs; `patterns[i]` its regex,
        from which the words and extent of its windows are derived (no windows without it)."""
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
        self._guard = _CaseGuard({ch for _, words in entries for w in words for ch in w})
        self.ascii_safe = self._guard.ascii_safe
        # windows: rule i -> (its words, lowercased, none containing another; how far before a word's position its
        # match may start; how far right of its start a match may look)
        self.windows: dict[int, tuple[tuple[str, ...], int, int]] = {}
        for i, pattern in enumerate(patterns or ()):
            ext = extent(pattern)
            if ext is None:
                continue
            longest, reach, lead = ext
            # (words, how far before a word's position a match may start, whether a word may stand in for the
            # words containing it: yes when any position in the match will do, only for those it starts when the
            # offset counts)
            options = []
            if (words := derive([pattern])) is not None:
                options.append((words, longest - min(len(w) for w in words), True))
            if lead is not None:
                options.append((tuple(lead[0]), lead[1], False))
            for words, before, anywhere in sorted(options, key=lambda o: o[1]):
                if not all(_lower_keeps_case_class(w, w.lower()) for w in words):
                    continue
                minimal: list[str] = []
                for w in sorted({w.lower() for w in words}, key=len):
                    if not any(m in w if anywhere else w.startswith(m) for m in minimal):
                        minimal.append(w)
                if any(len(w) == 1 and w in _COMMON for w in minimal):  # found all over a text: no gain
                    continue
                self.windows[i] = (tuple(minimal), before, reach)
                break
        self._win_guard = _CaseGuard({ch for words, _, _ in self.windows.values() for w in words for ch in w})
        # the longest windowed word found at a position -> the windowed rules having it or a word it starts with
        # (no word of a rule starts with another of its words: at most one of them per rule starts at a position)
        vocabulary = {w for words, _, _ in self.windows.values() for w in words}
        rules_of = {w: [i for i, (words, _, _) in self.windows.items() if any(w.startswith(u) for u in words)] for w in vocabulary}
        self._rules_of = rules_of
        self._scan = re.compile("(?=(" + _trie(vocabulary) + "))") if vocabulary else None
        # rule i -> (before, reach): a match containing a word found at t starts in [t - before, t] and looks at no
        # character at or after its start + reach
        self._span = {i: (before, reach) for i, (_, before, reach) in self.windows.items()}
        self.plain_entries = [(i, words) for i, words in entries if i not in self.windows]
        self.plain_always = frozenset(i for i in always if i not in self.windows)

    def plan(self, text: str) -> tuple[frozenset[int] | set[int], dict[int, list[tuple[int, int, int]] | None] | None]:
        """The rules whose regexes may match the text, and for each windowed one among them the (pos, last, endpos)
        stretches to scan, or None to scan the whole text: every match starts at some pos <= start <= last and
        looks at no character at or after endpos. Without windows for this text (None), scan it whole."""
        low = text.lower()
        guard = self._win_guard
        if (
            self._scan is None
            or len(low) != len(text)  # a lowercase longer than its character: positions would shift
            or not (guard.ascii_safe and text.isascii()) and guard.exotic_in(text)
        ):
            return self.select(text, low), None
        found: dict[int, list[int]] = {}
        rules_of = self._rules_of
        for m in self._scan.finditer(low):
            t = m.start()
            for i in rules_of[m.group(1)]:
                at = found.get(i)
                if at is None:
                    found[i] = [t]
                else:
                    at.append(t)
        selected = self._select(text, low, self.plain_entries, self.plain_always)
        selected.update(found)
        n = len(low)
        span = self._span
        regions: dict[int, list[tuple[int, int, int]] | None] = {}
        for i, ts in found.items():
            before, reach = span[i]
            out: list[tuple[int, int, int]] = []
            a = ts[0] - before
            b = ts[0]
            scanned = 0
            for t in ts:  # increasing
                x = t - before
                if x > b + _CALL_COST:
                    e = b + reach + 1
                    out.append((a if a > 0 else 0, b, e))
                    scanned += e - a + _CALL_COST
                    a = x
                b = t
            e = b + reach + 1
            out.append((a if a > 0 else 0, b, e if e < n else n))
            regions[i] = out if scanned + e - a < n else None
        return selected, regions

    def select(self, text: str, low: str | None = None) -> frozenset[int] | set[int]:
        """Indices of the rules whose regexes may match the text (`low`: the text lowercased, when at hand)."""
        if not self.entries:
            return self.always
        return self._select(text, low, self.entries, self.always)

    def _select(self, text: str, low: str | None, entries: list[tuple[int, tuple[str, ...]]], always: frozenset[int]) -> set[int]:
        if not (self.ascii_safe and text.isascii()) and self._guard.exotic_in(text):
            return set(range(self.count))
        if low is None:
            low = text.lower()
        found = set(always)
        for i, words in entries:
            for word in words:
                if word in low:
                    found.add(i)
                    break
        return found


class _CaseGuard:
    """Finds a character that matches one of the alphabet's characters case-insensitively (`regex` folding) while
    its lowercase form is a different character: lowercasing does not stand in for case folding in such a text."""

    def __init__(self, alphabet: Iterable[str]):
        letters = sorted(set(alphabet))
        self._any_letter = regex.compile("[" + "".join(regex.escape(a) for a in letters) + "]", _FLAGS) if letters else None
        self._letters = [(a, regex.compile(regex.escape(a), _FLAGS)) for a in letters]
        self._memo: dict[str, bool] = {}
        self.ascii_safe = not any(self._exotic(chr(c)) for c in range(128))

    def _exotic(self, ch: str) -> bool:
        """ch matches some alphabet character case-insensitively that its lowercase form is not."""
        if self._any_letter is None or self._any_letter.fullmatch(ch) is None:
            return False
        low = ch.lower()
        return any(a != low and pattern.fullmatch(ch) for a, pattern in self._letters)

    def exotic_in(self, text: str) -> bool:
        memo = self._memo
        for ch in set(text):
            if ch.isascii() and self.ascii_safe:
                continue
            bad = memo.get(ch)
            if bad is None:
                bad = memo[ch] = self._exotic(ch)
            if bad:
                return True
        return False


def _trie(words: Iterable[str]) -> str:
    """A stdlib regex matching the longest of the words that starts at a position (one branch per character)."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        branches = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return "(?:" + body + ")?"
        return body

    return build(root)


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
