"""Literal words before a regex: a rule's regexes run only on a part holding one of its trigger words, a regex
that opens with a word fragment is tried only where one of its words starts (`Leads`), and a sentence cue's
alternation is searched only where one of its words stands.

They compare casefolded text with casefolded words, which finds every place where the `regex` module's
case-insensitive matching could (casefolding maps more characters together than it does, never fewer: "ſ" and
"s", "ß" and "ss"), so a text is never passed over when its regex could match it; where casefolding changes the
length of a text, positions are not looked up and the regex scans the whole text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"\w+")


class Leads:
    """Where the matches of a regex can start: at the start of a word that begins with one of the words it opens
    with (see `rules._Expander.lead`; a word of several, a space in it standing for any whitespace, by its
    first), anywhere such a word stands, or at a digit."""

    __slots__ = ("words", "caseless", "digits", "anywhere")

    def __init__(self, words: Iterable[str], caseless: bool):
        """`words` may also be ("\\d",): the matches start at a digit, or ("\\b\\d",): at a digit starting a word;
        words after a first "\\A*" may start anywhere, not only at the start of a word."""
        words = tuple(words)
        self.digits = "word" if words == ("\\b\\d",) else "any" if words == ("\\d",) else None
        self.anywhere = bool(words) and words[0] == "\\A*"
        words = words[1:] if self.anywhere else words
        self.caseless = caseless
        self.words = () if self.digits else tuple(
            dict.fromkeys((w.casefold() if caseless else w).split(" ")[0] for w in words if w.strip()))


class Places:
    """The starts of the words of one text (by their first two characters, casefolded and as written) and its
    digits: what `Leads` look up, found once per text."""

    __slots__ = ("text", "folded", "_by_prefix", "_digits", "word_starts", "_starts", "has_digit")

    def __init__(self, text: str, folded: str):
        self.text = text
        self.folded = folded
        self.has_digit = _DIGIT.search(text) is not None
        self._starts: dict[Leads, list[int]] = {}
        self.word_starts = [m.start() for m in _WORD.finditer(text)]
        self._by_prefix: dict[bool, dict[str, list[int]]] = {}
        self._digits: list[int] | None = None

    def _index(self, caseless: bool) -> dict[str, list[int]]:
        """The word starts by their first two characters (casefolded, or as written)."""
        index = self._by_prefix.get(caseless)
        if index is None:
            index = self._by_prefix[caseless] = {}
            source = self.folded if caseless else self.text
            for at in self.word_starts:
                key = source[at : at + 2]
                if key in index:
                    index[key].append(at)
                else:
                    index[key] = [at]
        return index

    def has(self, lead: Leads) -> bool:
        """Whether a match may start somewhere in the text (stops at the first place found)."""
        if lead.digits is not None:
            return self.has_digit
        found = self._starts.get(lead)
        if found is not None:
            return bool(found)
        source = self.folded if lead.caseless else self.text
        if lead.anywhere:
            return any(w in source for w in lead.words)
        index = self._index(lead.caseless)
        for w in lead.words:
            places = index.get(w[:2])
            if places and any(source.startswith(w, at) for at in places):
                return True
        return False

    def starts(self, lead: Leads) -> list[int]:
        """The positions where a match of a regex with these leads may start, in order."""
        found = self._starts.get(lead)
        if found is None:
            found = self._starts[lead] = self._find(lead)
        return found

    def _find(self, lead: Leads) -> list[int]:
        if lead.digits == "any":
            if self._digits is None:
                self._digits = [m.start() for m in _DIGIT.finditer(self.text)]
            return self._digits
        if lead.digits == "word":
            return [at for at in self.word_starts if self.text[at].isdigit()]
        source = self.folded if lead.caseless else self.text
        found: list[int] = []
        if lead.anywhere:
            for w in lead.words:
                at = source.find(w)
                while at >= 0:
                    found.append(at)
                    at = source.find(w, at + 1)
            return sorted(set(found))
        index = self._index(lead.caseless)
        for w in lead.words:
            for at in index.get(w[:2], ()):
                if source.startswith(w, at):
                    found.append(at)
        return sorted(set(found)) if len(lead.words) > 1 else found


class Triggers:
    """Which rules' regexes may match a text: `words[i]` are rule i's trigger words, one of which each of its
    matches contains; a rule without trigger words may match any text. A word of several (a space in it stands
    for any whitespace, as in a word fragment) is looked for by its longest one."""

    def __init__(self, words: Sequence[Sequence[str]]):
        self.always = frozenset(i for i, w in enumerate(words) if not w)
        self.rules_of: dict[str, list[int]] = {}
        for i, ws in enumerate(words):
            for w in dict.fromkeys(max(x.casefold().split() or [""], key=len) for x in ws):
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
