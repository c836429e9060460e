"""What the ownership costs the database as the mailboxes grow: a claim round's look at pg_locks, its membership
query and a lock taken, with 2,000, 10,000 and 100,000 mailboxes locked.

Prints figures; not a pass/fail test. Runs a PostgreSQL instance of its own (initdb in a temporary folder, a free
port, max_locks_per_transaction raised so that 100,000 session locks fit: see docs/operations.md; how many fit with
the default is printed too), holds N advisory
locks in one session (as replicas would, together), and times from a second session, as a replica does: the
membership query (pg_stat_activity), the scan of every advisory lock (pg_locks, read in full by the server whatever
the filter), and pg_try_advisory_lock. Each figure is the median of --repeat, wall clock from the client, with the
server backend's CPU time beside it (/proc).

    .venv/bin/python bench/locks.py [--sizes 2000,10000,100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa
from _imapbench import cpu_seconds

from daemon.store.locks import Session
from extractors.core.errors import ConfigError
from tests.faults import private_postgres

LOCKS_PER_CONNECTION = 4096  # x 40 connections: 163,840 lock slots in the instance's shared lock table


def timed(pid: int, call, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    """Median wall-clock ms of call() and median server CPU ms of its backend."""
    walls, cpus = [], []
    for _ in range(repeat):
        before, t0 = cpu_seconds(pid) or 0.0, time.perf_counter()
        call()
        walls.append(1000 * (time.perf_counter() - t0))
        cpus.append(1000 * ((cpu_seconds(pid) or 0.0) - before))
    return statistics.median(walls), statistics.median(cpus)


def default_room(url: str) -> int:
    """How many mailbox locks fit the lock table of an instance with the default max_locks_per_transaction (64)
    and max_connections 40 (this instance's)."""
    engine = sa.create_engine(url)
    holder = Session(engine, "inquiry-triage replica room 1", claim_seconds=5)
    holder.open()
    held = 0
    try:
        while held < 1_000_000:
            holder._query("SELECT count(pg_advisory_lock(k)) FROM generate_series(%s::bigint, %s::bigint) k",  # noqa: SLF001
                          (held + 1, held + 500))
            held += 500
    except ConfigError:  # out of shared memory: the message names max_locks_per_transaction
        pass
    finally:
        holder.close()
        engine.dispose()
    return held


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,10000,100000")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rows = []
    with private_postgres() as pg:
        fits = default_room(pg.url)
        with (pg.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"max_locks_per_transaction = {LOCKS_PER_CONNECTION}\n")
        pg.restart()
        engine = sa.create_engine(pg.url)
        holder = Session(engine, "inquiry-triage replica holder 1", claim_seconds=5)
        asker = Session(engine, "inquiry-triage replica asker 2", claim_seconds=5)
        holder.open()
        asker.open()
        held = 0
        for n in (int(x) for x in args.sizes.split(",")):
            holder._query("SELECT count(pg_advisory_lock(k)) FROM generate_series(%s::bigint, %s::bigint) k",  # noqa: SLF001
                          (held + 1, n))
            held = n
            scan = timed(asker.pid, asker.held, args.repeat)
            members = timed(asker.pid, asker.members, args.repeat)
            keys = iter(range(-1, -10 * args.repeat, -1))
            claim = timed(asker.pid, lambda keys=keys: asker.try_lock(next(keys)), args.repeat)
            rows.append((n, scan, members, claim, len(asker.held())))
        holder.close()
        asker.close()
        engine.dispose()
    print("ownership queries against a PostgreSQL instance holding N mailbox locks (median ms: client wall clock / "
          "server backend CPU)")
    print(f"{'locks':>8} {'pg_locks scan':>16} {'membership':>12} {'try-lock':>10}")
    for n, scan, members, claim, seen in rows:
        print(f"{n:>8,} {scan[0]:>8.1f} / {scan[1]:<5.1f} {members[0]:>5.2f} / {members[1]:<4.1f} "
              f"{claim[0]:>4.2f} / {claim[1]:<3.1f}  ({seen:,} locks read)")
    print(f"with the default max_locks_per_transaction (64) and max_connections 40, one session held {fits:,} "
          "locks before the lock table was full")
    if len(rows) > 1:
        (n1, s1, *_), (n2, s2, *_) = rows[0], rows[-1]
        print(f"pg_locks scan per lock held: {1000 * (s2[0] - s1[0]) / (n2 - n1):.2f} us client, "
              f"{1000 * (s2[1] - s1[1]) / (n2 - n1):.2f} us server CPU")


if __name__ == "__main__":
    main()
