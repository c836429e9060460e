"""OAuth2 access tokens for IMAP XOAUTH2: from a command, or by refresh-token flow (Google, Microsoft 365)."""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from daemon.config import OAuth2Config
from extractors.core.errors import ConfigError, TransientError

log = logging.getLogger(__name__)

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
MICROSOFT_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
COMMAND_TIMEOUT = 30.0
HTTP_TIMEOUT = 30.0
EXPIRY_MARGIN = 60.0  # refresh this many seconds before the token expires
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# OAuth2 error codes that mean the configuration or the grant is wrong, so retrying cannot help.
_FATAL = {
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "invalid_request",
    "unsupported_grant_type",
}


def xoauth2_string(user: str, token: str) -> str:
    """Build the SASL XOAUTH2 initial client response for `user` and access `token`."""
    if "\x01" in user or "\x01" in token:
        raise ValueError("user and token must not contain \\x01")
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _read_secret(env: str | None, file: Path | None, what: str) -> str | None:
    """Return a secret from the named environment variable or file, or None when neither is configured."""
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise ConfigError(f"{what}: environment variable {env} is not set or empty; export it or use a file")
        return value
    if file:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{what}: cannot read {file}: {e.strerror}") from e
        if not value:
            raise ConfigError(f"{what}: {file} is empty")
        return value
    return None


