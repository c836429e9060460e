"""Prefilter: run a rule's regexes only on a part where they may match, and only on the stretches where they may.

With Hyperscan installed, one Hyperscan pass does this for every regex it can read (`multiscan`); trigger words
do it for the others, and for every regex on a text whose characters Hyperscan's image cannot hold. Both are
exact: the matches found are those of a scan of the whole text.

Trigger words: run a rule's regexes only on a part that contains one of the rule's trigger words.

Every match of a regex such as `\\b(?:deliver|ship)\\w*\\s(?:within|in)\\s\\d+` contains "deliver" or "ship", so
a part without either cannot match and the regex need not run. The triggers of a rule are its `trigger` list
when the rules file gives one, else derived from its regexes (`patterns.derive`); a rule whose regexes allow no
such set (e.g. one that starts with a bare `\\d+` and has no literal word) always runs.

A `Prefilter` finds every trigger word of a language's rules in one overlapped scan of the part and returns the
indices of the rules to run. Matching is case-insensitive with the `regex` module's own case folding, so a
trigger matches wherever the rule's (case-insensitive or case-sensitive) literal can.

Windows: a regex whose matches are at most W characters long (`patterns.extent`) can only match starting within W
characters before an occurrence of one of its derived words (all found in one stdlib-regex scan of a trie), so
`Plan.regions` gives the few stretches of the text where it may start (just the positions of its words when
every match starts with one), and the engine scans only those (with the whole text around them, so lookbehinds
and word boundaries see the same characters; see `safe_regex.finditer`). The matches are exactly those of a scan
of the whole text; a regex of unbounded length, or a text where the regions would cover most of it, is scanned
whole.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Iterable, Iterator, Sequence

import regex

from extractors.multiscan import AVAILABLE as MULTISCAN
from extractors.multiscan import Multiscan, image
from extractors.patterns import derive, extent

_MIN_WORD = 3  # a rule with a shorter trigger word always runs
_FLAGS = regex.IGNORECASE | regex.V0
_CALL_COST = 24  # one extra regex call costs about as much as scanning this many characters
_COMMON = frozenset("abcdefghiklmnoprstuvwy0123456789 ")  # single characters too frequent to window on


class Prefilter:
    """Says which rules' regexes may match a text, and where: with `multiscan`, one Hyperscan pass for the regexes
    it can stand in for (`extractors.multiscan`); trigger words for the others, and for every regex on a text
    the Hyperscan image cannot hold.

    Trigger words: the text is lowercased once and each distinct word looked up with `in` (a C substring search):
    an overlapped regex alternation of a few hundred words is ~30x slower in both `regex` and `re`. Lowercasing
    stands in for the `regex` module's case-insensitive matching except for a few characters (e.g. "ſ" matches
    "s"); a text containing one of those runs every rule.
    """

    def __init__(
        self,
        triggers: Sequence[tuple[str, ...] | None],
        patterns: Sequence[regex.Pattern[str]] | None = None,
        multiscan: bool = False,
        explicit: frozenset[int] = frozenset(),
    ):
        """`triggers[i]` are rule i's trigger words, or None when rule i always runs; `patterns[i]` its regex,
        from which the words and extent of its windows are derived (no windows without it). With `multiscan`,
        Hyperscan stands in for the trigger words of the regexes it can read, except those in `explicit` (trigger
        words given in the rules file: a match without one is not found, whatever the regex says)."""
        extents = [extent(p.pattern) for p in patterns or ()]
        self._all = _Triggers(triggers, [p.pattern for p in patterns or ()], extents)
        self.multiscan: Multiscan | None = None
        self._spans = self._all.spans
        if multiscan and patterns and MULTISCAN:
            scanner = Multiscan(patterns, [e[0] if e is not None else None for e in extents], skip=explicit)
            if scanner.covered:
                self.multiscan = scanner
                # a candidate ending at e: its match starts in [e - hi, e - lo] (positions are e - lo)
                self._hs_lo = {i: lo for i, (lo, _) in scanner.offsets.items()}
                hs_spans = {i: (hi - lo, e[1]) for i, (lo, hi) in scanner.offsets.items() if (e := extents[i]) is not None}
                self._rest = _Triggers(triggers, [p.pattern for p in patterns], extents, skip=scanner.covered)
                self._hs_spans = {**self._rest.spans, **hs_spans}

    def plan(self, text: str) -> Plan:
        """Where the rules' regexes may match the text (see `Plan`)."""
        low = text.lower()
        if self.multiscan is not None and (data := image(text, low)) is not None:
            selected, found = self._rest.plan(text, low)
            lows = self._hs_lo
            for i, ends in self.multiscan.ends(data).items():
                selected.add(i)
                if (lo := lows.get(i)) is not None:
                    found[i] = [e - lo for e in ends]
            selected |= self.multiscan.uncompiled
            return Plan(selected, found, self._hs_spans, low)
        selected, found = self._all.plan(text, low)
        return Plan(selected, found, self._spans, low)

    def select(self, text: str, low: str | None = None) -> frozenset[int] | set[int]:
        """Indices of the rules whose trigger words are in the text (`low`: the text lowercased, when at hand)."""
        return self._all.select(text, low)


