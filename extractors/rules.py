"""Rules files: the strict schema, loading shipped rules plus a local overlay, collecting every error.

Layout of a rules folder (shipped `rules/` or a user's overlay):
  <lang>/*.toml      rules for one language (`en`, `zh`, `es`, ...); `shared/*.toml` apply to every language
  <lang>/grammar.toml  question, request, negation and vague words of that language
  vocab/*.toml       named vocabularies (certifications, Incoterms, ports, free-mail domains, ...)
  *.toml at the top  decision thresholds, the question bank, platform adapters (read by their own modules)

Optional `trigger` of a rule: literal words, one of which every match of the rule's regexes contains
(case-insensitive, anywhere in the text, e.g. `trigger = ["deliver", "ship", "lead time"]`). The regexes then
run only on a part that contains one of them. Without it the engine derives such words from the regexes
themselves (extractors/prefilter.py); give it only for a regex from which none can be derived, and keep it
complete: a match that contains none of the words is never found.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from extractors import safe_regex
from extractors.core.errors import RulesError
from extractors.core.model import CONTEXT_SIGNALS, ITEM_IDS, QUESTION_TOPICS, RISK_SIGNALS, SIGNAL_IDS

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
PARTS = ("text", "subject", "signature", "form")
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
# Signals that rules can feed; `invalid_*` hints are combined into `invalid` by the signal stage.
SIGNAL_NAMES = SIGNAL_IDS + ("lure", "generic_greeting", "generic_interest", "out_of_office", "platform_form") + tuple(
    f"asks_{topic}" for topic in QUESTION_TOPICS
) + RISK_SIGNALS + CONTEXT_SIGNALS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    id: str
    description: str = Field(min_length=1)
    item: str | None = None
    signal: str | None = None
    patterns: list[list[dict[str, Any]]] = []
    phrases: list[str] = []
    vocab: list[str] = []
    regex: list[str] = []
    trigger: list[str] = []  # words one of which every regex match contains (derived when empty)
    parts: list[Literal["text", "subject", "signature", "form"]] = ["text", "subject", "form"]
    normaliser: Literal[NORMALISERS] = "text"  # type: ignore[valid-type]
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    in_question: Literal["reject", "allow"] = "reject"
    negation: Literal["reject", "allow"] = "reject"
    near: list[str] = []
    not_near: list[str] = []
    case_sensitive: bool = False
    ok: list[str] = []
    fail: list[str] = []
    enabled: bool = True

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

    @field_validator("regex")
    @classmethod
    def _bounded(cls, v: list[str]) -> list[str]:
        for i, pattern in enumerate(v):
            try:
                safe_regex.check(pattern)
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
    def _feeds_one(self) -> Rule:
        if (self.item is None) == (self.signal is None):
            raise ValueError("a rule feeds exactly one of `item` or `signal`")
        if not (self.patterns or self.phrases or self.vocab or self.regex):
            raise ValueError("a rule needs at least one of patterns, phrases, vocab or regex")
        return self


class Vocab(_Strict):
    description: str = ""
    terms: list[str] = []
    case_sensitive: list[str] = []  # acronyms that only count in this exact case (e.g. "CE", "UL")
    canonical: dict[str, str] = {}  # variant -> canonical name


class Grammar(_Strict):
    question_end: list[str] = ["?"]
    question_markers: list[str] = []  # anywhere in a sentence: a capability question ("do you have")
    request_starts: list[str] = []  # a sentence starting so is a request, not a question ("could you quote")
    negations: list[str] = []
    vague: list[str] = []


class RulesFile(_Strict):
    rule: list[Rule] = []
    vocab: dict[str, Vocab] = {}
    grammar: Grammar | None = None
    disable: list[str] = []  # overlay: switch shipped rules off by id


@dataclass
class RuleSet:
    """Every enabled rule per language, the vocabularies and grammars; built once, read by the engine."""

    rules: dict[str, list[Rule]] = field(default_factory=dict)  # language -> rules (shared included)
    vocab: dict[str, Vocab] = field(default_factory=dict)
    grammar: dict[str, Grammar] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)
    version: str = ""
    # ids of rules defined only in the shipped rules folder (reviewed): their regexes run without the timeout;
    # a rule from an overlay, or from a RuleSet built by other means, keeps it
    reviewed: set[str] = field(default_factory=set)

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


def _format_error(path: str, text: str, data: dict[str, Any], err: dict[str, Any]) -> str:
    loc = list(err["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        idx = loc[1]
        rules = data.get("rule", [])
        rid = rules[idx].get("id", f"#{idx + 1}") if idx < len(rules) and isinstance(rules[idx], dict) else f"#{idx + 1}"
        where = f":{_line_of(text, idx)} rule {rid}"
        loc = loc[2:]
    inner = " -> ".join(str(x) for x in loc) or "(rule)"
    msg = err["msg"].removeprefix("Value error, ")
    hint = _hint(err)
    return f"{path}{where} [{inner}] {msg}{hint}"


def _hint(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "; remove the key or check its spelling"
    if kind == "missing":
        return "; add this key"
    if kind.startswith("literal_error"):
        return ""
    return ""


def parse_file(path: Path, label: str | None = None) -> tuple[RulesFile | None, list[str]]:
    """Parse and validate one rules file; return it or the list of its errors."""
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [f"{label}: cannot read: {e}"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [f"{label}: not valid TOML: {e}; fix the syntax at that line"]
    try:
        return RulesFile.model_validate(data), []
    except ValidationError as e:
        return None, [_format_error(label, text, data, err) for err in e.errors()]  # type: ignore[arg-type]


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
    """Load shipped rules and the overlay; raise RulesError listing every problem found."""
    shipped = shipped or shipped_dir()
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
            parsed, errs = parse_file(path, label)
            errors.extend(errs)
            if parsed is None:
                continue
            digest.update(path.read_bytes())
            rs.files.append(label)
            rs.disabled.update(parsed.disable)
            for name, vocab in parsed.vocab.items():
                rs.vocab[name] = vocab
            if parsed.grammar is not None:
                rs.grammar[lang] = parsed.grammar
            bucket = by_lang.setdefault(lang, {})
            for rule in parsed.rule:
                if not tag and rule.id in bucket:
                    errors.append(f"{label} rule {rule.id}: duplicate rule id; rename one of them")
                bucket[rule.id] = rule  # overlay replaces a shipped rule of the same id
                if tag:
                    from_overlay.add(rule.id)
    for lang_rules in by_lang.values():
        for rule in lang_rules.values():
            for name in rule.vocab:
                if name not in rs.vocab:
                    errors.append(f"rule {rule.id} [vocab] unknown vocabulary {name!r}; define [vocab.{name}] in vocab/")
    if errors:
        raise RulesError(errors)
    shared = [r for r in by_lang.pop("shared", {}).values()]
    by_lang.pop("vocab", None)
    for lang, lang_rules in by_lang.items():
        rs.rules[lang] = [r for r in list(lang_rules.values()) + shared if r.enabled and r.id not in rs.disabled]
    rs.reviewed = {r.id for rules in rs.rules.values() for r in rules} - from_overlay
    rs.version = digest.hexdigest()[:12]
    return rs