def _scrub(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of each secret in `text` by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class TokenProvider:
    """A callable giving a valid access token, cached until shortly before it expires (commands cache their own)."""

    def __init__(self, cfg: OAuth2Config, mailbox: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.mailbox = mailbox or "?"
        self.where = f"mailbox {self.mailbox}: oauth2"
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self._rotated: str | None = None  # a rotated refresh token that could not be written back
        self.url = self._endpoint() if cfg.provider != "command" else ""
        proxies: dict[str, str] | None = {} if urllib.parse.urlsplit(self.url).hostname in _LOOPBACK else None
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies), urllib.request.HTTPSHandler(context=ssl.create_default_context())
        )
        if cfg.provider == "google" and not (cfg.client_secret_env or cfg.client_secret_file):
            raise ConfigError(f'{self.where} provider "google" needs client_secret_env or client_secret_file')

    def __call__(self) -> str:
        """Return the cached access token, or fetch a new one when it is missing or about to expire."""
        with self._lock:
            if self.cfg.provider == "command":
                return self._from_command()
            if not self._token or self._clock() >= self._expires_at:
                self._token, lifetime = self._refresh()
                self._expires_at = self._clock() + max(lifetime - EXPIRY_MARGIN, lifetime / 2)
                log.info("mailbox=%s OAuth2 access token refreshed (%s, valid %d s)", self.mailbox, self.cfg.provider, lifetime)
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token, e.g. after the server rejected it; the next call fetches a new one."""
        with self._lock:
            self._token, self._expires_at = "", 0.0

    def _endpoint(self) -> str:
        """Return the token endpoint, refusing plain http except on loopback."""
        url = self.cfg.token_url or (GOOGLE_TOKEN_URL if self.cfg.provider == "google" else "")
        if not url:
            if not re.fullmatch(r"[A-Za-z0-9.-]{1,128}", self.cfg.tenant):
                raise ConfigError(f"{self.where} tenant {self.cfg.tenant!r} is not a tenant id or domain")
            url = MICROSOFT_TOKEN_URL.format(tenant=self.cfg.tenant)
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme == "https" and parts.hostname) or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            return url
        raise ConfigError(f"{self.where} token_url must be https:// (http:// only on 127.0.0.1/localhost): {url}")

    def _from_command(self) -> str:
        """Run token_command (no shell) and return its stdout stripped."""
        argv = list(self.cfg.token_command or [])
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:  # its output may hold the token: do not chain it
            raise TransientError(f"{self.where} token_command timed out after {COMMAND_TIMEOUT:.0f} s") from None
        except OSError as e:
            raise ConfigError(f"{self.where} cannot run token_command {argv[0]!r}: {e.strerror}; check the path") from e
        token = done.stdout.strip()
        if done.returncode != 0 or not token:
            lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
            first = _scrub(lines[0], [token])[:200] if lines else "no error output"
            why = f"exited with status {done.returncode}" if done.returncode else "printed no token"
            raise TransientError(f"{self.where} token_command {why}: {first}")
        if any(c.isspace() or not c.isprintable() for c in token):
            raise TransientError(f"{self.where} token_command must print only the access token, on one line")
        return token

    def _refresh(self) -> tuple[str, float]:
        """Exchange the refresh token for an access token; return it and its lifetime in seconds."""
        cfg = self.cfg
        secret = _read_secret(cfg.client_secret_env, cfg.client_secret_file, f"{self.where} client secret")
        refresh = self._rotated or _read_secret(cfg.refresh_token_env, cfg.refresh_token_file, f"{self.where} refresh token")
        form = {"grant_type": "refresh_token", "client_id": cfg.client_id or "", "refresh_token": refresh or ""}
        if secret:
            form["client_secret"] = secret
        if cfg.provider == "microsoft":
            form["scope"] = MICROSOFT_SCOPE
        secrets = [secret or "", refresh or ""]
        body = self._post(form, secrets)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientError(f"{self.where} the token endpoint {self.url} answered without an access_token")
        new_refresh = body.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh and new_refresh != refresh:
            self._keep_rotated(new_refresh)
        expires_in = body.get("expires_in", 3600)
        try:
            lifetime = float(expires_in) if isinstance(expires_in, (int, float, str)) else 3600.0
        except ValueError:
            lifetime = 3600.0
        return token, max(lifetime, 1.0)

    def _post(self, form: dict[str, str], secrets: list[str]) -> dict[str, object]:
        """POST the form to the token endpoint and return the JSON answer; map failures to our errors."""
        data = urllib.parse.urlencode(form).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        where = f"{self.where} token refresh at {self.url}"
        try:
            with self._opener.open(request, timeout=HTTP_TIMEOUT) as response:
                raw = response.read(1_000_000)
        except urllib.error.HTTPError as e:
            self._http_error(e, where, secrets)
        except (urllib.error.URLError, OSError) as e:
            reason = _scrub(str(getattr(e, "reason", e)), secrets)
            log.warning("mailbox=%s OAuth2 token endpoint unreachable: %s", self.mailbox, reason)
            raise TransientError(f"{where} failed: {reason}; will retry") from e
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError(f"{where}: the answer is not a JSON object")
        return body

    def _http_error(self, e: urllib.error.HTTPError, where: str, secrets: list[str]) -> NoReturn:
        """Raise ConfigError (with an operator alert) for a rejected grant, TransientError otherwise."""
        try:
            body = json.loads(e.read(100_000) or b"{}")
        except (ValueError, OSError):
            body = {}
        body = body if isinstance(body, dict) else {}
        code = _scrub(str(body.get("error", ""))[:64], secrets)
        desc = _scrub((str(body.get("error_description") or "").splitlines() or [""])[0], secrets)[:200]
        detail = f"HTTP {e.code} {code or e.reason}" + (f" ({desc})" if desc else "")
        if e.code in (400, 401) and code in _FATAL:
            self._rotated = None  # the operator re-authorises through the configured env/file
            log.error("ALERT: OAuth2 token refresh failed for mailbox %s (%s): %s", self.mailbox, self.cfg.provider, detail)
            if code == "invalid_grant":
                store = self.cfg.refresh_token_file or f"${self.cfg.refresh_token_env}"
                raise ConfigError(
                    f"the OAuth2 refresh token for mailbox {self.mailbox} was rejected (invalid_grant): "
                    f"re-authorise the account and put the new refresh token in {store}"
                ) from e
            hint = "check client_id, the client secret and the app registration"
            raise ConfigError(f"{where} was refused: {detail}; {hint}") from e
        log.warning("mailbox=%s OAuth2 token refresh failed: %s", self.mailbox, detail)
        raise TransientError(f"{where} failed: {detail}; will retry") from e

    def _keep_rotated(self, new_refresh: str) -> None:
        """Keep a rotated refresh token: write it back to refresh_token_file if possible, else hold it in memory."""
        path = self.cfg.refresh_token_file
        if path is not None:
            tmp = path.with_name(f".{path.name}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(new_refresh + "\n")
                os.replace(tmp, path)
                self._rotated = None
                log.info("mailbox=%s OAuth2 refresh token rotated by the provider; saved to %s", self.mailbox, path)
                return
            except OSError as e:
                log.warning("mailbox=%s cannot save the rotated refresh token to %s (%s)", self.mailbox, path, e.strerror)
        if self._rotated is None:
            log.warning("mailbox=%s OAuth2 refresh token rotated; kept in memory only until restart", self.mailbox)
        self._rotated = new_refresh


def token_provider(cfg: OAuth2Config, mailbox: str = "", *, clock: Callable[[], float] = time.monotonic) -> TokenProvider:
    """Return a callable giving a valid access token for `cfg`; configuration problems raise ConfigError now."""
    return TokenProvider(cfg, mailbox, clock)