class _Triggers:
    """The trigger words and windows of a set of rules (all but `skip`)."""

    def __init__(
        self,
        triggers: Sequence[tuple[str, ...] | None],
        patterns: Sequence[str],
        extents: Sequence[tuple[int, int, tuple[frozenset[str], int] | None] | None],
        skip: frozenset[int] = frozenset(),
    ):
        self.count = len(triggers)
        always: set[int] = set()
        entries: list[tuple[int, tuple[str, ...]]] = []
        for i, words in enumerate(triggers):
            if i in skip:
                continue
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
        for i, pattern in enumerate(patterns):
            ext = extents[i]
            if ext is None or i in skip:
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
        self._rules_of = {w: [i for i, (words, _, _) in self.windows.items() if any(w.startswith(u) for u in words)] for w in vocabulary}
        self._scan = re.compile("(?=(" + _trie(vocabulary) + "))") if vocabulary else None
        # rule i -> (before, reach): a match containing a word found at t starts in [t - before, t] and looks at no
        # character at or after its start + reach
        self.spans = {i: (before, reach) for i, (_, before, reach) in self.windows.items()}
        self.plain_entries = [(i, words) for i, words in entries if i not in self.windows]
        self.plain_always = frozenset(i for i in always if i not in self.windows)

    def plan(self, text: str, low: str) -> tuple[set[int], dict[int, list[int]]]:
        """The rules that may match the text, and where the words of the windowed ones among them stand."""
        guard = self._win_guard
        if (
            self._scan is None
            or len(low) != len(text)  # a lowercase longer than its character: positions would shift
            or not (guard.ascii_safe and text.isascii()) and guard.exotic_in(text)
        ):
            return set(self.select(text, low)), {}
        at: dict[str, list[int]] = {}
        for m in self._scan.finditer(low):
            word = m.group(1)
            if word in at:
                at[word].append(m.start())
            else:
                at[word] = [m.start()]
        found: dict[int, list[int]] = {}  # windowed rule -> where its words stand
        for word, ts in at.items():
            for i in self._rules_of[word]:
                if i in found:
                    found[i] += ts
                else:
                    found[i] = list(ts)
        selected = self._select(text, low, self.plain_entries, self.plain_always)
        selected.update(found)
        return selected, found

    def select(self, text: str, low: str | None = None) -> frozenset[int] | set[int]:
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


class Literals:
    """Says whether a text may match one pattern: it contains one of the literal words derived from the pattern
    (as `Prefilter` does for the rules; a pattern without such words may match any text)."""

    __slots__ = ("words", "_guard")

    def __init__(self, pattern: str):
        words = derive([pattern])
        if words is not None and all(_lower_keeps_case_class(w, w.lower()) for w in words):
            self.words: tuple[str, ...] | None = tuple(_cover([w.lower() for w in words]))
            self._guard = _CaseGuard({ch for w in self.words for ch in w})
        else:
            self.words = None

    def may_match(self, text: str) -> bool:
        if self.words is None or not (self._guard.ascii_safe and text.isascii()) and self._guard.exotic_in(text):
            return True
        low = text.lower()
        return any(w in low for w in self.words)

    def spots(self, text: str) -> Spots | None:
        """Where the words stand in an ASCII text, to ask `may_match` of its stretches at once (None: ask each)."""
        if self.words is None or not (self._guard.ascii_safe and text.isascii()):
            return None
        low = text.lower()
        found = []
        for w in self.words:
            at = low.find(w)
            while at >= 0:
                found.append((at, at + len(w)))
                at = low.find(w, at + 1)
        return Spots(found)


class Spots:
    """Where some words stand in a text; `within(lo, hi)` is Literals.may_match(text[lo:hi])."""

    __slots__ = ("starts", "ends")

    def __init__(self, found: list[tuple[int, int]]):
        found.sort()
        self.starts = [a for a, _ in found]
        self.ends = [b for _, b in found]

    def within(self, lo: int, hi: int) -> bool:
        starts, ends = self.starts, self.ends
        i = bisect.bisect_left(starts, lo)
        while i < len(starts) and starts[i] < hi:
            if ends[i] <= hi:
                return True
            i += 1
        return False


