"""Replicas sharing mailboxes through PostgreSQL, through the real CLI: three daemons on twenty mailboxes of one
Dovecot, inquiries arriving all along; one replica killed with SIGKILL mid-run, a fourth started later.

Checked all along: a watcher reads pg_locks every 50 ms (never two holders of a mailbox's lock, every holder a live
replica), and each replica's log says when it claimed and stopped each mailbox: no two replicas' spans of work on a
mailbox overlap, and every message a replica processed lies inside one of its spans. At the end every inquiry has
exactly one draft, and no auto-reply has one."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import random
import re
import secrets
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlalchemy as sa

from daemon.demo import sample_files
from daemon.store import Store
from daemon.store.locks import mailbox_key
from tests.clihelp import cli
from tests.dovecot import DaemonProcess, Dovecot, append, drafts, message, running_dovecot
from tests.faults import free_port, shared_pg_database, wait_for

MAILBOXES = 20
CLAIM = 2  # [daemon] claim_seconds: an orphaned mailbox is claimed again within about this long
TAKEOVER_LIMIT = CLAIM + 2.0  # what the test allows between the kill and the last of its mailboxes re-held
AUTO_REPLY = next(p for p in sample_files() if p.stem.startswith("13-")).read_bytes()
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
_EVENT = re.compile(r"mailbox=(\S+) (claimed by this replica|stopped|uid=\d+ .*status=\w+)")


@dataclass
class Fleet:
    """The replicas (by the order they were started), their configuration files and the mailboxes' passwords."""

    folder: Path
    store_url: str
    env: dict[str, str]
    names: list[str]
    blocks: str
    replicas: list[DaemonProcess] = field(default_factory=list)
    killed: dict[int, float] = field(default_factory=dict)  # replica index -> wall time of its SIGKILL
    ports: list[int] = field(default_factory=list)

    def start(self) -> DaemonProcess:
        port = free_port()
        config = self.folder / f"replica{len(self.replicas)}.toml"
        config.write_text(
            f'[store]\nurl = "{self.store_url}"\n[daemon]\ninterval_seconds = 5\nclaim_seconds = {CLAIM}\nworkers = 4\n'
            f'[metrics]\nenabled = true\nport = {port}\n\n{self.blocks}', encoding="utf-8")
        replica = DaemonProcess(config, self.env)
        self.replicas.append(replica)
        self.ports.append(port)
        return replica

    def live(self) -> list[int]:
        return [i for i, r in enumerate(self.replicas) if i not in self.killed and r.proc.poll() is None]


class LockWatcher(threading.Thread):
    """Every 50 ms: which replica (by OS pid) holds each mailbox's advisory lock. Records every reading in which a
    mailbox had two holders, or a holder that is no replica's session, and when each mailbox last changed hands."""

    def __init__(self, url: str, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.keys = {mailbox_key(n): n for n in names}
        self.names = names
        self.stop = threading.Event()
        self.violations: list[str] = []
        self.owner: dict[str, int | None] = {}  # mailbox -> OS pid of the replica holding it
        self.readings = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT l.classid::bigint, l.objid::bigint, a.application_name FROM pg_locks l "
                    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND "
                    "l.objsubid = 1 AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE "
                    "datname = current_database())").fetchall()
                holders: dict[str, list[int | None]] = defaultdict(list)
                for classid, objid, app in rows:
                    unsigned = (int(classid) << 32) | int(objid)
                    key = unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned
                    name = self.keys.get(key)
                    if name is not None:
                        holders[name].append(int(app.rsplit(" ", 1)[1]) if app and app.startswith(
                            "inquiry-triage replica ") else None)
                with self.lock:
                    self.readings += 1
                    for name in self.names:
                        pids = holders.get(name, [])
                        if len(pids) > 1 or None in pids:
                            self.violations.append(f"{time.time():.3f} {name}: holders {pids}")
                        self.owner[name] = pids[0] if pids else None
                self.stop.wait(0.05)

    def owners(self) -> dict[str, int | None]:
        with self.lock:
            return dict(self.owner)

    def counts(self) -> Counter[int | None]:
        return Counter(self.owners().values())


