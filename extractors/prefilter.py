"""Literal words before a regex: a rule's regexes run only on a part holding one of its trigger words, and a
sentence cue's alternation is searched only where one of its words stands.

Both compare casefolded text with casefolded words, which finds every place where the `regex` module's
case-insensitive matching could (casefolding maps more characters together than it does, never fewer: "ſ" and
"s", "ß" and "ss"), so a text is never passed over when its regex could match it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence


class Triggers:
    """Which rules' regexes may match a text: `words[i]` are rule i's trigger words, one of which each of its
    matches contains; a rule without trigger words may match any text."""

    def __init__(self, words: Sequence[Sequence[str]]):
        self.always = frozenset(i for i, w in enumerate(words) if not w)
        self.rules_of: dict[str, list[int]] = {}
        for i, ws in enumerate(words):
            for w in dict.fromkeys(x.casefold() for x in ws):
                self.rules_of.setdefault(w, []).append(i)

    def select(self, text: str) -> frozenset[int] | set[int]:
        """The indices of the rules whose regexes may match the text."""
        if not self.rules_of:
            return self.always
        low = text.casefold()
        found = set(self.always)
        for word, rules in self.rules_of.items():
            if word in low:
                found.update(rules)
        return found


class Words:
    """Literal words (a word list's own words): where they stand in a text, and whether a text may hold one."""

    __slots__ = ("words",)

    def __init__(self, words: Iterable[str]):
        self.words = tuple(dict.fromkeys(w.casefold() for w in words if w))

    def may_match(self, text: str) -> bool:
        low = text.casefold()
        return any(w in low for w in self.words)

    def spots(self, text: str) -> Spots | None:
        """Where the words stand in a text (None when casefolding changes its length: ask `may_match`)."""
        low = text.casefold()
        if len(low) != len(text):
            return None
        found = []
        for w in self.words:
            at = low.find(w)
            while at >= 0:
                found.append((at, at + len(w)))
                at = low.find(w, at + 1)
        return Spots(found)


class Spots:
    """Where some words stand in a text; `within(lo, hi)` says whether one stands wholly in text[lo:hi]."""

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
