"""Many mailboxes in one process: what each idle mailbox costs, and whether mail in any of them is still drafted as
fast as with one.

Prints figures; not a pass/fail test. Starts one Dovecot (tests/dovecot.py) with one user per mailbox (Dovecot
limits connections per user and IP) and raised process and client limits, logs every user in once (Dovecot makes
the Maildirs), then for each size N (default 10, 100, 500, 2000) runs the real daemon (`python -m daemon run`) on N
IMAP mailboxes with IDLE on, its store a PostgreSQL database of its own (or SQLite with --store sqlite), and
measures:

- start-up: from the process start to the first mailbox idling (its first pass done), and to all N idling;
- idle: CPU time of the daemon (utime + stime of all its threads, /proc/<pid>/stat) over --window seconds,
  --repeat times, after the start-up has settled; and of the PostgreSQL backends serving its database over the
  same windows (the database's side of an idle mailbox: state heartbeats, claim rounds); RSS, threads and
  established connections to Dovecot;
- arrival to draft: --appends inquiries APPENDed to random mailboxes one at a time, each timed until its draft is
  in that mailbox's Drafts (polled every 20 ms);
- with --messages M (at the first size): M inquiries in one mailbox, the daemon's and the database's CPU time per
  message and the database's transactions per message.

Targets: 2,000 idle mailboxes within 400 MB RSS and 5 % of a core, all idling within 60 s of the start, the
arrival-to-draft latency as with one mailbox (Dovecot notifies after ~0.5 s).

    .venv/bin/python bench/mailboxes.py [--sizes 10,100,500,2000] [--window 20] [--repeat 3] [--appends 10]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from _imapbench import (
    connections,
    corpus,
    cpu_seconds,
    log_time,
    percentile,
    pg_database,
    rss_mb,
    scratch,
    threads,
)

from tests.clihelp import cli
from tests.dovecot import DaemonProcess, Dovecot, running_dovecot

# Dovecot for thousands of connections: up to 100 IMAP sessions per long-lived imap process (all users share one
# system uid; one process per session would also exhaust the inotify instances IDLE needs),
# login processes serving many connections, and the auth and anvil services sized for them
DOVECOT_LIMITS = """
default_process_limit = 1000
default_client_limit = 20000
service imap {
  service_count = 0
  client_limit = 100
  process_limit = 200
}
service imap-login {
  service_count = 0
  client_limit = 1000
  process_min_avail = 4
  process_limit = 20
}
service auth {
  client_limit = 20000
}
service anvil {
  client_limit = 20000
}
"""
PW = "PW_BOX_{:04d}"
POLL = 0.02
DRAFT_TIMEOUT = 20.0


@dataclass
class Size:
    n: int
    first_idle: float = 0.0
    all_idle: float = 0.0
    idling: int = 0
    cpu: list[float] = field(default_factory=list)  # % of a core per window
    db_cpu: list[float] = field(default_factory=list)
    rss: float = 0.0
    anon: float = 0.0
    threads: int = 0
    connections: int = 0
    latency: list[float] = field(default_factory=list)
    missing: int = 0
    per_message: tuple[float, float, float, float] | None = None  # daemon ms, database ms, transactions, bytes
    errors: list[str] = field(default_factory=list)


def warm_up(server: Dovecot, users: list[tuple[str, str]]) -> float:
    """Log every user in once (Dovecot creates the Maildir and the Drafts folder); return the seconds it took."""
    started = time.monotonic()

    def one(user: tuple[str, str]) -> None:
        with server.connect(*user) as c:
            c.select_folder("INBOX")
            c.select_folder("Drafts")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(one, users))
    return time.monotonic() - started


def config(folder: Path, server: Dovecot, users: list[tuple[str, str]], store: str) -> Path:
    blocks = "\n".join(server.mailbox_toml(f"box{i:04d}", u, PW.format(i)) for i, (u, _) in enumerate(users))
    path = folder / "config.toml"
    path.write_text(f'[store]\nurl = "{store}"\n[daemon]\ninterval_seconds = 300\nlog_level = "INFO"\n\n{blocks}',
                    encoding="utf-8")
    return path


def backends(url: str | None) -> list[int]:
    """The PostgreSQL backend pids serving the benchmark's database, other than the one asking."""
    if url is None:
        return []
    with psycopg.connect(url, autocommit=True) as conn:
        return [int(p) for (p,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                                "AND pid <> pg_backend_pid()")]


def db_cpu(pids: list[int]) -> dict[int, float]:
    return {p: c for p in pids if (c := cpu_seconds(p)) is not None}


def commits(url: str) -> tuple[int, int]:
    """Transactions committed in the database so far, and the bytes of its tables with their indexes."""
    with psycopg.connect(url, autocommit=True) as conn:
        xacts = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
        size = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON "
                            "n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchone()
    return int(xacts[0]), int(size[0] or 0)  # type: ignore[index]


