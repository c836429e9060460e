"""A real Dovecot IMAP server on loopback for the integration tests, and helpers to talk to it.

The server runs as a plain process (no service manager) with everything under a short folder in /tmp: its
runtime base_dir, state_dir, log, a passwd-file of users with {PLAIN} passwords, and the users' Maildirs.
Each test adds its own user (`server.add_user()`), so tests never share a mailbox.
"""

from __future__ import annotations

import email.utils
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import imapclient
import pytest

INSTALL = "install it: apt-get install -y --no-install-recommends dovecot-imapd"
USERS = 200  # users per server
MAIL_USER = "triage-imap"  # a system user with uid >= 500 owning the test Maildirs (root is refused by Dovecot)

CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = {ssl}
{ssl_settings}
{user_settings}
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
# no auth penalty (anvil-auth-penalty below has mode 0): a wrong password must not slow later logins
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
{capability}
}}
{extra}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mail_user() -> tuple[str, int, int]:
    """Return (name, uid, gid) of the user owning the Maildirs, creating it when running as root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.getuid())
        return entry.pw_name, entry.pw_uid, entry.pw_gid
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", MAIL_USER], check=True,
                       capture_output=True)
        entry = pwd.getpwnam(MAIL_USER)
    if entry.pw_uid < 500:
        pytest.fail(f"user {MAIL_USER} has uid {entry.pw_uid}; Dovecot needs uid >= 500: delete it (userdel {MAIL_USER})",
                    pytrace=False)
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """Make a test CA and a server certificate for 127.0.0.1/localhost signed by it; return (ca, cert, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = folder / "san.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n", encoding="ascii")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=inquiry-triage test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
        "-days", "2", "-extfile", str(ext))
    return ca, cert, key


def self_signed(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed server certificate for 127.0.0.1/localhost (its own CA file); return (cert, cert, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "self.pem", folder / "self.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName = IP:127.0.0.1, DNS:localhost"],
                   check=True, capture_output=True)
    return cert, cert, key


