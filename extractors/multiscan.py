"""Where each rule's regexes may match, from one Hyperscan pass over a part (when the `hyperscan` package is there).

Hyperscan matches hundreds of patterns at once in one pass, but it knows neither lookarounds nor Unicode word
classes the way the `regex` module does, and it reports only where a match ends. So it serves as a prefilter:
each rule's regex is translated into a Hyperscan pattern that matches *at least* wherever the regex matches
(`translate`), and the engine then runs the real regex only on the stretches just before the reported ends
(`patterns.extent` bounds how long a match can be). A regex that cannot be translated, or a text the translation
cannot read, falls back to the trigger-word prefilter (`prefilter`).

The text Hyperscan reads is an image of the text with one byte per character, so that byte offsets are character
offsets: the text lowercased, ASCII as itself and any other character as one of 127 high bytes (0x80 + code point
mod 127; different characters may share a byte, which only adds candidates). The translation lowercases its
literals the same way and, to stay a superset:
  - drops lookarounds, word boundaries and anchors (they only ever remove matches);
  - turns a class into the bytes of the ASCII characters it accepts plus every high byte as soon as it may accept
    a character outside ASCII other than its own literals (\\w, \\d, \\s, \\p{..}, negated classes, wide ranges);
  - turns atomic groups and possessive or lazy repeats into plain ones, and repeats of more than 16 into
    unbounded ones (Hyperscan's automata grow with bounded repeats);
  - refuses back-references and conditionals (no translation: the rule keeps the trigger prefilter).
A text holding a character whose lowercase is not how the `regex` module folds its case (e.g. "ſ" matches "s"),
or whose lowercase changes its length, is left to the trigger prefilter as well.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import threading
from collections.abc import Sequence
from typing import Any

import regex

from extractors.casefold import class_source, is_property, split_properties
from extractors.heap import release_freed_memory
from extractors.patterns import items_extent

try:
    import hyperscan
except ImportError:  # pragma: no cover - a platform without a hyperscan wheel: the trigger prefilter alone
    hyperscan = None  # type: ignore[assignment]

try:
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parser = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

AVAILABLE = hyperscan is not None and _sre_parser is not None
_HIGH = frozenset(range(0x80, 0xFF))
_ALL = frozenset(range(0x100))
_MAX_BOUNDED = 16  # a repeat bounded above this becomes unbounded
_FLAGS = 0 if hyperscan is None else hyperscan.HS_FLAG_PREFILTER


def image_byte(ch: str) -> int:
    """The byte standing for a lowercase character in the image."""
    code = ord(ch)
    return code if code < 0x80 else 0x80 + code % 127


class _Image(dict):  # type: ignore[type-arg]
    """str.translate table: ASCII -> itself, another character -> its image byte (as a Latin-1 character)."""

    def __missing__(self, code: int) -> int:
        out = self[code] = image_byte(chr(code))
        return out


_IMAGE = _Image((c, c) for c in range(0x80))
_EXOTIC: dict[str, bool] = {}


def _exotic(ch: str) -> bool:
    """A character the image cannot stand for: its lowercase is not one character, or not the lowercase of its
    case partners (the `regex` module folds "ſ" with "s", "ς" with "σ")."""
    bad = _EXOTIC.get(ch)
    if bad is None:
        low = ch.lower()
        bad = _EXOTIC[ch] = len(low) != 1 or ch.upper().lower() != low or low.upper().lower() != low
    return bad


def image(text: str, low: str) -> bytes | None:
    """The one-byte-per-character image of a text (`low`: the text lowercased), or None when it has none."""
    if text.isascii():
        return low.encode("ascii")
    if len(low) != len(text) or any(_exotic(ch) for ch in set(text) if not ch.isascii()):
        return None
    return low.translate(_IMAGE).encode("latin-1")


def translate(pattern: regex.Pattern[str], trim: bool = False) -> tuple[bytes, tuple[int, int] | None] | None:
    """A Hyperscan pattern matching the image wherever the regex matches the text (see above), or None.

    With `trim`, what a match may end with beyond its first characters is left out (an optional tail or the
    optional repetitions of a last repeat, e.g. `[^.\\n]{2,40}` as `[^.\\n]{2}`; a lookahead), and the second
    value is (lo, hi): the shortest and longest the rest can be (None: nothing was trimmed). The same texts have
    a candidate, but where a loose tail would report a candidate end at every place it could stop, the rest is
    reported once; a match starts between hi and lo characters before its candidate's end."""
    if _sre_parser is None:
        return None
    split = split_properties(pattern.pattern, inline_flags=True)
    if split is None:
        return None
    source, properties = split
    try:
        tree = _sre_parser.parse(source)
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return None
    ci = bool(pattern.flags & regex.IGNORECASE) or bool(tree.state.flags & re.I)
    items = list(tree)
    span = None
    if trim and (kept := _trimmed(items)) is not items and (ext := items_extent(kept)) is not None and ext[0] > 0:
        items, span = kept, (ext[0], ext[1])
    try:
        out = _Translator(properties, pattern.flags).seq(items, ci)
    except _Untranslatable:
        return None
    return (out.encode("latin-1"), span) if out else None