def idle_windows(pid: int, url: str | None, window: float, repeat: int, size: Size) -> None:
    for _ in range(repeat):
        pids = backends(url)
        before, db_before, t0 = cpu_seconds(pid), db_cpu(pids), time.monotonic()
        time.sleep(window)
        after, t1 = cpu_seconds(pid), time.monotonic()
        db_after = db_cpu(sorted(set(pids) | set(backends(url))))
        if before is None or after is None:
            return
        size.cpu.append(100 * (after - before) / (t1 - t0))
        if url is not None:
            spent = sum(c - db_before.get(p, 0.0) for p, c in db_after.items())
            size.db_cpu.append(100 * spent / (t1 - t0))


def latencies(server: Dovecot, users: list[tuple[str, str]], appends: int, pause: float, size: Size,
              daemon: DaemonProcess) -> None:
    rng = random.Random(size.n)
    targets = rng.sample(range(len(users)), min(appends, len(users)))
    mails = list(corpus(appends, drafting_only=True))
    for index, (mid, data) in zip(targets, mails, strict=False):
        time.sleep(pause)
        if daemon.proc.poll() is not None:
            raise SystemExit(f"the daemon exited ({daemon.proc.returncode}):\n{daemon.text()[-3000:]}")
        user, pw = users[index]
        with server.connect(user, pw) as sender, server.connect(user, pw) as watcher:
            watcher.select_folder("Drafts", readonly=True)
            sender.append("INBOX", data)
            appended = time.monotonic()
            while True:
                watcher.noop()
                if watcher.search(["HEADER", "In-Reply-To", mid]):
                    size.latency.append(time.monotonic() - appended)
                    break
                if time.monotonic() - appended > DRAFT_TIMEOUT:
                    size.missing += 1
                    break
                time.sleep(POLL)


def per_message(server: Dovecot, user: tuple[str, str], n: int, pid: int, url: str | None,
                daemon: DaemonProcess) -> tuple[float, float, float, float]:
    """Daemon CPU ms, database CPU ms, database transactions and database bytes per message over a burst of n
    inquiries."""
    mails = [data for _, data in corpus(n, drafting_only=True, vary=True)]
    done_before = daemon.text().count(" status=")
    pids = backends(url)
    before, db_before = cpu_seconds(pid) or 0.0, db_cpu(pids)
    xacts, size = commits(url) if url else (0, 0)
    with server.connect(*user) as c:
        c.multiappend("INBOX", mails)
    deadline = time.monotonic() + 600
    while daemon.text().count(" status=") < done_before + n and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    after = cpu_seconds(pid) or 0.0
    db_after = db_cpu(sorted(set(pids) | set(backends(url))))
    db_ms = 1000 * sum(c - db_before.get(p, 0.0) for p, c in db_after.items()) / n if url else 0.0
    xacts_after, size_after = commits(url) if url else (0, 0)
    return 1000 * (after - before) / n, db_ms, (xacts_after - xacts) / n, (size_after - size) / n


