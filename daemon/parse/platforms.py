"""B2B platform notifications: a rules-defined adapter takes the buyer's message and form out of the notice."""

from __future__ import annotations

import tomllib
from pathlib import Path

import regex
from pydantic import BaseModel, ConfigDict, ValidationError

from extractors import safe_regex
from extractors.core.errors import RulesError


class PlatformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sender: str
    domains: list[str] = []
    subject: list[str] = []
    message_start: list[str] = []
    message_end: list[str] = []
    fields: list[str] = []
    names: dict[str, str] = {}

    def display_name(self, domain: str) -> str:
        for suffix, name in self.names.items():
            if domain == suffix or domain.endswith("." + suffix):
                return name
        return self.name


class RelaySpec(BaseModel):
    """A sender address that speaks for others: a web form, a mailing service, a shared or platform relay. Mail
    from it is never a customer of its own; the buyer is in Reply-To or in the form's e-mail field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sender: str  # regex on the sender address


class _Compiled:
    def __init__(self, spec: PlatformSpec):
        self.spec = spec
        self.sender = safe_regex.compile_bounded(spec.sender)
        self.subject = [safe_regex.compile_bounded(p) for p in spec.subject]
        self.start = [safe_regex.compile_bounded(p) for p in spec.message_start]
        self.end = [safe_regex.compile_bounded(p) for p in spec.message_end]
        names = "|".join(regex.escape(f) for f in sorted(spec.fields, key=len, reverse=True))
        self.field = regex.compile(rf"^\s*(?:{names})\s*[:：].{{1,300}}$", regex.I | regex.M) if names else None

    def matches(self, sender: str, subject: str) -> bool:
        if not self.sender.search(sender):
            return False
        domain = sender.rpartition("@")[2].lower()
        if any(domain == d or domain.endswith("." + d) for d in self.spec.domains):
            return True
        return any(p.search(subject) for p in self.subject)

    def split(self, body: str) -> tuple[str, str]:
        lines = body.splitlines()
        form = "\n".join(m.group().strip() for m in self.field.finditer(body)) if self.field else ""
        begin = next((i + 1 for i, line in enumerate(lines) if any(p.search(line) for p in self.start)), None)
        if begin is None:
            return body, form
        end = next((i for i in range(begin, len(lines)) if any(p.search(lines[i]) for p in self.end)), len(lines))
        return "\n".join(lines[begin:end]).strip(), form


class Platforms:
    """The adapters of a platforms.toml file."""

    def __init__(self, specs: list[PlatformSpec], relays: list[RelaySpec] | None = None):
        self.adapters = [_Compiled(s) for s in specs]
        self.relays = [(r.name, safe_regex.compile_bounded(r.sender)) for r in relays or []]

    @classmethod
    def load(cls, path: Path) -> Platforms:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise RulesError(f"{path}: cannot read platform adapters: {e}") from e
        errors, specs, relays = [], [], []
        for i, item in enumerate(data.get("platform", [])):
            try:
                specs.append(PlatformSpec.model_validate(item))
            except ValidationError as e:
                errors += [f"{path} platform #{i + 1} [{'.'.join(map(str, err['loc']))}] {err['msg']}" for err in e.errors()]
        for i, item in enumerate(data.get("relay", [])):
            try:
                relays.append(RelaySpec.model_validate(item))
            except ValidationError as e:
                errors += [f"{path} relay #{i + 1} [{'.'.join(map(str, err['loc']))}] {err['msg']}" for err in e.errors()]
        extra = set(data) - {"platform", "relay"}
        if extra:
            errors.append(f"{path}: unknown top-level keys {sorted(extra)}; only [[platform]] and [[relay]] tables belong here")
        if errors:
            raise RulesError(errors)
        try:
            return cls(specs, relays)
        except safe_regex.UnsafePattern as e:
            raise RulesError(f"{path}: {e}") from e

    def relay(self, sender: str) -> str:
        """The name of the relay the sender address is (a web form, a mailing service...), or ""."""
        return next((name for name, pattern in self.relays if pattern.search(sender)), "")

    def match(self, sender: str, subject: str, body: str) -> tuple[str, str, str] | None:
        """(platform name, buyer's message, form lines) when the mail is a platform notification."""
        for adapter in self.adapters:
            if adapter.matches(sender, subject):
                text, form = adapter.split(body)
                return adapter.spec.display_name(sender.rpartition("@")[2].lower()), text, form
        return None
