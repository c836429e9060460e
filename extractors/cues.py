"""Sentence cues of one language (from its grammar.toml): questions, requests and negations.

Each word list is one case-insensitive alternation with boundary checks on Latin and digit edges; a sentence or
window without one of its words (see `prefilter.Words`) is not searched.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

from extractors.prefilter import Spots, Words
from extractors.rules import Grammar

_NEGATION_WINDOW = 24  # a negation word counts in this many characters before a hit


def _edge(word: str) -> str:
    """A word with boundary checks on its Latin or digit edges only (Han text has no spaces between words)."""
    left = "" if not regex.match(r"[\p{L}\p{N}]", word[0]) or regex.match(r"\p{Han}", word[0]) else r"(?<![\p{L}\p{N}])"
    right = "" if not regex.match(r"[\p{L}\p{N}]", word[-1]) or regex.match(r"\p{Han}", word[-1]) else r"(?![\p{L}\p{N}])"
    return left + regex.escape(word) + right


def _compile_terms(terms: Iterable[str]) -> regex.Pattern[str] | None:
    words = sorted({t.lower() for t in terms if t}, key=len, reverse=True)
    if not words:
        return None
    return regex.compile("(?:" + "|".join(_edge(w) for w in words) + ")", regex.I)


class _Terms:
    """A compiled word list, searched only in a text that holds one of its words."""

    __slots__ = ("pattern", "literals")

    def __init__(self, terms: Iterable[str]):
        terms = list(terms)
        self.pattern = _compile_terms(terms)
        self.literals = None if self.pattern is None else Words(terms)

    def spots(self, text: str) -> Spots | None:
        return None if self.literals is None else self.literals.spots(text)

    def search(self, text: str, spots: Spots | None = None, start: int = 0, end: int = 0) -> bool:
        """Whether the text has one of the words; `spots` (of the whole of which text is [start:end]) says
        where the literal words stand."""
        if self.pattern is None or self.literals is None:
            return False
        if not (spots.within(start, end) if spots is not None else self.literals.may_match(text)):
            return False
        return self.pattern.search(text) is not None


class Cues:
    """One language's question markers, request openings, question endings and negation words."""

    def __init__(self, grammar: Grammar):
        self.question_markers = _Terms(grammar.question_markers)
        self.request_starts = _compile_terms(grammar.request_starts)
        self.negations = _Terms(grammar.negations)
        self.question_end = tuple(grammar.question_end)
        self.vague = frozenset(w.lower() for w in grammar.vague)

    def is_vague(self, value: str) -> bool:
        """Whether a text value is only one of the vague words ("good quality", "personalizado"): no value."""
        return value.strip(" .,;:!-").lower() in self.vague

    def spots(self, text: str) -> tuple[Spots | None, Spots | None]:
        """Where the literal words of the question markers and of the negations stand in a text."""
        return self.question_markers.spots(text), self.negations.spots(text)

    def is_question(self, text: str, start: int, end: int, spots: Spots | None = None) -> bool:
        """Whether text[start:end] is a question, unless it opens as a request ("could you quote ...?"): it ends
        so or has a question marker (`spots`: of the question markers in the text)."""
        s = text[start:end].strip()
        if not s:
            return False
        if self.request_starts is not None and self.request_starts.match(s.lower().lstrip("¿¡ ")) is not None:
            return False
        return s.endswith(self.question_end) or self.question_markers.search(s, spots, start, end)

    def negated(self, text: str, start: int, end: int, spots: Spots | None = None) -> bool:
        """A negation word stands in the characters of text[start:end] just before `end` (`spots`: of the
        negations in the text)."""
        if self.negations.pattern is None:
            return False
        lo = max(start, end - _NEGATION_WINDOW)
        if spots is not None and not spots.within(lo, end):
            return False  # what the search would say first, without the window
        tail = text[lo:end]
        # an ASCII tail lowercases to the same characters as the end of the lowercased whole
        window = tail.lower() if tail.isascii() else text[start:end].lower()[-_NEGATION_WINDOW:]
        return self.negations.search(window, spots, lo, end)
