"""Rules files: the strict schema, loading shipped rules plus a local overlay, fragments, collecting every error.

Layout of a rules folder (shipped `rules/` or a user's overlay):
  <lang>/*.toml      rules and fragments of one language (`en`, `zh`, `es`, ...); `shared/*.toml` apply to every
                     language (a shared rule's fragments are those of the message's language, else shared ones)
  <lang>/grammar.toml  question, request, negation and vague words of that language
  vocab/*.toml       named vocabularies (certifications, Incoterms, ports, free-mail domains, ...)
  *.toml at the top  decision thresholds, the question bank, platform adapters (read by their own modules)

A rule finds candidates with `regex`, `phrases`, `vocab` or spaCy token `patterns`, or combines other rules with
`all` / `any`; a rule without `item` or `signal` is a sub-rule, which feeds nothing by itself (see docs/rules.md).

Fragments: named pieces written once, `{NAME}` in a regex, a `trigger` list or a token pattern's `IN` list:
  [fragment]
  MONTH = { cldr = "months" }                  month names of the language (CLDR, through Babel; `locales`
                                               takes those of regional forms too: ["en", "en_GB"])
  UNIT = { words = ["pcs", "pieces", "sets"] }   literal words (a regex alternation, or a token `IN` list)
  PORT = { vocab = "ports" }                    a vocabulary's terms as words
  DAY = '\\d{1,2}(?:st|nd|rd|th)?'             a regex (it may use other fragments)

Optional `trigger` of a rule: literal words, one of which every match of the rule's regexes contains
(case-insensitive, e.g. `trigger = ["{DELIVERY}", "lead time"]`). The regexes then run only on a part that holds
one of them; keep the list complete: a match that holds none of the words is never found.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from extractors import cache, calendar, places, safe_regex
from extractors.core.errors import RulesError
from extractors.core.model import CONTEXT_SIGNALS, ITEM_IDS, QUESTION_TOPICS, RISK_SIGNALS, SIGNAL_IDS

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
# The parts of a message a rule can read (`parts`); a new part is one more name here and a text for it in
# `Extractor.run_rules` (`attachment`, the text read from attached files, is run by extractors/attached.py).
PARTS = ("text", "subject", "signature", "form", "headers", "sender", "filenames", "attachment")
DEFAULT_PARTS = ("text", "subject", "form", "attachment")
NORMALISERS = (
    "text",
    "quantity",
    "duration",
    "money",
    "incoterm",
    "payment",
    "certification",
    "term",
    "place",
)
# Signals that rules can feed; the signal stage combines them into the buyer signals (see decisions.toml).
SIGNAL_NAMES = SIGNAL_IDS + ("lure", "generic_greeting", "generic_interest", "out_of_office", "platform_form",
                             "order_words", "credit_terms", "unsubscribe_footer", "garbage_line") + tuple(
    f"asks_{topic}" for topic in QUESTION_TOPICS) + RISK_SIGNALS + CONTEXT_SIGNALS
# {NAME} in a regex, a trigger word or a token pattern: a fragment (not \p{..} / \P{..}, not a {2,5} count)
FRAGMENT_REF = re.compile(r"(?<!\\[pP])\{([A-Z][A-Z0-9_]+)\}")
# a regex that opens with a fragment: \b and the value group may come first; the fragment is not made optional
# what may stand before the opening of a regex's matches: a lookbehind (without groups), \b, the value group
_PREFIX = re.compile(r"(\(\?<[!=](?:\\.|\[(?:\\.|[^\]\\])*\]|[^()\\\[])*\))?(?:\\b)?(\(\?P<v>)?")
_SHORTEST_LEAD = 2  # an opening word shorter than this is found all over a text: its regex scans the whole text
_FEW_ANYWHERE = 16  # opening words looked for anywhere in a text (not only at word starts): at most this many
_LITERAL = re.compile(r"[A-Za-z0-9/\u00c0-\uffff]+")
DIGITS = ("\\d",)  # a lead: any digit
DIGIT_RUNS = ("\\b\\d",)  # a lead: a digit at the start of a word
ANYWHERE = "\\A*"  # a lead's first element when its words may start anywhere, not only at the start of a word
DEFAULT_WITHIN = 40  # characters between the hits of an `all` rule


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    """Context of a hit: `words` anywhere in its sentence, or a hit of one of the sub-rules `rules` at most
    `within` characters before or after it (no sentence end between)."""

    words: list[str] = []
    rules: list[str] = []
    within: int = Field(default=DEFAULT_WITHIN, ge=0, le=400)

    @model_validator(mode="after")
    def _something(self) -> Window:
        if not self.words and not self.rules:
            raise ValueError("give `words` or `rules` (sub-rule ids)")
        return self


class Rule(_Strict):
    id: str
    description: str = Field(min_length=1)
    item: str | None = None
    signal: str | None = None
    patterns: list[list[dict[str, Any]]] = []
    phrases: list[str] = []
    vocab: list[str] = []
    regex: list[str] = []
    all: list[str] = []  # sub-rules, each hit within `within` characters after the one before, in this order
    any: list[str] = []  # sub-rules, any of whose hits
    within: int = Field(default=DEFAULT_WITHIN, ge=0, le=400)
    value: str | None = None  # of `all`: the sub-rule whose span is the finding (default: the whole)
    trigger: list[str] = []  # words one of which every regex match contains
    parts: list[str] = list(DEFAULT_PARTS)
    normaliser: Literal[NORMALISERS] = "text"  # type: ignore[valid-type]
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    in_question: Literal["reject", "allow"] = "reject"
    negation: Literal["reject", "allow"] = "reject"
    near: list[str] | Window = []
    not_near: list[str] | Window = []
    case_sensitive: bool = False
    ok: list[str] = []
    fail: list[str] = []
    enabled: bool = True
    # rules of a language of its folder's `also_read` (English) that this one stands for in its language's mail
    replaces: list[str] = []

    @field_validator("id")
    @classmethod
    def _upper_snake(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError("rule ids are UPPER_SNAKE_CASE, e.g. LEAD_TIME_WITHIN_DAYS")
        return v

    @field_validator("item")
    @classmethod
    def _known_item(cls, v: str | None) -> str | None:
        if v is not None and v not in ITEM_IDS:
            raise ValueError(f"unknown item {v!r}; one of: {', '.join(ITEM_IDS)}")
        return v

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, v: str | None) -> str | None:
        if v is not None and v not in SIGNAL_NAMES:
            raise ValueError(f"unknown signal {v!r}; one of: {', '.join(SIGNAL_NAMES)}")
        return v

    @field_validator("parts")
    @classmethod
    def _known_parts(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in PARTS]
        if unknown:
            raise ValueError(f"unknown part {unknown[0]!r}; one of: {', '.join(PARTS)}")
        return v

    @field_validator("regex")
    @classmethod
    def _bounded(cls, v: list[str]) -> list[str]:
        for i, pattern in enumerate(v):
            try:  # as written, each fragment standing for one character (compiled once expanded)
                safe_regex.check_shape(FRAGMENT_REF.sub("(?:x)", pattern))
            except safe_regex.UnsafePattern as e:
                raise ValueError(f"regex {i}: {e}") from e
        return v

    @field_validator("trigger")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if any(not w for w in v):
            raise ValueError("trigger words are non-empty strings; remove the empty one")
        return v

    @model_validator(mode="after")
    def _feeds_at_most_one(self) -> Rule:
        if self.item is not None and self.signal is not None:
            raise ValueError("a rule feeds one of `item` or `signal` (or neither: a sub-rule for other rules)")
        if not (self.patterns or self.phrases or self.vocab or self.regex or self.all or self.any):
            raise ValueError("a rule needs at least one of patterns, phrases, vocab, regex, all or any")
        if (self.all or self.any) and (self.patterns or self.phrases or self.vocab or self.regex):
            raise ValueError("a rule either finds its own hits (patterns, phrases, vocab, regex) or combines "
                             "sub-rules (all, any); move one of them into a sub-rule")
        if self.all and self.any:
            raise ValueError("give `all` or `any`, not both; combine them through a sub-rule")
        if self.value is not None and self.value not in self.all:
            raise ValueError(f"`value` names one of the rules in `all`, not {self.value!r}")
        return self

    @property
    def is_sub_rule(self) -> bool:
        return self.item is None and self.signal is None

    @property
    def feeds(self) -> str:
        """The item a rule feeds, signal:<name>, or "" for a sub-rule."""
        return self.item if self.item is not None else f"signal:{self.signal}" if self.signal is not None else ""

    def uses(self) -> list[str]:
        """The sub-rules this rule reads (combined, or as context)."""
        out = list(self.all) + list(self.any)
        for w in (self.near, self.not_near):
            if isinstance(w, Window):
                out += w.rules
        return out

    def context_words(self, which: str) -> tuple[str, ...]:
        w = self.near if which == "near" else self.not_near
        return tuple(w.words if isinstance(w, Window) else w)


class Fragment(_Strict):
    description: str = ""
    regex: str | None = None
    words: list[str] = []
    vocab: str | None = None
    cldr: Literal["months", "months_abbr"] | None = None
    locales: list[str] = []  # of `cldr`: the CLDR locales whose names are taken (default: the language's)

    @field_validator("locales")
    @classmethod
    def _known_locales(cls, v: list[str]) -> list[str]:
        unknown = [x for x in v if not calendar.known(x)]
        if unknown:
            raise ValueError(f"unknown CLDR locale {unknown[0]!r}; e.g. en, en_GB, es_MX")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> Fragment:
        given = [k for k in ("regex", "words", "vocab", "cldr") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a fragment is one of: a regex, `words = [...]`, `vocab = \"name\"` or `cldr = \"months\"`")
        return self


class Vocab(_Strict):
    description: str = ""
    terms: list[str] = []
    case_sensitive: list[str] = []  # acronyms that only count in this exact case (e.g. "CE", "UL")
    canonical: dict[str, str] = {}  # variant -> canonical name
    # place names from CLDR (extractors/places.py) besides `terms`: "territories" (countries and regions) or
    # "cities" (the exemplar cities of the time zones), in `locales` (default: places.DEFAULT_LOCALES), each
    # mapped to its English name; a generated name equal to one of `case_sensitive` in any case is matched only
    # as CLDR writes it, one in `exclude` (any case) is not taken
    cldr: Literal["territories", "cities"] | None = None
    locales: list[str] = []
    exclude: list[str] = []

    @field_validator("locales")
    @classmethod
    def _known_locales(cls, v: list[str]) -> list[str]:
        unknown = [x for x in v if not places.known(x)]
        if unknown:
            raise ValueError(f"unknown CLDR locale {unknown[0]!r}; e.g. en, fr, zh_Hant, pt_BR")
        return v

    @model_validator(mode="after")
    def _locales_of_cldr(self) -> Vocab:
        if (self.locales or self.exclude) and self.cldr is None:
            raise ValueError("`locales` and `exclude` are for a `cldr` vocabulary; add cldr = \"territories\" or \"cities\"")
        return self


@dataclass(frozen=True)
class VocabTerms:
    """The terms of a vocabulary as one language's rules match them: case-insensitive, case-sensitive, and each
    term's canonical name (lowercased term -> name; `explicit` ones replace another vocabulary's)."""

    terms: tuple[str, ...]
    case_sensitive: tuple[str, ...]
    canonical: dict[str, str]
    explicit: dict[str, str]


class Grammar(_Strict):
    question_end: list[str] = ["?"]
    question_markers: list[str] = []  # anywhere in a sentence: a capability question ("do you have")
    request_starts: list[str] = []  # a sentence starting so is a request, not a question ("could you quote")
    negations: list[str] = []
    vague: list[str] = []


class RulesFile(_Strict):
    rule: list[Rule] = []
    fragment: dict[str, str | Fragment] = {}
    vocab: dict[str, Vocab] = {}
    grammar: Grammar | None = None
    disable: list[str] = []  # overlay: switch shipped rules off by id
    # of a language folder: the languages whose rules read its mail too, after its own (English: the fields of a
    # platform card and the English lines of a message), each rule in its own language's fragments
    also_read: list[str] = []

    @field_validator("fragment")
    @classmethod
    def _names(cls, v: dict[str, str | Fragment]) -> dict[str, str | Fragment]:
        for name in v:
            if not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
                raise ValueError(f"fragment name {name!r}: UPPER_SNAKE_CASE of two characters or more, e.g. MONTH")
        return v


@dataclass
class RuleSet:
    """Every enabled rule per language (fragments expanded), the vocabularies and grammars; built once, read by
    the engine. `written` keeps each rule as its file states it."""

    rules: dict[str, list[Rule]] = field(default_factory=dict)  # language -> rules (shared included), expanded
    vocab: dict[str, Vocab] = field(default_factory=dict)
    grammar: dict[str, Grammar] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    version: str = ""
    # ids of rules defined only in the shipped rules folder (reviewed): their regexes run without the timeout;
    # a rule from an overlay, or from a RuleSet built by other means, keeps it
    reviewed: set[str] = field(default_factory=set)
    written: dict[str, Rule] = field(default_factory=dict)  # rule id -> the rule as written
    origin: dict[str, str] = field(default_factory=dict)  # rule id or fragment name -> "file:line"
    fragments: dict[str, dict[str, Fragment]] = field(default_factory=dict)  # folder -> name -> fragment
    notices: list[str] = field(default_factory=list)  # what `rules check` reports without failing
    # (language, rule id) -> for each regex, the words every match starts with (its leading word fragment), or None
    leads: dict[tuple[str, str], list[tuple[str, ...] | None]] = field(default_factory=dict)
    shared: set[str] = field(default_factory=set)  # ids of the rules of shared/ (every language reads them)
    also_read: dict[str, list[str]] = field(default_factory=dict)  # language -> languages whose rules it reads too
    # of each `cldr` vocabulary: language -> (name, canonical name) of its locales' places
    places: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return sorted(self.rules)

    def count(self) -> int:
        return len({r.id for rules in self.rules.values() for r in rules})

    def all_rules(self) -> list[Rule]:
        seen: dict[str, Rule] = {}
        for rules in self.rules.values():
            for r in rules:
                seen.setdefault(r.id, r)
        return list(seen.values())

    def months(self, lang: str) -> dict[str, int]:
        """Month name -> number for the date normaliser: the names of the language's `cldr` fragments (its own,
        else shared) and of English ones (buyers write English dates in any language)."""
        out: dict[str, int] = {}
        for name in (lang, "en"):
            for folder in (name, "shared"):
                for frag in self.fragments.get(folder, {}).values():
                    if frag.cldr:
                        for loc in frag.locales or [name]:
                            for word, n in calendar.month_names(loc, frag.cldr):
                                out.setdefault(word, n)
        return out

    def vocab_terms(self, name: str, lang: str) -> VocabTerms:
        """A vocabulary's terms for the rules of a language: its own terms and, of a `cldr` vocabulary, the place
        names of the language's locales and English ones; the English rules, which read the mail of every
        language without rules of its own (and of one that reads them too, `also_read`), take those languages'
        names too."""
        vocab = self.vocab[name]
        explicit = {k.lower(): v for k, v in vocab.canonical.items()}
        canonical: dict[str, str] = {}
        ci = list(vocab.terms)
        cs = list(vocab.case_sensitive)
        by_lang = self.places.get(name)
        if by_lang:
            taken = {"en", lang} | ({x for x in by_lang if x not in self.rules or lang in self.also_read.get(x, ())}
                                    if lang == "en" else set())
            exact = {w.lower() for w in vocab.case_sensitive}
            own = {w.lower() for w in vocab.terms}
            for language in sorted(taken & by_lang.keys(), key=lambda x: (x != lang, x != "en", x)):
                for term, canon in by_lang[language]:
                    low = term.lower()
                    canonical.setdefault(low, canon)
                    if low in own:
                        continue
                    if low in exact or places.short(term):
                        cs.append(term)
                        if term.upper() != term:
                            cs.append(term.upper())
                    else:
                        ci.append(term)
        for t in vocab.terms + vocab.case_sensitive:
            canonical.setdefault(t.lower(), t)
        return VocabTerms(tuple(dict.fromkeys(ci)), tuple(dict.fromkeys(cs)), canonical, explicit)

    def rule(self, rule_id: str, lang: str | None = None) -> Rule | None:
        """The expanded rule of a language (default: the first language that has it)."""
        for name in [lang] if lang else self.languages:
            for r in self.rules.get(name or "", []):
                if r.id == rule_id:
                    return r
        return None


def shipped_dir() -> Path:
    return Path(str(resources.files("rules")))


def _line_of(text: str, rule_index: int) -> int:
    """The line of the rule_index-th `[[rule]]` header in a file, for error messages."""
    count = -1
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("[[rule]]"):
            count += 1
            if count == rule_index:
                return n
    return 0


def _fragment_line(text: str, name: str) -> int:
    """The line defining a fragment (`NAME = ...` under [fragment], or a [fragment.NAME] table)."""
    in_table = False
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s.startswith("["):
            if s == f"[fragment.{name}]":
                return n
            in_table = s == "[fragment]"
        elif in_table and re.match(rf"{name}\s*=", s):
            return n
    return 0


def _format_error(path: str, text: str, data: dict[str, Any], err: dict[str, Any]) -> str:
    loc = list(err["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        idx = loc[1]
        rules = data.get("rule", [])
        rid = rules[idx].get("id", f"#{idx + 1}") if idx < len(rules) and isinstance(rules[idx], dict) else f"#{idx + 1}"
        where = f":{_line_of(text, idx)} rule {rid}"
        loc = loc[2:]
    elif len(loc) >= 2 and loc[0] == "fragment" and isinstance(loc[1], str):
        where = f":{_fragment_line(text, loc[1])} fragment {loc[1]}"
        loc = [x for x in loc[2:] if x not in ("str", "Fragment")]
    inner = " -> ".join(str(x) for x in loc) or "(rule)"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}{where} [{inner}] {msg}{_hint(err)}"


def _hint(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "; remove the key or check its spelling"
    if kind == "missing":
        return "; add this key"
    return ""


def parse_file(path: Path, label: str | None = None) -> tuple[RulesFile | None, list[str], str]:
    """Parse and validate one rules file; return it (or None), the list of its errors, and its text."""
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [f"{label}: cannot read: {e}"], ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [f"{label}: not valid TOML: {e}; fix the syntax at that line"], text
    try:
        return RulesFile.model_validate(data), [], text
    except ValidationError as e:
        # a fragment is a string or a table: report the table's errors only when it is not a string
        errs = [err for err in e.errors() if not (err["loc"][:1] == ("fragment",) and "str" in err["loc"][2:3])]
        return None, [_format_error(label, text, data, err) for err in errs], text  # type: ignore[arg-type]


def _rule_files(root: Path) -> list[tuple[str, Path]]:
    """(language or 'shared' or 'vocab', path) for every rules file under root."""
    out: list[tuple[str, Path]] = []
    if not root.is_dir():
        return out
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for path in sorted(sub.glob("*.toml")):
            out.append((sub.name, path))
    return out


def load(overlay: Path | None = None, shipped: Path | None = None) -> RuleSet:
    """Load shipped rules and the overlay; raise RulesError listing every problem found. A rule set loaded
    before from the same files is read from the cache (see `extractors.cache`)."""
    shipped = shipped or shipped_dir()
    files = [path for root in (shipped, overlay) if root is not None and root.is_dir() for _, path in _rule_files(root)]
    here = Path(__file__).resolve().parent
    name = cache.key("rules", files, [here / "rules.py", here / "calendar.py", here / "places.py", here / "safe_regex.py"])
    return cache.cached(name, lambda: _load(overlay, shipped))


def _load(overlay: Path | None, shipped: Path) -> RuleSet:
    errors: list[str] = []
    by_lang: dict[str, dict[str, Rule]] = {}
    rs = RuleSet()
    digest = hashlib.sha256()
    from_overlay: set[str] = set()
    roots = [(shipped, "")]
    if overlay is not None:
        if not overlay.is_dir():
            errors.append(f"{overlay}: the rules overlay folder does not exist; create it or fix `rules.overlay`")
        else:
            roots.append((overlay, "overlay:"))
    for root, tag in roots:
        for lang, path in _rule_files(root):
            label = f"{tag}{path.relative_to(root)}" if tag else str(path.relative_to(root.parent))
            parsed, errs, text = parse_file(path, label)
            errors.extend(errs)
            if parsed is None:
                continue
            digest.update(path.read_bytes())
            rs.files.append(label)
            rs.disabled.update(parsed.disable)
            if parsed.also_read and lang not in ("shared", "vocab"):
                rs.also_read[lang] = list(dict.fromkeys(rs.also_read.get(lang, []) + parsed.also_read))
            for name, vocab in parsed.vocab.items():
                rs.vocab[name] = vocab
            if parsed.grammar is not None:
                rs.grammar[lang] = parsed.grammar
            frags = rs.fragments.setdefault(lang, {})
            for name, frag in parsed.fragment.items():
                frags[name] = Fragment(regex=frag) if isinstance(frag, str) else frag
                rs.origin[f"{lang}/{{{name}}}"] = f"{label}:{_fragment_line(text, name)}"
            bucket = by_lang.setdefault(lang, {})
            for i, rule in enumerate(parsed.rule):
                if not tag and rule.id in bucket:
                    errors.append(f"{label}:{_line_of(text, i)} rule {rule.id}: duplicate rule id; rename one of them")
                bucket[rule.id] = rule  # overlay replaces a shipped rule of the same id
                rs.origin[rule.id] = f"{label}:{_line_of(text, i)}"
                if tag:
                    from_overlay.add(rule.id)
    for name, vocab in rs.vocab.items():
        if vocab.cldr is not None:
            rs.places[name] = _places(vocab)
    for lang_rules in by_lang.values():
        for rule in lang_rules.values():
            for name in rule.vocab:
                if name not in rs.vocab:
                    errors.append(f"{rs.origin[rule.id]} rule {rule.id} [vocab] unknown vocabulary {name!r}; "
                                  f"define [vocab.{name}] in vocab/")
    if errors:
        raise RulesError(errors)
    shared = by_lang.pop("shared", {})
    rs.shared = set(shared)
    by_lang.pop("vocab", None)
    for lang_rules in [*by_lang.values(), shared]:
        for rule in lang_rules.values():
            rs.written.setdefault(rule.id, rule)
    expander = _Expander(rs)
    rs.rules = {lang: [] for lang in by_lang}  # the languages with rules of their own (see `vocab_terms`)
    for lang, others in rs.also_read.items():
        errors += [f"{lang}/ also_read: no rules of language {x!r}; name a folder of rules/ other than {lang}/"
                   for x in others if x == lang or x not in by_lang]
    # the other rules' question and request cues join its own (their lines in its mail); not their negation and vague
    # words, which can be words of this language (Portuguese "no" is "in the")
    for lang, others in rs.also_read.items():
        own = rs.grammar.get(lang)
        cues = [g for g in (own, *(rs.grammar.get(o) for o in others)) if g is not None]
        if own is not None and len(cues) > 1:
            rs.grammar[lang] = own.model_copy(update={
                k: list(dict.fromkeys(w for g in cues for w in getattr(g, k)))
                for k in ("question_end", "question_markers", "request_starts")})
    for lang, lang_rules in by_lang.items():
        rules: dict[str, Rule] = {}
        off: dict[str, str] = {}
        # (rule, the language whose fragments it reads): its own rules and the shared ones, then those of each
        # language of `also_read` and the shared ones in its fragments (a shared rule this language lacks a
        # fragment for)
        todo = [(r, lang) for r in lang_rules.values()] + [(r, lang) for r in shared.values() if r.id not in lang_rules]
        for other in rs.also_read.get(lang, []):
            todo += [(r, other) for r in [*by_lang.get(other, {}).values(), *shared.values()] if other != lang]
        # a rule of its own that `replaces` a rule of an `also_read` language stands for it in this language's mail
        replaced = {x for r in lang_rules.values() if r.enabled and r.id not in rs.disabled for x in r.replaces}
        errors += [f"{rs.origin[r.id]} rule {r.id} [replaces] unknown rule {x!r}" for r in lang_rules.values()
                   for x in r.replaces if x not in rs.written]
        for rule, written_in in todo:
            if not rule.enabled or rule.id in rs.disabled or rule.id in rules:
                continue
            if written_in != lang and rule.id in replaced:
                continue
            expanded, missing = expander.rule(rule, written_in, from_shared=rule.id not in lang_rules)
            if expanded is not None:
                rules[rule.id] = expanded
                rs.leads[(lang, rule.id)] = [expander.lead(pattern, written_in) for pattern in rule.regex]
            elif written_in != lang:
                continue  # off in its own language too: reported there
            elif rule.id in lang_rules:
                errors += [f"{rs.origin[rule.id]} rule {rule.id} {m}" for m in missing]
            else:  # a shared rule needing a fragment this language lacks: off for it, said by `rules check`
                off[rule.id] = f"{rs.origin[rule.id]} rule {rule.id} is off for {lang!r}: {missing[0]}"
        rs.notices += [notice for rule_id, notice in off.items() if rule_id not in rules]
        errors += _check_references(rs, lang, rules)
        rs.rules[lang] = list(rules.values())
    errors += expander.errors
    if errors:
        raise RulesError(sorted(set(errors), key=errors.index))
    rs.notices += expander.unused()
    rs.reviewed = {r.id for rules in rs.rules.values() for r in rules} - from_overlay
    rs.version = digest.hexdigest()[:12]
    return rs


def _places(vocab: Vocab) -> dict[str, list[tuple[str, str]]]:
    """language -> (name, canonical name) of a `cldr` vocabulary's locales, without its excluded names."""
    assert vocab.cldr is not None
    excluded = {w.lower() for w in vocab.exclude}
    out: dict[str, dict[str, str]] = {}
    for locale in vocab.locales or places.DEFAULT_LOCALES:
        found = out.setdefault(places.language(locale), {})
        for term, canonical in places.names(vocab.cldr, locale):
            if term.lower() not in excluded:
                found.setdefault(term, canonical)
    return {lang: list(found.items()) for lang, found in out.items()}


