"""OAuth2 token providers against a real token endpoint on loopback, and the token command."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from daemon import oauth
from daemon.config import OAuth2Config
from daemon.oauth import token_provider, xoauth2_string
from extractors.core.errors import ConfigError, TransientError

CLIENT_SECRET = "cs-SECRET-4f1e9a"
REFRESH_TOKEN = "rt-SECRET-77ab02"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, "at-SECRET")  # every access token the tests hand out starts with at-SECRET


@dataclass
class TokenServer:
    """A scripted OAuth2 token endpoint: answers pop from `answers`, requests land in `requests`."""

    url: str
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    """Start a token endpoint on 127.0.0.1 (a free port) for one test."""
    state = TokenServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state.requests.append(dict(urllib.parse.parse_qsl(body)))
            status, answer = state.answers.pop(0) if state.answers else (500, {"error": "no answer scripted"})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/token"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Put the client secret in $IT_CLIENT_SECRET and the refresh token in a file; return the file."""
    monkeypatch.setenv("IT_CLIENT_SECRET", CLIENT_SECRET)
    path = tmp_path / "refresh-token"
    path.write_text(REFRESH_TOKEN + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def cfg(provider: str, url: str | None, refresh_file: Path | None = None, **kw: Any) -> OAuth2Config:
    if provider == "command":
        return OAuth2Config(provider="command", token_url=url, **kw)
    secret = {"client_secret_env": "IT_CLIENT_SECRET"} if provider == "google" else {}
    return OAuth2Config(provider=provider, client_id="cid-123", refresh_token_file=refresh_file, token_url=url, **(secret | kw))


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked: {text!r}"


def test_google_refresh_caches_until_shortly_before_expiry(token_server: TokenServer, secrets_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    token_server.answers += [(200, {"access_token": "at-SECRET-1", "expires_in": 3600}), (200, {"access_token": "at-SECRET-2", "expires_in": 3600})]
    clock = Clock()
    get = token_provider(cfg("google", token_server.url, secrets_env), "sales", clock=clock)
    assert get() == "at-SECRET-1"
    clock.now += 3000
    assert get() == "at-SECRET-1"  # cached: one request so far
    assert len(token_server.requests) == 1
    assert token_server.requests[0] == {
        "grant_type": "refresh_token", "client_id": "cid-123", "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
    }
    clock.now += 560  # 3560 s: within the 60 s margin before expiry
    assert get() == "at-SECRET-2"
    assert len(token_server.requests) == 2
    assert "mailbox=sales OAuth2 access token refreshed (google, valid 3600 s)" in caplog.text
    assert_no_secret(caplog.text, repr(get))


def test_invalidate_forces_a_new_token(token_server: TokenServer, secrets_env: Path) -> None:
    token_server.answers += [(200, {"access_token": "at-SECRET-1"}), (200, {"access_token": "at-SECRET-2"})]
    get = token_provider(cfg("google", token_server.url, secrets_env), "sales")
    assert get() == "at-SECRET-1"
    get.invalidate()
    assert get() == "at-SECRET-2"


def test_microsoft_sends_scope_and_no_secret_for_a_public_client(token_server: TokenServer, secrets_env: Path) -> None:
    token_server.answers.append((200, {"access_token": "at-SECRET-ms", "expires_in": 4000, "token_type": "Bearer"}))
    assert token_provider(cfg("microsoft", token_server.url, secrets_env), "ops")() == "at-SECRET-ms"
    assert token_server.requests == [{
        "grant_type": "refresh_token", "client_id": "cid-123", "refresh_token": REFRESH_TOKEN,
        "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    }]


def test_rotated_refresh_token_is_written_back(token_server: TokenServer, secrets_env: Path) -> None:
    token_server.answers += [(200, {"access_token": "at-SECRET-1", "expires_in": 10, "refresh_token": "rt-SECRET-new"}),
                             (200, {"access_token": "at-SECRET-2"})]
    clock = Clock()
    get = token_provider(cfg("microsoft", token_server.url, secrets_env), "ops", clock=clock)
    get()
    assert secrets_env.read_text(encoding="utf-8").strip() == "rt-SECRET-new"
    assert secrets_env.stat().st_mode & 0o077 == 0
    clock.now += 10
    get()
    assert token_server.requests[1]["refresh_token"] == "rt-SECRET-new"


def test_invalid_grant_raises_config_error_and_alerts(token_server: TokenServer, secrets_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    echo = f"Token {REFRESH_TOKEN} has been expired or revoked.\nsecond line"  # a server that echoes the secret
    token_server.answers.append((400, {"error": "invalid_grant", "error_description": echo}))
    with pytest.raises(ConfigError) as exc:
        token_provider(cfg("google", token_server.url, secrets_env), "sales")()
    message = str(exc.value)
    assert "refresh token for mailbox sales was rejected (invalid_grant): re-authorise" in message
    assert str(secrets_env) in message
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(alerts) == 1 and alerts[0].getMessage().startswith("ALERT: OAuth2 token refresh failed for mailbox sales")
    assert "Token *** has been expired or revoked." in caplog.text
    assert_no_secret(caplog.text, message, repr(exc.value.__cause__))


def test_invalid_client_is_a_config_error_too(token_server: TokenServer, secrets_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    token_server.answers.append((401, {"error": "invalid_client"}))
    with pytest.raises(ConfigError, match="HTTP 401 invalid_client.*check client_id"):
        token_provider(cfg("google", token_server.url, secrets_env), "sales")()
    assert "ALERT: OAuth2 token refresh failed for mailbox sales" in caplog.text


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_transient(token_server: TokenServer, secrets_env: Path, caplog: pytest.LogCaptureFixture, status: int) -> None:
    token_server.answers.append((status, {"error": "temporarily_unavailable"}))
    with pytest.raises(TransientError, match=f"HTTP {status} temporarily_unavailable") as exc:
        token_provider(cfg("google", token_server.url, secrets_env), "sales")()
    assert "ALERT" not in caplog.text
    assert_no_secret(caplog.text, str(exc.value))


def test_unreachable_endpoint_is_transient(secrets_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    get = token_provider(cfg("google", f"http://127.0.0.1:{port}/token", secrets_env), "sales")
    with pytest.raises(TransientError, match="will retry") as exc:
        get()
    assert_no_secret(caplog.text, str(exc.value))


@pytest.mark.parametrize("answer", [{"token_type": "Bearer"}, ["not", "an", "object"]], ids=["no-token", "not-object"])
def test_malformed_answer_is_transient(token_server: TokenServer, secrets_env: Path, answer: Any) -> None:
    token_server.answers.append((200, answer))
    with pytest.raises(TransientError):
        token_provider(cfg("google", token_server.url, secrets_env), "sales")()


@pytest.mark.parametrize("url", ["http://example.com/token", "http://10.0.0.1/token", "file:///etc/passwd", "ftp://127.0.0.1/t"])
def test_insecure_token_url_is_refused(secrets_env: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="token_url must be https://"):
        token_provider(cfg("google", url, secrets_env), "sales")


def test_default_endpoints() -> None:
    rt = {"refresh_token_env": "IT_RT"}
    assert token_provider(cfg("google", None, client_secret_env="X", **rt)).url == "https://oauth2.googleapis.com/token"
    ms = cfg("microsoft", None, tenant="contoso.onmicrosoft.com", **rt)
    assert token_provider(ms).url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    with pytest.raises(ConfigError, match="tenant"):
        token_provider(cfg("microsoft", None, tenant="x/../evil", **rt))


def test_google_needs_a_client_secret(secrets_env: Path) -> None:
    with pytest.raises(ConfigError, match="client_secret_env or client_secret_file"):
        token_provider(OAuth2Config(provider="google", client_id="cid", refresh_token_file=secrets_env))


def test_missing_refresh_token_env_names_the_variable(token_server: TokenServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IT_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.delenv("IT_NO_SUCH_RT", raising=False)
    with pytest.raises(ConfigError, match="IT_NO_SUCH_RT is not set"):
        token_provider(cfg("google", token_server.url, refresh_token_env="IT_NO_SUCH_RT"), "sales")()
    assert token_server.requests == []


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_command_token_is_stdout_stripped() -> None:
    get = token_provider(cfg("command", None, token_command=py("print('  at-SECRET-cmd  ')")), "sales")
    assert get() == "at-SECRET-cmd"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sys; print('at-SECRET-x'); print('boom: at-SECRET-x expired\\nmore', file=sys.stderr); sys.exit(3)",
         "exited with status 3: boom: \\*\\*\\* expired$"),
        ("pass", "printed no token: no error output"),
        ("print('at-SECRET-a at-SECRET-b')", "must print only the access token"),
    ],
    ids=["non-zero", "empty", "two-words"],
)
def test_command_failures_are_transient(caplog: pytest.LogCaptureFixture, code: str, expected: str) -> None:
    with pytest.raises(TransientError, match=expected) as exc:
        token_provider(cfg("command", None, token_command=py(code)), "sales")()
    assert "mailbox sales" in str(exc.value)
    assert_no_secret(caplog.text, str(exc.value))


def test_command_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oauth, "COMMAND_TIMEOUT", 0.5)
    with pytest.raises(TransientError, match="timed out") as exc:
        token_provider(cfg("command", None, token_command=py("import time; print('at-SECRET', flush=True); time.sleep(10)")))()
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_command_not_found_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot run token_command"):
        token_provider(cfg("command", None, token_command=[str(tmp_path / "no-such-program")]))()


@pytest.mark.parametrize(
    ("user", "token", "expected"),
    [
        ("sales@example.com", "ya29.abc", "user=sales@example.com\x01auth=Bearer ya29.abc\x01\x01"),
        ("a@b.c", "EwB-x_y.z", "user=a@b.c\x01auth=Bearer EwB-x_y.z\x01\x01"),
    ],
    ids=["google", "microsoft"],
)
def test_xoauth2_string(user: str, token: str, expected: str) -> None:
    assert xoauth2_string(user, token) == expected


def test_xoauth2_string_refuses_separator() -> None:
    with pytest.raises(ValueError):
        xoauth2_string("a\x01b", "t")