@contextlib.contextmanager
def store_url(kind: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    """(URL for the configuration, psycopg URL for the measurements or None)."""
    if kind == "sqlite":
        yield "sqlite:///triage.sqlite3", None
        return
    with pg_database("mb") as url:
        yield url, url


def measure(server: Dovecot, users: list[tuple[str, str]], args: argparse.Namespace, messages: int) -> Size:
    size = Size(len(users))
    with scratch("mb") as folder, store_url(args.store, folder) as (url, measured):
        path = config(folder, server, users, url)
        env = {PW.format(i): pw for i, (_, pw) in enumerate(users)}
        upgraded = cli("--config", str(path), "db", "upgrade", env=env)
        if upgraded.returncode != 0:
            raise SystemExit(upgraded.stderr.decode()[-2000:])
        started_wall, started = time.time(), time.monotonic()
        daemon = DaemonProcess(path, env)
        try:
            deadline = started + args.timeout
            while time.monotonic() < deadline and daemon.proc.poll() is None:
                size.idling = daemon.text().count("waiting with IDLE")
                if size.idling >= size.n:
                    break
                time.sleep(0.2)
            text = daemon.text()
            first = log_time(text, "waiting with IDLE")
            last = log_time("\n".join(reversed(text.splitlines())), "waiting with IDLE")
            size.first_idle = (first - started_wall) if first else float("nan")
            size.all_idle = (last - started_wall) if last and size.idling >= size.n else float("nan")
            time.sleep(args.settle)
            pid = daemon.proc.pid
            idle_windows(pid, measured, args.window, args.repeat, size)
            size.rss = rss_mb(pid) or 0.0
            size.anon = rss_mb(pid, "RssAnon") or 0.0
            size.threads = threads(pid)
            size.connections = connections(pid, server.port)
            latencies(server, users, args.appends, args.pause, size, daemon)
            if messages:
                size.per_message = per_message(server, users[0], messages, pid, measured, daemon)
            daemon.terminate(timeout=120)
        finally:
            daemon.kill()
        size.errors = [ln for ln in daemon.text().splitlines() if " ERROR " in ln or "Traceback" in ln]
    return size


def report(sizes: list[Size], args: argparse.Namespace, warm: float) -> None:
    def mean(values: list[float]) -> str:
        return f"{statistics.fmean(values):.2f}" if values else "-"

    def lo(values: list[float]) -> str:
        return f"{min(values):.2f}" if values else "-"

    def hi(values: list[float]) -> str:
        return f"{max(values):.2f}" if values else "-"

    print(f"idle IMAP mailboxes in one daemon process (IDLE on, store {args.store}); idle CPU: CPU time over wall "
          f"time in {args.repeat} windows of {args.window:.0f} s after {args.settle:.0f} s settling (mean, min, max); "
          f"Dovecot warm-up {warm:.1f} s")
    head = (f"{'mailboxes':>9} {'first s':>8} {'all s':>7} {'RSS MB':>7} {'anon MB':>8} {'threads':>7} {'conns':>6} "
            f"{'CPU %':>6} {'min %':>6} {'max %':>6} {'DB CPU %':>8} {'p50 s':>6} {'p95 s':>6} {'max s':>6}")
    print(head)
    for s in sizes:
        lat = s.latency or [float("nan")]
        print(f"{s.n:>9} {s.first_idle:>8.1f} {s.all_idle:>7.1f} {s.rss:>7.1f} {s.anon:>8.1f} {s.threads:>7} "
              f"{s.connections:>6} {mean(s.cpu):>6} {lo(s.cpu):>6} {hi(s.cpu):>6} {mean(s.db_cpu):>8} "
              f"{percentile(lat, 50):>6.3f} {percentile(lat, 95):>6.3f} {max(lat):>6.3f}")
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        span = b.n - a.n
        cpu = (statistics.fmean(b.cpu) - statistics.fmean(a.cpu)) / span if a.cpu and b.cpu else float("nan")
        db = (statistics.fmean(b.db_cpu) - statistics.fmean(a.db_cpu)) / span if a.db_cpu and b.db_cpu else float("nan")
        print(f"per idle mailbox ({a.n} -> {b.n}): RSS {1024 * (b.rss - a.rss) / span:.1f} KB, CPU "
              f"{1000 * cpu:.2f} thousandths of a % of a core, database CPU {1000 * db:.2f} thousandths of a %")
    for s in sizes:
        if s.per_message:
            d, db, x, size = s.per_message
            print(f"per message ({args.messages} inquiries in one mailbox, {s.n} mailboxes): daemon CPU {d:.1f} ms, "
                  f"database CPU {db:.2f} ms, {x:.1f} database transactions, {size / 1024:.1f} KB of tables and "
                  "indexes")
        if s.missing or s.errors:
            print(f"{s.n} mailboxes: {s.missing} draft(s) missing after {DRAFT_TIMEOUT:.0f} s; {len(s.errors)} error "
                  "line(s) in the daemon's log")
            for line in s.errors[:3]:
                print("  " + line[:300])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,500,2000", help="mailbox counts to measure (default 10,100,500,2000)")
    ap.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--window", type=float, default=20.0, help="seconds per idle CPU window (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="idle CPU windows per size (default 3)")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds between all idling and the first window")
    ap.add_argument("--appends", type=int, default=10, help="inquiries timed from arrival to draft per size")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between two timed inquiries")
    ap.add_argument("--messages", type=int, default=0, help="inquiries of the per-message burst (at the first size)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for all mailboxes to idle")
    ap.add_argument("--json", type=Path, help="also write the figures to this file (for bench/all.py)")
    args = ap.parse_args()
    counts = [int(x) for x in args.sizes.split(",")]
    with running_dovecot(users=max(counts), extra=DOVECOT_LIMITS) as server:
        users = [server.add_user() for _ in range(max(counts))]
        warm = warm_up(server, users)
        sizes = []
        try:
            for k, n in enumerate(counts):
                sizes.append(measure(server, users[:n], args, args.messages if k == 0 else 0))
        finally:
            log = (server.base / "dovecot.log").read_text(errors="replace").splitlines()
            trouble = [line for line in log if " Info: " not in line]
            if len(sizes) < len(counts):
                print("\n".join(trouble[-20:]))
    report(sizes, args, warm)
    if args.json:
        args.json.write_text(json.dumps({"store": args.store, "window": args.window, "repeat": args.repeat,
                                         "messages": args.messages, "sizes": [asdict(s) for s in sizes],
                                         "dovecot_trouble": len(trouble)}), encoding="utf-8")
    if trouble:
        print(f"Dovecot logged {len(trouble)} warning or error line(s), e.g.:")
        for line in trouble[:5]:
            print("  " + line[:300])


if __name__ == "__main__":
    main()