def _check_references(rs: RuleSet, lang: str, rules: dict[str, Rule]) -> list[str]:
    """Every sub-rule a rule reads exists in the language and is a sub-rule; no rule reads itself through others."""
    errors = []
    for rule in rules.values():
        for ref in rule.uses():
            target = rules.get(ref)
            if target is None:
                known = ref in rs.written
                errors.append(f"{rs.origin[rule.id]} rule {rule.id}: {'sub-rule ' + ref + ' is off or not in ' + lang if known else 'unknown rule ' + ref}"
                              f"; define [[rule]] id = \"{ref}\" (without item or signal) in {lang}/ or shared/")
            elif not target.is_sub_rule:
                errors.append(f"{rs.origin[rule.id]} rule {rule.id}: {ref} feeds {target.feeds}; only a sub-rule (no item, "
                              "no signal) can be combined or used as context")
    for rule in rules.values():
        if _cycle(rule.id, rules, ()):
            errors.append(f"{rs.origin[rule.id]} rule {rule.id}: reads itself through its sub-rules; break the cycle")
    used = {ref for r in rules.values() for ref in r.uses()}
    for rule in rules.values():
        if rule.is_sub_rule and rule.id not in used:
            note = f"{rs.origin[rule.id]} sub-rule {rule.id} is read by no rule (give it an item or signal, or remove it)"
            if note not in rs.notices:
                rs.notices.append(note)
    return errors