class Plan:
    """Where the regexes of one text may match: `selected`, the rules whose regexes may match it at all, and for
    a windowed rule the stretches to scan (`regions`); `low` is the text lowercased."""

    __slots__ = ("selected", "_found", "_spans", "low")

    def __init__(self, selected: frozenset[int] | set[int], found: dict[int, list[int]], spans: dict[int, tuple[int, int]], low: str):
        """`found`: where the words (or candidates) of each windowed rule stand in the text; `spans`: for a
        windowed rule, (how far before such a position its match may start, how far right of its start it may
        look)."""
        self.selected = selected
        self._found = found
        self._spans = spans
        self.low = low

    def regions(self, i: int, n: int) -> list[tuple[int, int, int]] | None:
        """The (pos, last, endpos) stretches of the text (n characters) to scan for rule i, or None to scan it
        whole: every match starts at some pos <= start <= last and looks at no character at or after endpos.
        A stretch with pos == last is one attempt at pos (a rule whose matches start at its words)."""
        span = self._spans.get(i)
        ts = self._found.get(i)
        if span is None or not ts:
            return None
        before, reach = span
        if len(ts) == 1:  # the loop below, unrolled for the common case
            t = ts[0]
            if before == 0:
                return [(t, t, min(t + reach + 1, n))] if _CALL_COST < n else None
            a, e = t - before, t + reach + 1
            return [(a if a > 0 else 0, t, e if e < n else n)] if e - a < n else None
        ts = sorted(ts)
        if before == 0:
            return [(t, t, min(t + reach + 1, n)) for t in ts] if len(ts) * _CALL_COST < n else None
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
        return out if scanned + e - a < n else None


class WholeWords:
    """Finds the matches of a whole-word alternation of literal words (e.g. job titles, company suffixes) only
    where one of its words stands, about 10x faster than the `regex` module trying a long alternation at every
    position: one stdlib scan of a trie of the case-insensitive words over the lowercased text and one of the
    case-sensitive words over the text find the candidates, each a word not followed by an ASCII letter, and the
    exact pattern runs only there. The matches are exactly the exact pattern's: every match starts within a
    candidate (each scan takes the leftmost longest word at each step, so a word it skips overlaps one it took)
    and looks at most `reach` characters right of its start. A text where lowercasing does not stand in for case
    folding, or any text for a list with a word whose lowercase has another length, is scanned whole."""

    __slots__ = ("pattern", "_caseless", "_exact", "_guard", "_whole", "_reach")

    def __init__(self, pattern: regex.Pattern[str], caseless: Iterable[str], exact: Iterable[str] = ()):
        """`pattern`: the exact pattern, matching the `caseless` words case-insensitively and the `exact` ones in
        their case, not followed by a letter, with lookbehinds of one character at most."""
        self.pattern = pattern
        caseless = [w for w in caseless if w]
        exact = [w for w in exact if w]
        lowered = sorted({w.lower() for w in caseless})
        # a word whose lowercase is longer or shorter would shift positions: such a list is scanned whole
        self._whole = any(len(w) != len(w.lower()) for w in caseless)
        self._caseless = re.compile(f"(?:{_trie(lowered)})(?![a-z])") if lowered and not self._whole else None
        self._exact = re.compile(f"(?:{_trie(sorted(set(exact)))})(?![a-zA-Z])") if exact else None
        self._guard = _CaseGuard(ch for w in lowered for ch in w)
        self._reach = max((len(w) for w in caseless + exact), default=0) + 1

    def candidates(self, text: str) -> list[tuple[int, int]] | None:
        """The (first, last) stretches where a match may start, in order and apart (overlapping candidates of the
        two scans are joined); None: anywhere."""
        scans = self._scans(text)
        if scans is None:
            return None
        found = [[(m.start(), m.end() - 1) for m in scan] for scan in scans]
        if len(found) == 1 or not found[1]:
            return found[0]  # one scan's candidates are apart already
        if not found[0]:
            return found[1]
        out: list[tuple[int, int]] = []
        for first, last in sorted(found[0] + found[1]):
            if out and first <= out[-1][1]:
                if last > out[-1][1]:
                    out[-1] = (out[-1][0], last)
            else:
                out.append((first, last))
        return out

    def search(self, text: str) -> regex.Match[str] | None:
        """The first match, as `pattern.search(text)`; the scans stop at the first candidate that holds one."""
        scans = self._scans(text)
        if scans is None:
            return self.pattern.search(text)
        n, reach, pattern = len(text), self._reach, self.pattern
        for c in heapq.merge(*scans, key=_start) if len(scans) > 1 else scans[0]:
            # a match starting in the candidate looks no further than its start + reach - 1: the window holds it
            last = c.end() - 1
            m = pattern.search(text, c.start(), min(n, last + reach))
            if m is not None and m.start() <= last:
                return m
        return None

    def _scans(self, text: str) -> list[Iterator[re.Match[str]]] | None:
        """The candidate scans (lazy, each in order), or None when lowercasing cannot stand in for case folding."""
        if self._whole:
            return None
        scans: list[Iterator[re.Match[str]]] = []
        if self._caseless is not None:
            guard = self._guard
            low = text.lower()
            if len(low) != len(text) or not (guard.ascii_safe and text.isascii()) and guard.exotic_in(text):
                return None
            scans.append(self._caseless.finditer(low))
        if self._exact is not None:
            scans.append(self._exact.finditer(text))
        return scans if scans else [iter(())]


_start = re.Match.start


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
