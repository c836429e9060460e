"""Case-insensitive patterns run case-sensitively on lowercased ASCII text.

The `regex` module matches case-insensitively by comparing case variants of each character, which makes a scan
slower. An ASCII text lowercases character by character, so its positions stay put, and a case-insensitive
pattern matches it exactly where its twin matches the lowercased text: the same pattern with its uppercase
ASCII letters lowercased (which does not change what it matches case-insensitively), compiled case-sensitively,
provided every character, class and category of the twin accepts an ASCII character case-insensitively just
when it accepts that character's lowercase form. `ascii_twin` checks both with the stdlib parser and the
`regex` module itself; a pattern it cannot check that way (syntax the stdlib parser does not read as `regex`
does, other than \\p{..}; inline flags; backreferences) has no twin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import regex

try:  # the stdlib parser gives the structure of a pattern; without it no pattern has a twin
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parser = None  # type: ignore[assignment]

# the pieces of a pattern: a Unicode property (stands in the parsed pattern as a private-use character), a group
# name, another escape, a character
_PIECE = re.compile(r"\\[pP](?:\{[^}]*\}|[A-Za-z])|\(\?P[<=][^>)]*[>)]|\\.|.", re.S)
# syntax the stdlib parser reads differently from `regex` or not at all: fuzzy counts, POSIX classes, inline
# flags and group kinds other than (?: (?= (?! (?<= (?<! (?> (?P
_FOREIGN = re.compile(r"\{(?!\d*(?:,\d*)?\})|\[:\^?\w+:\]|\(\?[^:=!<>P#]")
# the same, allowing inline flags both parsers read alike
_FOREIGN_FLAGS = re.compile(r"\{(?!\d*(?:,\d*)?\})|\[:\^?\w+:\]|\(\?[a-zA-Z-]*[^aiLmsux:=!<>P#()-]")
_PRIVATE = 0xE000
_ASCII = [chr(c) for c in range(128)]
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s", "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}


def ascii_twin(pattern: regex.Pattern[str]) -> regex.Pattern[str] | None:
    """The case-sensitive twin of a case-insensitive pattern (see above), or None."""
    if not pattern.flags & regex.IGNORECASE or _sre_parser is None:
        return None
    split = split_properties(pattern.pattern)
    if split is None:
        return None
    source, properties = split
    pieces = _PIECE.findall(source)
    # the source of the twin for the stdlib parser, and for `regex` (properties restored)
    lowered = [p.lower() if len(p) == 1 and "A" <= p <= "Z" else p for p in pieces]
    twin = [_char(ord(p), properties) if len(p) == 1 and is_property(ord(p), properties) else p for p in lowered]
    try:
        tree, twin_tree = _sre_parser.parse(source), _sre_parser.parse("".join(lowered))
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return None
    if _shape(tree, fold=True) != _shape(twin_tree, fold=False) or tree.state.groupdict != twin_tree.state.groupdict:
        return None  # lowercasing changed more than the case of letters (e.g. a range [0-Z])
    flags = pattern.flags & ~regex.IGNORECASE
    atoms = set(_atoms(list(twin_tree), properties))
    if None in atoms:
        return None
    for atom in atoms:
        assert atom is not None
        folded, exact = regex.compile(atom, pattern.flags), regex.compile(atom, flags)
        if any(bool(folded.fullmatch(x)) != bool(exact.fullmatch(x.lower())) for x in _ASCII):
            return None
    return regex.compile("".join(twin), flags)


def split_properties(source: str, inline_flags: bool = False) -> tuple[str, list[str]] | None:
    """The pattern with each Unicode property (\\p{..}) as a private-use character, for the stdlib parser, and the
    properties in order; None for syntax the stdlib parser does not read as `regex` does (with `inline_flags`,
    the flags both read alike are allowed: i, m, s, x, a, u, L)."""
    if any(_PRIVATE <= ord(ch) < _PRIVATE + 0x1900 for ch in source):
        return None
    properties: list[str] = []
    parsed = []
    for piece in _PIECE.findall(source):
        if piece[0] == "\\" and piece[1] in "pP":
            parsed.append(chr(_PRIVATE + len(properties)))
            properties.append(piece)
        else:
            parsed.append(piece)
    out = "".join(parsed)
    if (_FOREIGN_FLAGS if inline_flags else _FOREIGN).search(re.sub(r"\\.", "", out, flags=re.S)):
        return None
    return out, properties


def _shape(node: Any, fold: bool) -> Any:
    """A parsed pattern as nested tuples; with `fold`, its uppercase ASCII literals and ranges lowercased."""
    if isinstance(node, _sre_parser.SubPattern):
        node = node.data
    if not isinstance(node, (list, tuple)):
        return node
    if fold and len(node) == 2 and node[0] in (_c.LITERAL, _c.NOT_LITERAL) and 65 <= node[1] <= 90:
        return node[0], node[1] + 32
    if fold and len(node) == 2 and node[0] is _c.RANGE and all(65 <= v <= 90 for v in node[1]):
        return node[0], (node[1][0] + 32, node[1][1] + 32)
    if len(node) == 2 and node[0] is _c.IN:  # a class is a set: the parser drops repeated items
        return node[0], frozenset(_shape(x, fold) for x in node[1])
    return tuple(_shape(x, fold) for x in node)


def _atoms(items: Sequence[tuple[Any, Any]], properties: list[str]) -> Iterator[str | None]:
    """Each character-consuming element of a parsed pattern as a pattern of its own; None for one with no twin."""
    for op, av in items:
        if op is _c.LITERAL:
            yield _char(av, properties)
        elif op is _c.NOT_LITERAL:
            yield "[^" + _char(av, properties) + "]"
        elif op is _c.IN:
            yield class_source(av, properties)
        elif op is _c.CATEGORY:
            yield _CATEGORIES.get(str(av))
        elif op is _c.SUBPATTERN:
            _, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                yield None
            else:
                yield from _atoms(list(sub), properties)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            yield from _atoms(list(av[1]), properties)
        elif op is _c.ATOMIC_GROUP:
            yield from _atoms(list(av), properties)
        elif op is _c.BRANCH:
            for alternative in av[1]:
                yield from _atoms(list(alternative), properties)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            yield from _atoms(list(av[2]), properties)
        elif op is not _c.ANY and op is not _c.AT:  # any character and anchors do not depend on case
            yield None


def is_property(code: int, properties: list[str]) -> bool:
    """The character stands for one of the properties in a source from `split_properties`."""
    return _PRIVATE <= code < _PRIVATE + len(properties)


def _char(code: int, properties: list[str]) -> str:
    if is_property(code, properties):
        return properties[code - _PRIVATE]
    return regex.escape(chr(code), special_only=False)


def class_source(items: Sequence[tuple[Any, Any]], properties: list[str]) -> str | None:
    """A `regex` class of the items of a parsed class (properties restored), or None for one it cannot write."""
    parts = []
    for op, av in items:
        if op is _c.NEGATE:
            parts.append("^")
        elif op is _c.LITERAL:
            parts.append(_char(av, properties))
        elif op is _c.RANGE and not any(is_property(v, properties) for v in av):
            parts.append(_char(av[0], properties) + "-" + _char(av[1], properties))
        elif op is _c.CATEGORY and str(av) in _CATEGORIES:
            parts.append(_CATEGORIES[str(av)])
        else:
            return None
    return "[" + "".join(parts) + "]"