def _cycle(rule_id: str, rules: dict[str, Rule], path: tuple[str, ...]) -> bool:
    if rule_id in path:
        return True
    rule = rules.get(rule_id)
    return rule is not None and any(_cycle(ref, rules, (*path, rule_id)) for ref in rule.uses())


class _Expander:
    """Fragments expanded into the rules of one language: the language's own fragments, else shared ones."""

    def __init__(self, rs: RuleSet, readable: bool = False):
        """`readable`: word fragments as plain alternations (for `show`), not tries."""
        self.rs = rs
        self.readable = readable
        self.errors: list[str] = []
        self.used: set[str] = set()  # "folder/{NAME}" of every fragment read
        self._words: dict[tuple[str, str], list[str] | None] = {}
        self._regex: dict[tuple[str, str], str | None] = {}

    def _find(self, lang: str, name: str) -> tuple[str, Fragment] | None:
        for folder in (lang, "shared"):
            frag = self.rs.fragments.get(folder, {}).get(name)
            if frag is not None:
                self.used.add(f"{folder}/{{{name}}}")
                return folder, frag
        return None

    def words(self, lang: str, name: str) -> list[str] | None:
        """The words of a words, vocab or cldr fragment; None when it is not one (or unknown)."""
        key = (lang, name)
        if key not in self._words:
            found = self._find(lang, name)
            out: list[str] | None = None
            if found is not None:
                folder, frag = found
                if frag.words:
                    out = list(frag.words)
                elif frag.vocab:
                    if frag.vocab not in self.rs.vocab:
                        self.errors.append(f"{self.rs.origin[folder + '/{' + name + '}']} fragment {name}: unknown "
                                           f"vocabulary {frag.vocab!r}; define [vocab.{frag.vocab}] in vocab/")
                        out = []
                    else:
                        terms = self.rs.vocab_terms(frag.vocab, lang)
                        out = list(terms.terms) + list(terms.case_sensitive)
                elif frag.cldr:
                    out = [w for loc in frag.locales or [lang] for w, _ in calendar.month_names(loc, frag.cldr)]
            self._words[key] = out
        return self._words[key]

    def regex(self, lang: str, name: str, seen: tuple[str, ...] = ()) -> str | None:
        """The regex a fragment stands for in a language (None: unknown)."""
        key = (lang, name)
        if key in self._regex:
            return self._regex[key]
        if name in seen:
            self.errors.append(f"fragment {name} refers to itself through {' -> '.join(seen)}; break the cycle")
            return ""
        found = self._find(lang, name)
        if found is None:
            return None
        folder, frag = found
        if frag.regex is not None:
            out, missing = self._expand(frag.regex, lang, (*seen, name))
            if missing:
                self.errors.append(f"{self.rs.origin[folder + '/{' + name + '}']} fragment {name}: {missing[0]}")
        else:
            out = alternation(self.words(lang, name) or [], trie=not self.readable)
        self._regex[key] = out
        return out

    def _expand(self, pattern: str, lang: str, seen: tuple[str, ...] = ()) -> tuple[str, list[str]]:
        missing: list[str] = []

        def sub(m: re.Match[str]) -> str:
            body = self.regex(lang, m.group(1), seen)
            if body is None:
                missing.append(_unknown(m.group(1), lang))
                return m.group(0)
            return f"(?:{body})"

        return FRAGMENT_REF.sub(sub, pattern), missing

    def rule(self, rule: Rule, lang: str, from_shared: bool) -> tuple[Rule | None, list[str]]:
        """The rule with its fragments expanded for a language, or None and what is missing."""
        missing: list[str] = []
        update: dict[str, Any] = {}
        if rule.regex:
            regexes = []
            for i, pattern in enumerate(rule.regex):
                expanded, lacking = self._expand(pattern, lang)
                missing += [f"[regex {i}] {m}" for m in lacking]
                if not lacking:
                    try:
                        safe_regex.check(expanded, regex_flags(rule))
                    except safe_regex.UnsafePattern as e:
                        self.errors.append(f"{self.rs.origin[rule.id]} rule {rule.id} [regex {i}] expanded: {e}")
                regexes.append(expanded)
            update["regex"] = regexes
        if rule.trigger:
            update["trigger"] = self._word_list(rule.trigger, lang, "trigger", missing)
        if rule.patterns:
            update["patterns"] = [[self._token(tok, lang, missing) for tok in pattern] for pattern in rule.patterns]
        if missing:
            return None, missing
        return (rule.model_copy(update=update) if update else rule), []

    def lead(self, pattern: str, lang: str) -> tuple[str, ...] | None:
        """Where every match of a regex (as written) starts, or None: DIGITS (a digit; DIGIT_RUNS: a digit at the
        start of a word), or the words it opens with at the start of a word (\\b or a lookbehind excluding a
        letter before it): the words of a word fragment, a literal word, or a group of alternatives each of which
        opens so. A lookbehind, \\b and the opening of the value group may come first; what opens the regex
        must not be optional."""
        alternatives = _top_alternatives(pattern)
        if len(alternatives) > 1:  # each alternative opens a match
            leads = [self.lead(alt, lang) for alt in alternatives]
            if any(x is None for x in leads) or len({x in (DIGITS, DIGIT_RUNS) for x in leads}) > 1:
                return None
            if all(x in (DIGITS, DIGIT_RUNS) for x in leads):
                return DIGIT_RUNS if all(x == DIGIT_RUNS for x in leads) else DIGITS
            words = tuple(dict.fromkeys(w for x in leads if x is not None for w in x if w != ANYWHERE))
            if any(x is not None and x[0] == ANYWHERE for x in leads):
                return (ANYWHERE, *words) if len(words) <= _FEW_ANYWHERE else None
            return words
        m = _PREFIX.match(pattern)
        assert m is not None, "every part of the prefix is optional"
        rest = pattern[m.end():]
        if m.group(2):  # the value group opens the match: what opens it (each of its alternatives) opens the match
            end = _group_end(pattern, m.start(2))
            if end < 0:
                return None
            found = self._alternatives(pattern[m.end(2):end], lang, 0)
        else:
            found = self._opening(rest, lang, 0)
        behind = m.group(1) or ""
        # the match starts at the start of a word: \b, or a lookbehind that excludes a word character before it
        word_start = "\\b" in m.group(0) or rest.startswith("\\b") or bool(m.group(2) and pattern.startswith("\\b", m.end(2))) \
            or behind.startswith("(?<!") and "\\w" in behind
        if found == DIGITS:
            return DIGIT_RUNS if word_start else DIGITS
        if found is None or min(len(w.split(" ")[0]) for w in found) < _SHORTEST_LEAD:
            return None  # "a", "i": found all over a text, no gain
        if word_start and all(w[:1].isalnum() for w in found):
            return found
        return (ANYWHERE, *found) if len(found) <= _FEW_ANYWHERE else None

    def _opening(self, rest: str, lang: str, depth: int) -> tuple[str, ...] | None:
        """The words (or DIGITS) that a regex piece opens with, when all its matches open with one of them."""
        if depth > 8:
            return None
        rest = rest.removeprefix("\\b")
        if rest.startswith("\\d"):
            return DIGITS
        if (f := FRAGMENT_REF.match(rest)) is not None:
            if _optional(rest, f.end()):
                return None
            words = self.words(lang, f.group(1))
            if words:
                return tuple(words)
            found = self._find(lang, f.group(1))
            if found is None or found[1].regex is None:
                return None
            return self._alternatives(found[1].regex, lang, depth)
        if rest.startswith("(?:"):
            end = _group_end(rest, 0)
            if end < 0 or _optional(rest, end + 1):
                return None
            return self._alternatives(rest[3:end], lang, depth)
        if (w := _LITERAL.match(rest)) is not None:
            word = w.group(0)[:-1] if _optional(rest, w.end()) else w.group(0)
            return (word,) if word else None
        return None

    def _alternatives(self, body: str, lang: str, depth: int) -> tuple[str, ...] | None:
        """The opening words of a group's alternatives together; DIGITS when they all open with a digit."""
        found = [self._opening(alt, lang, depth + 1) for alt in _top_alternatives(body)]
        if any(f is None for f in found):
            return None
        if all(f == DIGITS for f in found):
            return DIGITS
        if any(f == DIGITS for f in found):
            return None
        return tuple(dict.fromkeys(w for f in found if f is not None for w in f)) or None

    def _word_list(self, items: list[Any], lang: str, where: str, missing: list[str]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            m = FRAGMENT_REF.fullmatch(item) if isinstance(item, str) else None
            if m is None:
                out.append(item)
                continue
            words = self.words(lang, m.group(1))
            if words is None:
                missing.append(f"[{where}] " + (_unknown(m.group(1), lang) if self._find(lang, m.group(1)) is None
                                                 else f"fragment {m.group(1)} is a regex; only a words, vocab or cldr fragment lists words"))
            else:
                out += words
        return out

    def _token(self, token: dict[str, Any], lang: str, missing: list[str]) -> dict[str, Any]:
        """A token pattern with fragment references in `IN` / `NOT_IN` lists (or as the whole list) expanded."""
        out: dict[str, Any] = {}
        for key, value in token.items():
            if isinstance(value, dict):
                inner = {}
                for op, arg in value.items():
                    if op in ("IN", "NOT_IN") and isinstance(arg, (str, list)):
                        arg = self._word_list([arg] if isinstance(arg, str) else arg, lang, "patterns", missing)
                        if key == "LOWER":
                            arg = list(dict.fromkeys(w.lower() for w in arg))
                    inner[op] = arg
                out[key] = inner
            else:
                out[key] = value
        return out

    def unused(self) -> list[str]:
        out = []
        for folder, frags in sorted(self.rs.fragments.items()):
            for name in frags:
                key = f"{folder}/{{{name}}}"
                if key not in self.used:
                    out.append(f"{self.rs.origin[key]} fragment {name} is used by no rule; remove it or use it as {{{name}}}")
        return out


def _group_end(pattern: str, start: int) -> int:
    """The index of the ")" closing the group opened at `start` (-1 when it does not close)."""
    level, i, n = 0, start, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif ch == "(":
            level += 1
        elif ch == ")":
            level -= 1
            if level == 0:
                return i
        i += 1
    return -1


def _optional(pattern: str, at: int) -> bool:
    """Whether what ends at `at` is made optional by a quantifier that follows ("?", "*", "{0")."""
    return pattern[at : at + 1] in ("?", "*") or pattern.startswith("{0", at)


def _top_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex."""
    out, level, start, i, n = [], 0, 0, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif ch == "(":
            level += 1
        elif ch == ")":
            level -= 1
        elif ch == "|" and level == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*out, pattern[start:]]


def _alternative_at(pattern: str, in_value: bool) -> bool:
    """Whether the regex has a `|` at its top level, or (`in_value`: it opens with the value group) at the top
    level of that group: its matches may then start with something else than what it opens with."""
    level, i, n = 0, 0, len(pattern)
    value_open = pattern.find("(?P<v>") if in_value else -1
    inside = False  # within the opening value group
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a class: up to its closing bracket (a first "]" or "^]" is a character)
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif ch == "(":
            level += 1
            if i == value_open:
                inside = True
        elif ch == ")":
            level -= 1
            if inside and level == 0:
                inside = False
        elif ch == "|" and (level == 0 or inside and level == 1):
            return True
        i += 1
    return False


def _unknown(name: str, lang: str) -> str:
    return f"unknown fragment {{{name}}} for {lang!r}; define it under [fragment] in {lang}/ or shared/"


def alternation(words: list[str], trie: bool = True) -> str:
    """Literal words as one regex: written as a trie (one branch per first character, then per next one), so
    that the regex engine tries a few characters at a position instead of every word, and at each branch the
    longer words first ("pcs" before "pc"): what a plain alternation of the words, the longest first, matches
    (`trie=False` writes that, for reading). A space in a word matches any whitespace (a line break too)."""
    unique = list(dict.fromkeys(w for w in words if w))
    if not trie:
        return "|".join(re.escape(w).replace("\\ ", "\\s") for w in sorted(unique, key=lambda w: (-len(w), w)))
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in unique:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        branches = [("\\s" if ch == " " else re.escape(ch)) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def regex_sources(rs: RuleSet) -> Iterator[tuple[str, str]]:
    """(where, regex as written) of every regex of the rules and regex fragments: for length checks."""
    for rule in rs.written.values():
        for i, pattern in enumerate(rule.regex):
            yield f"{rs.origin.get(rule.id, '')} rule {rule.id} [regex {i}]", pattern
    for folder, frags in rs.fragments.items():
        for name, frag in frags.items():
            if frag.regex is not None:
                yield f"{rs.origin.get(folder + '/{' + name + '}', '')} fragment {name}", frag.regex


def regex_flags(rule: Rule) -> int:
    """The flags a rule's regexes run with."""
    import regex  # noqa: PLC0415 - the `regex` module, not this module's `regex` fields

    return regex.V0 if rule.case_sensitive else regex.IGNORECASE | regex.V0


def show(rs: RuleSet, rule_id: str, lang: str | None = None) -> str | None:
    """A rule as written (with its file and line) and as each language reads it, fragments expanded, followed by
    the sub-rules it reads; None when there is no such rule."""
    written = rs.written.get(rule_id)
    if written is None:
        return None
    languages = [lang] if lang else [name for name in rs.languages if rs.rule(rule_id, name) is not None]
    lines = [f"{rule_id}  ({rs.origin.get(rule_id, '?')})", *_fields(written, "  ")]
    shown: set[str] = set()
    readable = _Expander(rs, readable=True)
    for name in languages:
        expanded = rs.rule(rule_id, name)
        if expanded is not None:
            expanded = readable.rule(written, name, from_shared=False)[0] or expanded
        if expanded is None:
            lines.append(f"  [{name}] off (a fragment it needs is not defined for {name}, or it is disabled)")
            continue
        body = _expanded(expanded, written)
        key = "\n".join(body)
        if key in shown:
            lines.append(f"  [{name}] as above")
            continue
        shown.add(key)
        lines.append(f"  [{name}] expanded:" if body else f"  [{name}] nothing to expand")
        lines += [f"    {line}" for line in body]
    for ref in dict.fromkeys(written.uses()):
        sub = show(rs, ref, lang)
        if sub is not None:
            lines += ["", *sub.splitlines()]
    return "\n".join(lines)


def _fields(rule: Rule, indent: str) -> list[str]:
    """The rule's keys as its file writes them (strings in single quotes, as TOML literal strings)."""
    out = []
    for name, value in rule.model_dump(exclude_defaults=True).items():
        if name not in ("id", "ok", "fail"):
            out.append(f"{indent}{name} = {_toml(value)}")
    out += [f"{indent}ok: {t!r}" for t in rule.ok] + [f"{indent}fail: {t!r}" for t in rule.fail]
    return out


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'" if "'" not in value and "\n" not in value else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _expanded(rule: Rule, written: Rule) -> list[str]:
    out = []
    for i, (a, b) in enumerate(zip(written.regex, rule.regex, strict=True)):
        if a != b:
            out.append(f"regex {i}: {b}")
    if rule.trigger != written.trigger:
        out.append(f"trigger: {', '.join(rule.trigger)}")
    if rule.patterns != written.patterns:
        out += [f"pattern {i}: {p}" for i, p in enumerate(rule.patterns)]
    return out
