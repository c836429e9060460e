"""Connecting to an IMAP server: TLS (implicit or STARTTLS, verified), login by password or XOAUTH2, and the
translation of every network and protocol failure into TransientError."""

from __future__ import annotations

import functools
import imaplib
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import imapclient
from imapclient.exceptions import LoginError

from daemon.config import ImapMailboxConfig
from extractors.core.errors import ConfigError, TransientError, TriageError

log = logging.getLogger(__name__)


@contextmanager
def guard(mailbox: str, doing: str) -> Iterator[None]:
    """Turn a socket, TLS or IMAP protocol failure into TransientError naming the mailbox and the step."""
    try:
        yield
    except TriageError:
        raise
    except (imaplib.IMAP4.error, OSError, EOFError, ValueError) as e:
        reason = str(e).strip() or type(e).__name__
        raise TransientError(f"mailbox {mailbox}: {doing} failed: {reason}") from e


def ssl_context(cfg: ImapMailboxConfig, base: Path) -> ssl.SSLContext:
    """A context that verifies the server's certificate and host name (against ca_file when given). Mailboxes with
    the same CA share one context: each holds its own copy of the CA certificates (about 0.3 MB for the system's)."""
    ca = None if cfg.ca_file is None else cfg.ca_file if cfg.ca_file.is_absolute() else (base / cfg.ca_file).resolve()
    try:
        return _context(None if ca is None else str(ca))
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"mailbox {cfg.name}: cannot load ca_file {ca}: {e}; give a PEM file of CA certificates") from e


@functools.lru_cache(maxsize=64)
def _context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Connector:
    """Opens logged-in connections for one mailbox; the XOAUTH2 token provider is made once and reused."""

    def __init__(self, cfg: ImapMailboxConfig, base: Path) -> None:
        self.cfg = cfg
        self.base = base
        self._token: Callable[[], str] | None = None

    def connect(self) -> imapclient.IMAPClient:
        """Connect, secure and log in; raise TransientError (unreachable, refused) or ConfigError."""
        cfg = self.cfg
        where = f"{cfg.host}:{cfg.effective_port}"
        context = ssl_context(cfg, self.base) if cfg.security != "none" else None
        try:
            with guard(cfg.name, f"connecting to {where}"):
                client = imapclient.IMAPClient(cfg.host, cfg.effective_port, ssl=cfg.security == "tls",
                                               ssl_context=context, timeout=cfg.timeout_seconds)
        except TransientError as e:
            cause = e.__cause__
            if isinstance(cause, ssl.SSLCertVerificationError):
                raise TransientError(f"mailbox {cfg.name}: the certificate of {where} was not verified "
                                     f"({cause.verify_message}); if the server uses a private CA, set ca_file") from cause
            raise
        try:
            if cfg.security == "starttls":
                self._starttls(client, context, where)
            elif cfg.security == "none" and not _is_loopback(cfg.host):
                log.warning("mailbox=%s logs in to %s without TLS (security = \"none\")", cfg.name, where)
            self._login(client, where)
        except BaseException:
            _shutdown(client)
            raise
        return client

    def _starttls(self, client: imapclient.IMAPClient, context: ssl.SSLContext | None, where: str) -> None:
        with guard(self.cfg.name, f"reading the capabilities of {where}"):
            offered = client.has_capability("STARTTLS")
        if not offered:
            raise TransientError(f"mailbox {self.cfg.name}: {where} does not offer STARTTLS; refusing to log in "
                                 "without TLS (check the server, or use security = \"tls\")")
        try:
            with guard(self.cfg.name, f"STARTTLS with {where}"):
                client.starttls(context)
        except TransientError as e:
            if isinstance(e.__cause__, ssl.SSLCertVerificationError):
                raise TransientError(f"mailbox {self.cfg.name}: the certificate of {where} was not verified "
                                     f"({e.__cause__.verify_message}); if the server uses a private CA, set ca_file") from e
            raise

    def _login(self, client: imapclient.IMAPClient, where: str) -> None:
        cfg = self.cfg
        try:
            with guard(cfg.name, f"logging in to {where}"):
                if cfg.oauth2 is not None:
                    client.oauth2_login(cfg.username, self._access_token())
                else:
                    client.login(cfg.username, cfg.secret(f"mailbox {cfg.name}") or "")
        except TransientError as e:
            if isinstance(e.__cause__, LoginError):
                how = "the XOAUTH2 token" if cfg.oauth2 is not None else "the password (password_env / password_file)"
                raise TransientError(f"mailbox {cfg.name}: {where} refused the login of {cfg.username}; check {how}") from e
            raise

    def _access_token(self) -> str:
        """An access token from the mailbox's OAuth2 provider (cached by the provider until near expiry)."""
        assert self.cfg.oauth2 is not None
        if self._token is None:
            from daemon.oauth import token_provider

            self._token = token_provider(self.cfg.oauth2, self.cfg.name)
        try:
            return self._token()
        except TriageError:
            raise
        except Exception as e:  # noqa: BLE001 - a token source failing is a transient outage of this mailbox
            raise TransientError(f"mailbox {self.cfg.name}: getting an XOAUTH2 token failed: {e}") from e


def _shutdown(client: imapclient.IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception as e:  # noqa: BLE001 - already failing; closing the socket must not hide the cause
        log.debug("shutdown after a failed connect: %s", e)


def buffered_input(client: imapclient.IMAPClient) -> bool:
    """Whether server data already sits in imaplib's read buffer (or the TLS layer), where a poll of the socket
    cannot see it: e.g. an EXISTS sent in the same packet as IDLE's "+ idling"."""
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    sock.setblocking(False)
    try:
        return bool(client._imap.file.peek(1))  # noqa: SLF001 - returns the buffer without blocking
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.setblocking(True)
        client._set_read_timeout()  # noqa: SLF001


def at_eof(sock: socket.socket) -> bool:
    """Whether the peer closed the connection: the TCP stream is at its end (looked at below TLS, without taking
    anything from it). A readable socket that gave no IMAP response is either that or a partial line."""
    raw = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
    try:
        return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # reset by the peer
    finally:
        raw.close()


def news(responses: list[tuple[object, ...]]) -> bool:
    """Whether IDLE responses announce new mail (EXISTS or RECENT)."""
    return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