@dataclass
class Dovecot:
    """One Dovecot instance: start(), stop(), add_user(), connect()."""

    base: Path
    port: int
    tls_port: int
    tls: bool = False
    idle: bool = True
    ca: Path | None = None
    self_signed: bool = False
    users: int = USERS
    extra: str = ""  # more configuration, appended (sections of the same name are merged)
    _users: list[tuple[str, str]] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.base / "dovecot.conf"

    def write_config(self) -> None:
        name, uid, gid = mail_user()
        ssl_settings = ""
        if self.tls:
            ca, cert, key = self_signed(self.base / "tls") if self.self_signed else make_test_ca(self.base / "tls")
            self.ca = ca
            ssl_settings = f"ssl_cert = <{cert}\nssl_key = <{key}\nssl_dh = </usr/share/dovecot/dh.pem"
        user_settings = ""
        if os.geteuid() != 0:
            user_settings = (f"default_internal_user = {name}\ndefault_internal_group = {name}\n"
                             f"default_login_user = {name}\n"
                             "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
                             "service ipc {\n  chroot =\n}\n")
        capability = "" if self.idle else "  imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE " \
                                          "SORT SPECIAL-USE NAMESPACE UIDPLUS MULTIAPPEND UNSELECT CHILDREN"
        self.conf.write_text(CONF.format(
            base=self.base, ssl="yes" if self.tls else "no", ssl_settings=ssl_settings,
            user_settings=user_settings, uid=uid, gid=gid, port=self.port,
            tls_port=self.tls_port if self.tls else 0, capability=capability, extra=self.extra,
        ), encoding="utf-8")
        # every user is written before the start: Dovecot notices a changed passwd-file only by its mtime (seconds)
        self._users = [(f"u{n:03d}{secrets.token_hex(3)}", secrets.token_hex(8)) for n in range(self.users)]
        (self.base / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self._users), encoding="utf-8")
        home = self.base / "home"
        home.mkdir(exist_ok=True)
        os.chown(home, uid, gid)

    def start(self) -> None:
        if shutil.which("dovecot") is None:
            pytest.fail(f"dovecot is not installed; {INSTALL}", pytrace=False)
        errors = self.base / "start.err"
        with errors.open("wb") as sink:  # not a pipe: the daemonized master would keep it open
            code = subprocess.run(["dovecot", "-c", str(self.conf)], stdout=sink, stderr=sink, check=False).returncode
        if code != 0:
            pytest.fail(f"dovecot did not start: {errors.read_text(errors='replace')}\n{self.log()}", pytrace=False)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"dovecot did not listen on 127.0.0.1:{self.port}\n{self.log()}", pytrace=False)

    def pid(self) -> int | None:
        try:
            return int((self.base / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def crash(self) -> None:
        """SIGKILL the master and every process it started: the server is gone at once, its connections reset
        (a plain stop lets the running IMAP sessions finish for seconds)."""
        pid = self.pid()
        if pid is None:
            return
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
        for victim in (pid, *children):
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        (self.base / "run" / "master.pid").unlink(missing_ok=True)

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def add_user(self) -> tuple[str, str]:
        """A user no test used yet, with an empty mailbox; return (username, password)."""
        if not self._users:
            pytest.fail(f"more than {self.users} users asked of one Dovecot; start it with more", pytrace=False)
        return self._users.pop()

    def ssl_context(self) -> ssl.SSLContext:
        assert self.ca is not None
        return ssl.create_default_context(cafile=str(self.ca))

    @contextmanager
    def connect(self, user: str, password: str) -> Iterator[imapclient.IMAPClient]:
        """A logged-in client (implicit TLS on a TLS server)."""
        if self.tls:
            client = imapclient.IMAPClient("127.0.0.1", self.tls_port, ssl=True, ssl_context=self.ssl_context(), timeout=30)
        else:
            client = imapclient.IMAPClient("127.0.0.1", self.port, ssl=False, timeout=30)
        client.login(user, password)
        try:
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the server may be gone already
                pass

    def mailbox_toml(self, name: str, user: str, password_env: str, **extra: object) -> str:
        """A [[mailboxes]] block for this server (plain IMAP, or implicit TLS with the test CA)."""
        lines = [f'[[mailboxes]]\nname = "{name}"\nkind = "imap"\nhost = "127.0.0.1"\nusername = "{user}"',
                 f'password_env = "{password_env}"']
        if self.tls:
            lines.append(f'port = {self.tls_port}\nsecurity = "tls"\nca_file = "{self.ca}"')
        else:
            lines.append(f'port = {self.port}\nsecurity = "none"')
        for key, value in extra.items():
            lines.append(f"{key} = {_toml(value)}")
        return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def running_dovecot(tls: bool = False, idle: bool = True, self_signed: bool = False, users: int = USERS,
                    extra: str = "") -> Iterator[Dovecot]:
    """Start a Dovecot in a fresh short folder under /tmp; stop it and remove the folder afterwards."""
    if shutil.which("dovecot") is None:
        pytest.fail(f"dovecot is not installed; {INSTALL}", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
    os.chmod(base, 0o755)
    server = Dovecot(base, free_port(), free_port(), tls=tls, idle=idle, self_signed=self_signed, users=users,
                     extra=extra)
    server.write_config()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def message(n: int, sender: str = "buyer@example.net", subject: str | None = None, body: str | None = None,
            headers: dict[str, str] | None = None) -> bytes:
    """A small RFQ with a unique Message-ID."""
    lines = [f"From: Buyer {n} <{sender}>", "To: sales@brightway-lighting.com", f"Subject: {subject or f'RFQ {n}: LED panels'}",
             f"Message-ID: <rfq-{n}-{secrets.token_hex(4)}@example.net>", f"Date: {email.utils.formatdate()}",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    text = body or ("Hello,\n\nPlease quote 2000 pcs of 600x600 LED panel 40W, CE and RoHS certified, "
                    "FOB Shenzhen, delivery within 30 days to Hamburg.\n\nBest regards,\nAnna Schmidt\nPurchasing, "
                    "Lichtwerk GmbH\n")
    return ("\r\n".join(lines) + "\r\n\r\n" + text.replace("\n", "\r\n")).encode()


def append(client: imapclient.IMAPClient, data: bytes | list[bytes], folder: str = "INBOX") -> None:
    """APPEND one message, or many with MULTIAPPEND."""
    if isinstance(data, list):
        client.multiappend(folder, data)
    else:
        client.append(folder, data)


def drafts(client: imapclient.IMAPClient, folder: str = "Drafts") -> list[tuple[int, tuple[bytes, ...], bytes]]:
    """Every message of a folder as (uid, flags, bytes), oldest first."""
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    found = client.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
    return [(uid, tuple(found[uid][b"FLAGS"]), found[uid][b"BODY[]"]) for uid in sorted(found)]


def flags(client: imapclient.IMAPClient, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
    """The flags of every message of a folder."""
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    return {uid: tuple(v[b"FLAGS"]) for uid, v in (client.fetch(uids, ["FLAGS"]) if uids else {}).items()}


# -- the daemon under test, as a subprocess -----------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def write_config(folder: Path, mailboxes: str, interval: int = 5, max_attempts: int = 3, extra: str = "") -> Path:
    """A configuration with a SQLite store in folder and the given [[mailboxes]] blocks."""
    path = folder / "config.toml"
    path.write_text(f'[store]\nurl = "sqlite:///triage.sqlite3"\n\n[daemon]\ninterval_seconds = {interval}\n'
                    f"max_attempts = {max_attempts}\n{extra}\n{mailboxes}", encoding="utf-8")
    return path


class DaemonProcess:
    """`inquiry-triage run` in the background, its stderr in a file."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.log = config.parent / f"daemon-{secrets.token_hex(3)}.log"
        self._sink = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run", *args], cwd=config.parent,
            stdout=self._sink, stderr=self._sink, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float = 60, count: int = 1) -> str:
        """Wait until needle appears count times in the log; fail with the log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if text.count(needle) >= count:
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"{needle!r} did not appear {count} time(s) in the daemon's log:\n{self.text()[-6000:]}", pytrace=False)

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.close()

    def close(self) -> None:
        self._sink.close()


def wait_until(predicate: Callable[[], object], timeout: float = 60, what: str = "condition",
               daemon: DaemonProcess | None = None) -> None:
    """Poll predicate until it holds; fail with the daemon's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    log = f"; the daemon's log:\n{daemon.text()[-6000:]}" if daemon else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}{log}", pytrace=False)


def count_messages(server: Dovecot, user: str, password: str, folder: str = "Drafts") -> int:
    with server.connect(user, password) as c:
        return int(c.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])