def _trimmed(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The sequence without what a match may end with beyond its first characters: the elements at its end that
    may consume nothing, and the optional repetitions of a repeat at its end (looking into a last group); the
    same list when there are none."""
    end = len(items)
    while end and (ext := items_extent(items[end - 1 : end])) is not None and ext[0] == 0:
        end -= 1
    if end:
        op, av = items[end - 1]
        if op is _c.SUBPATTERN:
            inner = list(av[-1])
            if (kept := _trimmed(inner)) is not inner:
                return [*items[: end - 1], (op, (*av[:-1], kept))]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] < av[1]:
            return [*items[: end - 1], (_c.MAX_REPEAT, (av[0], av[0], av[2]))]
    return items if end == len(items) else items[:end]


class _Untranslatable(Exception):
    pass


class _Translator:
    def __init__(self, properties: list[str], flags: int):
        self.properties = properties
        self.flags = flags & ~regex.IGNORECASE

    def seq(self, items: Sequence[tuple[Any, Any]], ci: bool) -> str:
        return "".join(self.node(op, av, ci) for op, av in items)

    def node(self, op: Any, av: Any, ci: bool) -> str:
        if op is _c.LITERAL:
            return self._bytes(self._literal(av, ci))
        if op in (_c.NOT_LITERAL, _c.ANY):
            return self._bytes(_ALL)
        if op is _c.IN:
            return self._bytes(self._class(av, ci))
        if op is _c.BRANCH:
            return "(?:" + "|".join(self.seq(list(alt), ci) for alt in av[1]) + ")"
        if op is _c.SUBPATTERN:
            _, add_flags, del_flags, sub = av
            inner = ci and not del_flags & 2 or bool(add_flags & 2)
            return "(?:" + self.seq(list(sub), inner) + ")"
        if op is _c.ATOMIC_GROUP:
            return "(?:" + self.seq(list(av), ci) + ")"
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            body = "(?:" + self.seq(list(sub), ci) + ")"
            if hi == _c.MAXREPEAT or hi > _MAX_BOUNDED:
                return f"{body}{{{min(lo, _MAX_BOUNDED)},}}"
            return f"{body}{{{lo},{hi}}}"
        if op in (_c.ASSERT, _c.ASSERT_NOT, _c.AT):
            return ""
        raise _Untranslatable(str(op))

    def _literal(self, code: int, ci: bool) -> frozenset[int]:
        if is_property(code, self.properties):
            return self._class([(_c.LITERAL, code)], ci)
        low = chr(code).lower()
        if len(low) != 1:
            return _ALL
        return frozenset((image_byte(low),))

    def _class(self, items: Sequence[tuple[Any, Any]], ci: bool) -> frozenset[int]:
        out: set[int] = set()
        source = []
        for op, av in items:
            if op is _c.LITERAL and av >= 0x80 and not is_property(av, self.properties):
                out |= self._literal(av, ci)
                continue
            if op is _c.RANGE and av[1] >= 0x80:
                out |= _HIGH
            elif op is _c.NEGATE or op is _c.CATEGORY or op is _c.LITERAL and av >= 0x80:
                out |= _HIGH  # \w \d \s and negated classes or properties accept characters outside ASCII
            source.append((op, av))
        if source:
            if (written := class_source(source, self.properties)) is None:
                raise _Untranslatable("class")
            out |= self._accepting(written, ci)
        return frozenset(out)

    def _accepting(self, source: str, ci: bool) -> frozenset[int]:
        """The image bytes of the ASCII characters a class accepts."""
        try:
            cls = regex.compile(source, self.flags | (regex.IGNORECASE if ci else 0))
        except regex.error as e:
            raise _Untranslatable(source) from e
        return frozenset(ord(chr(c).lower()) for c in range(0x80) if cls.fullmatch(chr(c)))

    @staticmethod
    def _bytes(accepted: frozenset[int]) -> str:
        if not accepted:
            raise _Untranslatable("a class accepting nothing")
        if len(accepted) == 1:
            return _hex(next(iter(accepted)))
        if accepted == _ALL:
            return "[\\x00-\\xff]"
        runs: list[list[int]] = []
        for b in sorted(accepted):
            if runs and runs[-1][1] == b - 1:
                runs[-1][1] = b
            else:
                runs.append([b, b])
        return "[" + "".join(_hex(a) if a == b else f"{_hex(a)}-{_hex(b)}" for a, b in runs) + "]"


def _hex(b: int) -> str:
    return f"\\x{b:02x}"


class Multiscan:
    """One Hyperscan database for a list of regexes, compiled when first used (about 0.2-0.9 s per language, in a
    child process); `ends` says, for each translated regex with a match candidate in a text, where its candidates
    end (for one without windows, only that it has one)."""

    def __init__(self, patterns: Sequence[regex.Pattern[str]], longest: Sequence[int | None], skip: frozenset[int] = frozenset()):
        """`longest[i]`: the longest match of regex i, or None when it is scanned whole when it may match (no
        windows: one candidate is enough); the regexes in `skip` are left out."""
        self._entries: list[tuple[int, bytes]] = []
        # regex i -> (lo, hi): its match starts between hi and lo characters before the end of a candidate
        self.offsets: dict[int, tuple[int, int]] = {}
        for i, p in enumerate(patterns if AVAILABLE else ()):
            if i in skip or (translated := translate(p, trim=longest[i] is not None)) is None:
                continue
            self._entries.append((i, translated[0]))
            if (n := longest[i]) is not None:
                self.offsets[i] = translated[1] or (1, n)
        self._flags = {i: _FLAGS | (0 if i in self.offsets else hyperscan.HS_FLAG_SINGLEMATCH) for i, _ in self._entries}
        self.covered = frozenset(i for i, _ in self._entries)
        # covered regexes Hyperscan could not compile after all: candidates everywhere (known once compiled)
        self.uncompiled: frozenset[int] = frozenset()
        self._db: Any = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def ends(self, data: bytes) -> dict[int, list[int]]:
        """Regex index -> the offsets where its candidates end, for the covered regexes with a candidate."""
        found: dict[int, list[int]] = {}

        def on_match(i: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            ends = found.get(i)
            if ends is None:
                found[i] = [end]
            else:
                ends.append(end)

        db = self._db if self._db is not None else self._compile()
        if db is not False:
            try:
                db.scan(data, match_event_handler=on_match, scratch=self._scratch(db))
            except hyperscan.error as e:  # not expected; every regex then runs on every text, as without windows
                log.warning("Hyperscan scan failed (%s); the regexes it stood for now run on every text", e)
                self._db, self.uncompiled = False, self.covered
                return {}
        return found

    def prepare(self) -> None:
        """Compile the database now rather than for the first text."""
        if self._db is None:
            self._compile()

    def _compile(self) -> Any:
        with self._lock:
            if self._db is None:
                db, kept = _compile_apart(self._entries, self._flags)
                self.uncompiled = self.covered - set(kept)
                self._db = db if db is not None else False
        return self._db

    def _scratch(self, db: Any) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(db)
        return scratch


def _compile_apart(entries: list[tuple[int, bytes]], flags: dict[int, int]) -> tuple[Any, list[int]]:
    """`_compile` in a short-lived child process, the database handed back serialized: Hyperscan's compiler
    touches about 5 MB of its library's code and 20 MB of working memory that would otherwise stay in the
    daemon's RSS. Where there is no fork, in this process. A child that fails leaves no database (every regex
    then runs on every text, as without windows): compiling here what crashed there could take the daemon down."""
    if not entries:
        return None, []
    if hasattr(os, "fork"):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compile, write (database, kept ids), exit without running any cleanup
            status = 1
            try:
                os.close(read)
                db, kept = _compile(entries, flags)
                with os.fdopen(write, "wb") as out:
                    pickle.dump((None if db is None else hyperscan.dumpb(db), kept), out)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status == 0 and payload:
            blob, kept = pickle.loads(payload)  # noqa: S301 - written by our own child process
            return (None if blob is None else hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)), kept
        log.warning("Hyperscan compilation failed in its child process (exit status %d); the rules' regexes run "
                    "without its windows", os.waitstatus_to_exitcode(status))
        return None, []
    db, kept = _compile(entries, flags)
    release_freed_memory(collect=False)  # the compiler's working memory
    return db, kept


def _compile(entries: list[tuple[int, bytes]], flags: dict[int, int]) -> tuple[Any, list[int]]:
    """A database of the entries Hyperscan compiles (one that fails is left out), and the ids in it."""
    try:
        return _database(entries, flags), [i for i, _ in entries]
    except hyperscan.error:
        pass
    kept = []
    for entry in entries:
        try:
            _database([entry], flags)
            kept.append(entry)
        except hyperscan.error as e:
            log.info("Hyperscan cannot compile the prefilter of regex %d (%s); it is scanned whole", entry[0], e)
    if not kept:
        return None, []
    return _database(kept, flags), [i for i, _ in kept]


def _database(entries: list[tuple[int, bytes]], flags: dict[int, int]) -> Any:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[p for _, p in entries], ids=[i for i, _ in entries], elements=len(entries),
               flags=[flags[i] for i, _ in entries])
    return db
