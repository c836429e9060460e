"""Configuration: one TOML file (or the embedded default), validated strictly; secrets only by reference."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from daemon.errors import ConfigError

ENV_CONFIG = "INQUIRY_TRIAGE_CONFIG"
DEFAULT_DB = "sqlite:///inquiry-triage.sqlite3"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """A secret given by reference: the name of an environment variable or a file path."""

    password_env: str | None = None
    password_file: Path | None = None

    def secret(self, what: str) -> str | None:
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(f"{what}: environment variable {self.password_env} is not set; export it or use password_file")
            return value
        if self.password_file:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ConfigError(f"{what}: cannot read password_file {self.password_file}: {e.strerror}") from e
        return None


class StoreConfig(SecretRef):
    url: str = DEFAULT_DB

    @model_validator(mode="after")
    def _no_inline_password(self) -> StoreConfig:
        try:
            url = make_url(self.url)
        except ArgumentError as e:
            raise ValueError(f"not a database URL: {e}") from e
        if url.password:
            raise ValueError("the URL holds a password; remove it and set password_env or password_file instead")
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return self

    def resolved_url(self, base: Path) -> str:
        url = make_url(self.url)
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        password = self.secret("[store]")
        if password:
            url = url.set(password=password)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            db = Path(url.database)
            if not db.is_absolute():
                url = url.set(database=str((base / db).resolve()))
        return url.render_as_string(hide_password=False)


class MaildirMailboxConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: Literal["maildir"]
    path: Path
    drafts: Path
    identity: str | None = None  # "Name <address>" the drafts come from; default: the seller profile's


class RulesConfig(_Strict):
    overlay: Path | None = None


class SellerConfig(_Strict):
    profile: Path | None = None  # seller profile and catalogue (TOML); default: the bundled example
    own_domains: list[str] = []


class DaemonConfig(_Strict):
    interval_seconds: int = Field(default=60, ge=5, le=86400)
    max_attempts: int = Field(default=3, ge=1, le=100)
    max_message_bytes: int = Field(default=25_000_000, ge=10_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Strict):
    store: StoreConfig = StoreConfig()
    rules: RulesConfig = RulesConfig()
    seller: SellerConfig = SellerConfig()
    daemon: DaemonConfig = DaemonConfig()
    mailboxes: list[MaildirMailboxConfig] = []
    base_dir: Path = Path(".")
    source: str = "embedded default"

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        names = [m.name for m in self.mailboxes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"mailbox names must be unique: {', '.join(dupes)}")
        return self

    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def db_url(self) -> str:
        return self.store.resolved_url(self.base_dir)


def embedded_default(cwd: Path | None = None) -> Config:
    """No configuration at all: a Maildir under the working directory, drafts beside it, SQLite next to them."""
    cwd = (cwd or Path.cwd()).resolve()
    return Config(
        mailboxes=[MaildirMailboxConfig(name="default", kind="maildir", path=Path("Maildir"), drafts=Path("Maildir/.Drafts"))],
        base_dir=cwd,
    )


def _line_of_key(text: str, loc: tuple[object, ...]) -> str:
    """Best effort: the line where the first string key of the error location appears."""
    keys = [k for k in loc if isinstance(k, str)]
    if not keys:
        return ""
    needle = keys[-1]
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith((needle + " ", needle + "=", f"[{needle}]", f"[[{needle}]]")):
            return f":{n}"
    return ""


def load(path: Path | None = None) -> Config:
    """Load --config, else $INQUIRY_TRIAGE_CONFIG, else the embedded default."""
    if path is None and os.environ.get(ENV_CONFIG):
        path = Path(os.environ[ENV_CONFIG])
    if path is None:
        return embedded_default()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the configuration file: {e.strerror}; check --config / ${ENV_CONFIG}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    for key in ("base_dir", "source"):
        if key in data:
            raise ConfigError(f"{path}: unknown key {key!r}; remove it")
    data["base_dir"] = path.resolve().parent
    data["source"] = str(path)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(x) for x in loc if not (isinstance(x, str) and x.startswith(("function-after", "tagged-union"))))
            lines.append(f"{path}{_line_of_key(text, loc)} [{where or 'top level'}] {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("\n".join(lines)) from e
