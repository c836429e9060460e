"""Outages mid-run, on real servers, through the real CLI: PostgreSQL refusing connections, a PostgreSQL server
restarted, Dovecot stopped, the SQLite file's disk full. Afterwards, each time: exactly one draft per valid
inquiry, no message left unprocessed, the daemon still running (never restarted), /healthz and `status` truthful.

`make test` runs them on a short backlog; `make soak` (INQUIRY_TRIAGE_SOAK=1) on 2,000 messages with 30 s outages.
"""

from __future__ import annotations

import email
import email.policy
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from daemon.demo import sample_files
from daemon.store import Store
from tests.clihelp import cli
from tests.dovecot import DaemonProcess, Dovecot, append, drafts, message, running_dovecot
from tests.faults import (
    SOAK,
    TcpProxy,
    fill,
    free_port,
    private_postgres,
    shared_pg_database,
    small_disk,
    wait_for,
)

MESSAGES = 2000 if SOAK else 300
OUTAGE = 30.0 if SOAK else 20.0  # PostgreSQL refusing connections (the acceptance case is 20 s)
SHORT_OUTAGE = 30.0 if SOAK else 5.0  # Dovecot stopped, the disk full
AUTO_REPLY = next(p for p in sample_files() if p.stem.startswith("13-")).read_bytes()
PW = "PW_SALES"
HEALTH_WRITTEN = 1.5


@dataclass
class Run:
    """A daemon on a Dovecot mailbox full of inquiries (every tenth an auto-reply, which gets no draft)."""

    server: Dovecot
    user: str
    password: str
    config: Path
    daemon: DaemonProcess
    metrics_port: int
    inquiries: set[str]  # Message-IDs that must get exactly one draft each
    store_url: str

    def health(self) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def done(self) -> int:
        store = Store(self.store_url)
        try:
            counts = store.counts("sales")
        except Exception:  # noqa: BLE001 - the store may be the one that is down
            return -1
        finally:
            store.dispose()
        return sum(n for status, n in counts.items() if status in ("drafted", "skipped", "quarantined"))

    def alive(self) -> bool:
        return self.daemon.proc.poll() is None


def _mails() -> tuple[list[bytes], set[str]]:
    mails, inquiries = [], set()
    for n in range(MESSAGES):
        if n % 10 == 9:
            data = AUTO_REPLY.replace(b"Message-ID: <", f"Message-ID: <ar{n}-{secrets.token_hex(3)}.".encode(), 1)
        else:
            data = message(n, sender=f"buyer{n}@example.net")
            inquiries.add(str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"]).strip())
        mails.append(data)
    return mails, inquiries


@contextmanager
def daemon_run(tmp_path: Path, store_url: str, direct_url: str | None = None, env: dict[str, str] | None = None,
               server: Dovecot | None = None) -> Iterator[Run]:
    """Start Dovecot (unless given), fill the inbox, upgrade the store, start the daemon; stop all afterwards."""
    with (running_dovecot() if server is None else _given(server)) as dovecot:
        user, pw = dovecot.add_user()
        mails, inquiries = _mails()
        with dovecot.connect(user, pw) as c:
            for start in range(0, len(mails), 200):
                append(c, mails[start:start + 200])
        port = free_port()
        config = tmp_path / "config.toml"
        config.write_text(
            f'[store]\nurl = "{store_url}"\n[daemon]\ninterval_seconds = 5\nunhealthy_after_seconds = 3\n'
            f'[metrics]\nenabled = true\nport = {port}\n\n' + dovecot.mailbox_toml("sales", user, PW, batch_size=50),
            encoding="utf-8")
        env = {PW: pw, **(env or {})}
        upgraded = cli("--config", str(config), "db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr.decode()
        daemon = DaemonProcess(config, env)
        run = Run(dovecot, user, pw, config, daemon, port, inquiries, direct_url or store_url)
        try:
            yield run
        finally:
            daemon.kill()


@contextmanager
def _given(server: Dovecot) -> Iterator[Dovecot]:
    yield server


def finish(run: Run) -> dict[str, int]:
    """Wait until every message is done; check exactly one draft per inquiry and a daemon never restarted."""
    wait_for(lambda: run.done() == MESSAGES or not run.alive(), 600, f"all {MESSAGES} messages processed")
    assert run.alive(), f"the daemon exited:\n{run.daemon.text()[-4000:]}"
    wait_for(lambda: _healthy(run.health()), 120, "/healthz to say ok again")
    time.sleep(HEALTH_WRITTEN)  # the main thread writes the state to the store within a second
    status = cli("--config", str(run.config), "status", env={PW: run.password})
    with run.server.connect(run.user, run.password) as c:
        replies = Counter(str(email.message_from_bytes(d, policy=email.policy.default)["In-Reply-To"]).strip()
                          for _, _, d in drafts(c))
    assert run.daemon.terminate() == 0
    log = run.daemon.text()
    assert log.count("Loaded ") == 1 and "Traceback" not in log, log[-4000:]
    duplicates = sorted(mid for mid, n in replies.items() if n > 1)
    assert (duplicates, set(replies) - run.inquiries, run.inquiries - set(replies)) == ([], set(), set())
    assert status.returncode == 0, status.stdout.decode() + status.stderr.decode()
    return {"messages": MESSAGES, "drafts": sum(replies.values()), "duplicates": len(duplicates)}


def _healthy(health: tuple[int, str]) -> bool:
    """/healthz says ok, and the mailbox is ok (on PostgreSQL a last line says what the replica owns)."""
    code, body = health
    lines = body.splitlines()
    return code == 200 and lines[:2] == ["ok", "mailbox sales: ok"] and all(ln.startswith("replica ") for ln in lines[2:])


def outage(run: Run, start: Callable[[], None], end: Callable[[], None], seconds: float, *,
           unhealthy: bool = True, needle: str = "unavailable") -> None:
    """Let the daemon draft a few messages, then hold the fault for `seconds` (checking that the daemon notices,
    stays up and, with `unhealthy`, that /healthz says so), then end it."""
    run.daemon.wait_for("status=", count=3, timeout=120)
    assert run.done() < MESSAGES, "the fault must come mid-run"
    start()
    began = time.monotonic()
    try:
        run.daemon.wait_for(needle, timeout=seconds + 30)
        if unhealthy:
            wait_for(lambda: run.health()[0] == 503, seconds, "/healthz to report the mailbox unhealthy")
            code, body = run.health()
            assert code == 503 and "mailbox sales: unhealthy: no progress for" in body, body
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))
        assert run.alive(), run.daemon.text()[-4000:]
    finally:
        end()


