"""Configuration: one TOML file (or the embedded default), validated strictly; secrets only by reference."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from daemon import limits
from extractors.core.errors import ConfigError

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
    sent: Path | None = None  # the seller's sent mail (a Maildir); default: <path>/.Sent
    identity: str | None = None  # "Name <address>" the drafts come from; default: the seller profile's


class OAuth2Config(_Strict):
    """XOAUTH2: a token from a command, or a refresh-token flow for Google or Microsoft 365."""

    provider: Literal["command", "google", "microsoft"]
    token_command: list[str] | None = None  # prints an access token on stdout
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    tenant: str = "common"  # Microsoft 365 tenant
    token_url: str | None = None  # override of the provider's token endpoint (tests, sovereign clouds)

    @model_validator(mode="after")
    def _complete(self) -> OAuth2Config:
        if self.provider == "command" and not self.token_command:
            raise ValueError("provider = \"command\" needs token_command = [\"program\", \"arg\", ...]")
        if self.provider != "command":
            if not self.client_id:
                raise ValueError(f"provider = \"{self.provider}\" needs client_id")
            if not (self.refresh_token_env or self.refresh_token_file):
                raise ValueError("give the refresh token as refresh_token_env or refresh_token_file")
        return self


class ImapMailboxConfig(SecretRef):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: Literal["imap"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)  # default: 993 for tls, 143 otherwise
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str
    inbox: str = "INBOX"
    drafts: str | None = None  # default: the special-use \Drafts folder
    sent: str | None = None  # the seller's sent mail; default: the special-use \Sent folder (none: not watched)
    ca_file: Path | None = None
    oauth2: OAuth2Config | None = None
    identity: str | None = None
    idle: bool = True  # use IDLE when the server offers it; else poll every [daemon] interval_seconds
    idle_seconds: int = Field(default=540, ge=30, le=1740)  # re-issue IDLE at most every 9 minutes
    backfill_days: int = Field(default=14, ge=0, le=3650)  # on first start, process mail this many days back
    batch_size: int = Field(default=200, ge=1, le=5000)
    tags: bool = True
    timeout_seconds: int = Field(default=60, ge=5, le=600)

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @model_validator(mode="after")
    def _auth(self) -> ImapMailboxConfig:
        if self.oauth2 is None and not (self.password_env or self.password_file):
            raise ValueError("give the password as password_env or password_file (or configure [mailboxes.oauth2])")
        return self


class RulesConfig(_Strict):
    overlay: Path | None = None


class SellerConfig(_Strict):
    profile: Path | None = None  # seller profile and catalogue (TOML); default: the bundled example
    own_domains: list[str] = []


class DaemonConfig(_Strict):
    interval_seconds: int = Field(default=60, ge=5, le=86400)
    # threads that run the mailboxes' passes (each mailbox uses one at a time; waiting costs none)
    workers: int = Field(default=8, ge=1, le=256)
    # PostgreSQL store: how often a replica confirms its session and claims or releases mailboxes; an orphaned
    # mailbox is taken over within about this long
    claim_seconds: int = Field(default=5, ge=1, le=300)
    max_attempts: int = Field(default=3, ge=1, le=100)  # attempts at a message whose failure may pass (memory, I/O)
    max_message_bytes: int = Field(default=limits.MAX_MESSAGE_BYTES, ge=10_000)
    max_header_bytes: int = Field(default=limits.MAX_HEADER_BYTES, ge=4096, le=16_000_000)
    max_text_chars: int = Field(default=limits.MAX_TEXT_CHARS, ge=1000, le=900_000)  # spaCy stops at 1,000,000
    message_seconds: float = Field(default=limits.MESSAGE_SECONDS, gt=0, le=3600)  # the time budget of one message
    # /healthz and `status`: a mailbox in state error this long, or with a backlog that has not moved this long,
    # is unhealthy
    unhealthy_after_seconds: int = Field(default=120, ge=1, le=86400)
    # the mailbox states are written at least this often (one statement for all a process owns); `status` marks a
    # row not written for three times as long. Thousands of mailboxes per database: see docs/operations.md
    heartbeat_seconds: int = Field(default=10, ge=1, le=3600)
    stalled_after_seconds: int = Field(default=900, ge=10, le=86400)
    # a configuration or secret file that other users can read: "warn" (log a warning) or "refuse" (exit 2)
    readable_secrets: Literal["warn", "refuse"] = "warn"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MetricsConfig(_Strict):
    """The optional Prometheus /metrics and /healthz endpoint."""

    enabled: bool = False
    host: str = "127.0.0.1"  # loopback by default: the endpoint has no authentication
    port: int = Field(default=9464, ge=1, le=65535)


class DigestConfig(_Strict):
    # the daily digest goes to each mailbox's INBOX at the first pass after this time (UTC, "HH:MM"); unset: none
    at: str | None = Field(default=None, pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$")


class NurtureConfig(_Strict):
    """Tier C buyers get a nurture draft in Drafts (one case study or compliance note of the seller's; it asks
    nothing) every every_days after the last contact: their latest inquiry, the last nurture draft or the seller's
    last sent reply in the thread. The daemon looks for due buyers once a day, at a mailbox's first pass after
    `at` (UTC, "HH:MM")."""

    enabled: bool = False
    every_days: int = 30  # the playbook: one mail a month
    at: str = "09:00"

    @field_validator("every_days")
    @classmethod
    def _every_days(cls, value: int) -> int:
        if not 1 <= value <= 365:
            raise ValueError(f"{value} is not a number of days from 1 to 365; set every_days = 30 (the playbook's "
                             "monthly rhythm) or another period")
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        if not re.fullmatch(r"(?:[01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f'{value!r} is not a time; give a UTC time as "HH:MM", e.g. at = "09:00"')
        return value


class Config(_Strict):
    store: StoreConfig = StoreConfig()
    digest: DigestConfig = DigestConfig()
    nurture: NurtureConfig = NurtureConfig()
    rules: RulesConfig = RulesConfig()
    seller: SellerConfig = SellerConfig()
    daemon: DaemonConfig = DaemonConfig()
    metrics: MetricsConfig = MetricsConfig()
    mailboxes: list[Annotated[MaildirMailboxConfig | ImapMailboxConfig, Field(discriminator="kind")]] = []
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

    def secret_files(self) -> list[Path]:
        """The configuration file and every file a secret is read from."""
        refs: list[Path | None] = [Path(self.source) if self.source != "embedded default" else None,
                                   self.store.password_file]
        for m in self.mailboxes:
            if isinstance(m, ImapMailboxConfig):
                refs.append(m.password_file)
                if m.oauth2 is not None:
                    refs += [m.oauth2.client_secret_file, m.oauth2.refresh_token_file]
        return [self.path(p) for p in refs if p is not None]

    def readable_by_others(self) -> list[str]:
        """One line for each configuration or secret file that users other than its owner and group can read;
        raise ConfigError instead when [daemon] readable_secrets = "refuse"."""
        found = []
        for path in dict.fromkeys(self.secret_files()):
            try:
                mode = path.stat().st_mode
            except OSError:
                continue  # a missing file is reported where it is read
            if mode & 0o004:
                found.append(f"{path} can be read by every user of this host (mode {mode & 0o777:04o}); "
                             f"run `chmod o-rwx {path}`")
        if found and self.daemon.readable_secrets == "refuse":
            raise ConfigError("\n".join(found + ['[daemon] readable_secrets = "refuse": not starting']))
        return found


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
