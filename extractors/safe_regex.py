"""User regexes, bounded: rejected when they can backtrack catastrophically, run with a timeout.

Shipped rules are reviewed and pass the same static check; the engine runs them without the timeout (it costs
~20% of a scan) and keeps it for the rules of a user's overlay folder.
"""

from __future__ import annotations

import regex

# A group that is repeated and itself contains an unbounded quantifier: (a+)+, (\w*)*, (x|y+){2,}
# (checked on the pattern with escapes and character classes blanked out)
_NESTED = regex.compile(r"\([^()]*(?:[+*]|\{\d+,\})[^()]*\)(?:[+*]|\{\d*,\d*\})")
_BLANK = regex.compile(r"\\.|\[(?:\\.|[^\]\\])*\]")
# Adjacent unbounded repeats of overlapping classes: \w+\w+, .*.*, \d*\d+
_ADJACENT = regex.compile(r"(\\[wds]|\.)[+*]\??\1[+*]")
MATCH_TIMEOUT_S = 0.05
MAX_PATTERN = 2000


class UnsafePattern(ValueError):
    pass


def check_shape(pattern: str) -> None:
    """Raise UnsafePattern with a hint if the pattern may backtrack catastrophically (without compiling it)."""
    if len(pattern) > MAX_PATTERN:
        raise UnsafePattern(f"pattern is longer than {MAX_PATTERN} characters")
    if _NESTED.search(_BLANK.sub("c", pattern)):
        raise UnsafePattern(
            "a repeated group contains an unbounded quantifier, e.g. (a+)+; "
            "this can backtrack catastrophically: use an atomic group (?>...) or a possessive quantifier"
        )
    if _ADJACENT.search(pattern):
        raise UnsafePattern("two adjacent unbounded repeats of the same class (e.g. \\w+\\w+); merge them into one")


def check(pattern: str, flags: int = regex.IGNORECASE | regex.V0) -> None:
    """Raise UnsafePattern with a hint if the pattern is invalid or may backtrack catastrophically (compiled with
    the flags it will run with: the `regex` module keeps the compiled pattern for that use)."""
    check_shape(pattern)
    try:
        regex.compile(pattern, flags)
    except regex.error as e:
        raise UnsafePattern(f"not a valid regular expression: {e}") from e


def compile_bounded(pattern: str, flags: int = regex.IGNORECASE | regex.V0) -> regex.Pattern[str]:
    check(pattern, flags)
    return regex.compile(pattern, flags)


def finditer(pattern: regex.Pattern[str], text: str, bounded: bool = True) -> list[regex.Match[str]]:
    """All matches, or none if the pattern runs past its time bound (`bounded`)."""
    try:
        if bounded:
            return list(pattern.finditer(text, timeout=MATCH_TIMEOUT_S))
        return list(pattern.finditer(text))
    except TimeoutError:
        return []


def match_at(pattern: regex.Pattern[str], text: str, starts: list[int], bounded: bool = True) -> list[regex.Match[str]]:
    """The matches `finditer` finds, when every match starts at one of `starts` (in order): each tried there,
    after the end of the match before; none if the pattern runs past its time bound (`bounded`)."""
    out: list[regex.Match[str]] = []
    end = 0
    try:
        for at in starts:
            if at < end:
                continue
            m = pattern.match(text, at, timeout=MATCH_TIMEOUT_S) if bounded else pattern.match(text, at)
            if m is not None:
                out.append(m)
                end = m.end() if m.end() > at else at + 1
    except TimeoutError:
        return []
    return out