def test_postgresql_refusing_connections_20s_then_back(tmp_path: Path) -> None:
    with shared_pg_database() as (host, port, name):
        proxy = TcpProxy((host, port))
        direct = f"postgresql+psycopg://postgres@{host}:{port}/{name}"
        try:
            with daemon_run(tmp_path, f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}", direct) as run:
                def back() -> None:  # during the outage `status` cannot read the store, the daemon's verdict it can
                    status = cli("--config", str(run.config), "status", env={PW: run.password})
                    out = status.stdout.decode() + status.stderr.decode()
                    proxy.restore()
                    assert status.returncode == 3 and "database unreachable" in out and "unhealthy" in out, out + run.daemon.text()[-5000:]

                outage(run, proxy.refuse, back, OUTAGE, needle="database unreachable")
                figures = finish(run)
        finally:
            proxy.close()
        store = Store(direct)
        (state,) = store.mailbox_states()
        store.dispose()
    assert state["state"] == "ok" and " s): " in state["last_error"] and "database unreachable" in state["last_error"]
    print(f"postgresql refused {OUTAGE:.0f} s: {figures}")


def test_postgresql_server_restarted_mid_run(tmp_path: Path) -> None:
    with private_postgres() as pg:
        with daemon_run(tmp_path, pg.url) as run:
            run.daemon.wait_for("status=", count=3, timeout=120)
            pg.restart()
            if SOAK:  # and once more, stopped for a while
                run.daemon.wait_for("status=", count=400, timeout=300)
                pg.stop()
                run.daemon.wait_for("database unreachable", timeout=60)
                time.sleep(OUTAGE)
                pg.start()
            figures = finish(run)
    print(f"postgresql restarted: {figures}")


def test_dovecot_stopped_mid_run(tmp_path: Path) -> None:
    with running_dovecot() as server:
        with daemon_run(tmp_path, "sqlite:///triage.sqlite3", f"sqlite:///{tmp_path / 'triage.sqlite3'}",
                        server=server) as run:
            outage(run, server.crash, server.start, SHORT_OUTAGE, unhealthy=SHORT_OUTAGE > 5)
            figures = finish(run)
    print(f"dovecot stopped {SHORT_OUTAGE:.0f} s: {figures}")


def test_sqlite_disk_full_mid_run(tmp_path: Path) -> None:
    with small_disk(64) as disk:
        url = f"sqlite:///{disk / 'triage.sqlite3'}"
        with daemon_run(tmp_path, url) as run:
            filler: list[Path] = []
            outage(run, lambda: filler.append(fill(disk)), lambda: filler[0].unlink(), SHORT_OUTAGE,
                   unhealthy=SHORT_OUTAGE > 5, needle="cannot be written")
            figures = finish(run)
    print(f"sqlite disk full {SHORT_OUTAGE:.0f} s: {figures}")