@contextmanager
def fleet_of_mailboxes(tmp_path: Path) -> Iterator[tuple[Dovecot, Fleet, list[tuple[str, str]]]]:
    with running_dovecot() as server, shared_pg_database() as (host, port, db):
        users = [server.add_user() for _ in range(MAILBOXES)]
        names = [f"box{i:02d}" for i in range(MAILBOXES)]
        env = {f"PW_{i:02d}": pw for i, (_, pw) in enumerate(users)}
        blocks = "\n".join(server.mailbox_toml(names[i], user, f"PW_{i:02d}") for i, (user, _) in enumerate(users))
        fleet = Fleet(tmp_path, f"postgresql://postgres@{host}:{port}/{db}", env, names, blocks)
        try:
            yield server, fleet, users
        finally:
            for replica in fleet.replicas:
                replica.kill()


class Feeder(threading.Thread):
    """Appends inquiries (and every fifth an auto-reply) to random mailboxes, one every `pause` seconds."""

    def __init__(self, server: Dovecot, users: list[tuple[str, str]], pause: float) -> None:
        super().__init__(daemon=True)
        self.server, self.users, self.pause = server, users, pause
        self.stop = threading.Event()
        self.inquiries: dict[int, set[str]] = defaultdict(set)  # mailbox index -> Message-IDs needing a draft
        self.sent: Counter[int] = Counter()
        self.rng = random.Random(20261203)

    def put(self, i: int, n: int) -> None:
        user, pw = self.users[i]
        if n % 5 == 4:
            data = AUTO_REPLY.replace(b"Message-ID: <", f"Message-ID: <ar{n}-{secrets.token_hex(3)}.".encode(), 1)
        else:
            data = message(n, sender=f"buyer{n}@example.net")
            self.inquiries[i].add(str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"]).strip())
        with self.server.connect(user, pw) as c:
            append(c, data)
        self.sent[i] += 1

    def run(self) -> None:
        n = 1000
        while not self.stop.wait(self.pause):
            self.put(self.rng.randrange(len(self.users)), n)
            n += 1


def _events(replica: DaemonProcess) -> list[tuple[float, str, str]]:
    """(time, mailbox, what) of the claim, stop and message lines of a replica's log."""
    out = []
    for line in replica.text().splitlines():
        stamp, event = _STAMP.match(line), _EVENT.search(line)
        if stamp and event:
            when = dt.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out.append((when, event.group(1), event.group(2)))
    return out


def spans_of_work(fleet: Fleet) -> tuple[dict[str, list[tuple[float, float, int]]], list[str]]:
    """Each mailbox's spans of work (start, end, replica) from the logs, and every message line outside its
    replica's spans."""
    spans: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    outside = []
    for index, replica in enumerate(fleet.replicas):
        open_: dict[str, float] = {}
        mine: dict[str, list[tuple[float, float]]] = defaultdict(list)
        events = _events(replica)
        end_of_log = fleet.killed.get(index, time.time())
        for when, name, what in events:
            if what.startswith("claimed"):
                open_[name] = when
            elif what == "stopped" and name in open_:
                mine[name].append((open_.pop(name), when))
        for name, since in open_.items():
            mine[name].append((since, end_of_log))
        for when, name, what in events:
            if what.startswith("uid=") and not any(a <= when <= b for a, b in mine[name]):
                outside.append(f"replica {index} {name} {what} at {when:.3f}")
        for name, pairs in mine.items():
            spans[name] += [(a, b, index) for a, b in pairs]
    return spans, outside


def overlaps(spans: dict[str, list[tuple[float, float, int]]]) -> list[str]:
    found = []
    for name, pairs in spans.items():
        ordered = sorted(pairs)
        for (a1, b1, r1), (a2, b2, r2) in zip(ordered, ordered[1:], strict=False):
            if r1 != r2 and a2 < b1:
                found.append(f"{name}: replica {r1} {a1:.3f}-{b1:.3f} and replica {r2} {a2:.3f}-{b2:.3f}")
    return found


def healthz(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return r.read().decode()


def test_three_replicas_share_twenty_mailboxes_survive_a_kill_and_rebalance_for_a_fourth(tmp_path: Path) -> None:
    with fleet_of_mailboxes(tmp_path) as (server, fleet, users):
        schema = fleet.folder / "schema.toml"
        schema.write_text(f'[store]\nurl = "{fleet.store_url}"\n', encoding="utf-8")
        upgraded = cli("--config", str(schema), "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr.decode()
        feeder = Feeder(server, users, pause=0.15)
        for i in range(MAILBOXES):  # a backlog waiting in every mailbox at the start
            for n in range(3):
                feeder.put(i, i * 10 + n)
        watcher = LockWatcher(fleet.store_url, fleet.names)
        watcher.start()
        try:
            for _ in range(3):
                fleet.start()
            live = [fleet.replicas[i].proc.pid for i in range(3)]
            wait_for(lambda: sorted(watcher.counts().values()) == [6, 7, 7] and set(watcher.counts()) == set(live),
                     90, "20 mailboxes spread 7/7/6 over 3 replicas")
            feeder.start()
            wait_for(lambda: sum(r.text().count("status=") for r in fleet.replicas) >= 60, 90, "the backlog processed")

            victim = max(range(3), key=lambda i: watcher.counts()[fleet.replicas[i].proc.pid])
            orphans = [n for n, pid in watcher.owners().items() if pid == fleet.replicas[victim].proc.pid]
            fleet.replicas[victim].proc.kill()  # SIGKILL: no clean-up of any kind
            fleet.killed[victim] = time.time()
            killed_at = time.monotonic()
            fleet.replicas[victim].proc.wait(timeout=30)
            survivors = {fleet.replicas[i].proc.pid for i in fleet.live()}
            wait_for(lambda: all(watcher.owners()[n] in survivors for n in orphans), 30,
                     f"the killed replica's {len(orphans)} mailboxes taken over")
            takeover = time.monotonic() - killed_at
            wait_for(lambda: sorted(watcher.counts().values()) == [10, 10], 30, "10/10 over the two survivors")

            fourth = fleet.start()
            wait_for(lambda: sorted(watcher.counts().values()) == [6, 7, 7] and fourth.proc.pid in watcher.counts(),
                     90, "rebalanced 7/7/6 with the fourth replica")
            time.sleep(2)
            feeder.stop.set()
            feeder.join()

            expected = sum(feeder.sent.values())
            store = Store(fleet.store_url.replace("postgresql:", "postgresql+psycopg:", 1))
            try:
                wait_for(lambda: sum(sum(n for s, n in store.counts(name).items() if s in ("drafted", "skipped"))
                                     for name in fleet.names) >= expected, 120, f"all {expected} messages processed")
            finally:
                store.dispose()
            owned = watcher.counts()
            for i in fleet.live():
                body = healthz(fleet.ports[i])
                mine = owned[fleet.replicas[i].proc.pid]
                assert f"owns {mine} of {MAILBOXES} mailboxes (3 replicas" in body and body.count("\nmailbox ") == mine
                with urllib.request.urlopen(f"http://127.0.0.1:{fleet.ports[i]}/metrics", timeout=5) as r:
                    text = r.read().decode()
                assert f"inquiry_triage_mailboxes_owned {mine}.0" in text and "inquiry_triage_replicas 3.0" in text
            status = cli("--config", str(fleet.folder / "replica3.toml"), "status", env=fleet.env)
            for i in fleet.live():
                assert fleet.replicas[i].terminate() == 0, fleet.replicas[i].text()[-3000:]
        finally:
            watcher.stop.set()
            watcher.join(5)
        duplicates, missing, stray = [], [], []
        drafts_total = 0
        for i, (user, pw) in enumerate(users):
            with server.connect(user, pw) as c:
                replies = Counter(str(email.message_from_bytes(d, policy=email.policy.default)["In-Reply-To"]).strip()
                                  for _, _, d in drafts(c))
            drafts_total += sum(replies.values())
            duplicates += [mid for mid, n in replies.items() if n > 1]
            missing += sorted(feeder.inquiries[i] - set(replies))
            stray += sorted(set(replies) - feeder.inquiries[i])
    spans, outside = spans_of_work(fleet)
    assert watcher.readings > 100 and watcher.violations == [], watcher.violations[:5]
    assert overlaps(spans) == [] and outside == [], (overlaps(spans)[:5], outside[:5])
    assert (duplicates, missing, stray) == ([], [], [])
    assert takeover <= TAKEOVER_LIMIT, f"taken over after {takeover:.1f} s"
    out = status.stdout.decode()
    assert status.returncode == 0 and "owner" in out and "box00" in out, out + status.stderr.decode()
    logs = "".join(r.text() for r in fleet.replicas)
    assert "Traceback" not in logs
    print(f"replicas: {expected} messages ({drafts_total} drafts, 0 duplicated, 0 lost) over {MAILBOXES} mailboxes; "
          f"SIGKILL of a replica owning {len(orphans)}: taken over in {takeover:.1f} s (claim_seconds {CLAIM}); "
          f"{watcher.readings} lock readings, no double owner")


def test_a_second_process_on_a_sqlite_store_is_refused(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "sqlite:///triage.sqlite3"\n[daemon]\ninterval_seconds = 5\n\n[[mailboxes]]\n'
                      'name = "sales"\nkind = "maildir"\npath = "Maildir"\ndrafts = "Drafts"\n', encoding="utf-8")
    assert cli("--config", str(config), "db", "upgrade").returncode == 0
    first = DaemonProcess(config, {})
    try:
        first.wait_for("polling every 5 s")
        second, once = cli("--config", str(config), "run"), cli("--config", str(config), "run", "--once")
        status = cli("--config", str(config), "status")
        assert first.terminate() == 0
    finally:
        first.kill()
    for refused in (second, once):
        err = refused.stderr.decode()
        assert refused.returncode == 2 and "is in use by inquiry-triage on " in err and \
            f"pid {first.proc.pid}; a SQLite store serves one process" in err, err
    assert f"pid {first.proc.pid}" in status.stdout.decode(), status.stdout.decode()
    assert cli("--config", str(config), "run", "--once").returncode == 0  # the lock went with the process


def test_a_replica_whose_session_the_server_ends_stops_at_once_and_claims_again(tmp_path: Path) -> None:
    with fleet_of_mailboxes(tmp_path) as (server, fleet, users):
        schema = fleet.folder / "schema.toml"
        schema.write_text(f'[store]\nurl = "{fleet.store_url}"\n', encoding="utf-8")
        assert cli("--config", str(schema), "db", "upgrade").returncode == 0
        watcher = LockWatcher(fleet.store_url, fleet.names)
        watcher.start()
        try:
            replica = fleet.start()
            wait_for(lambda: watcher.counts() == Counter({replica.proc.pid: MAILBOXES}), 90, "all mailboxes claimed")
            replica.wait_for("waiting with IDLE", count=MAILBOXES)
            visitor = cli("--config", str(fleet.folder / "replica0.toml"), "run", "--once", env=fleet.env)
            url = fleet.store_url.replace("postgresql:", "postgresql+psycopg:", 1)
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                ended = conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE "
                    "'inquiry-triage replica %' AND datname = current_database()")).scalar()
            engine.dispose()
            replica.wait_for(f"Stopping {MAILBOXES} mailbox(es) until this replica can confirm it owns them", timeout=10)
            wait_for(lambda: watcher.counts() == Counter({replica.proc.pid: MAILBOXES}), 60, "all claimed again")
            feeder = Feeder(server, users, pause=0)
            for i in range(MAILBOXES):
                feeder.put(i, i)
            wait_for(lambda: replica.text().count("status=") >= MAILBOXES, 60, "the new mail processed")
            assert replica.terminate() == 0
        finally:
            watcher.stop.set()
            watcher.join(5)
        for i, (user, pw) in enumerate(users):
            with server.connect(user, pw) as c:
                replies = [str(email.message_from_bytes(d, policy=email.policy.default)["In-Reply-To"]).strip()
                           for _, _, d in drafts(c)]
            assert sorted(replies) == sorted(feeder.inquiries[i])
    assert ended is True and visitor.returncode == 0
    assert visitor.stderr.decode().count("is owned by a running replica; left to it") == MAILBOXES
    stopped, claimed = replica.text().index("Stopping 20"), replica.text().rindex("claimed by this replica")
    assert stopped < claimed and watcher.violations == []
