"""Memory over a long backlog: the daemon's RSS while `run --once` works through N messages.

Prints figures; not a pass/fail test. Starts its own Dovecot (tests/dovecot.py), bulk loads N messages (the
sample mails cycled, unique Message-IDs) with MULTIAPPEND, runs the daemon once over them and samples its VmRSS
(/proc/<pid>/status) every second, with the progress read from the store (rows in `messages`). Prints the RSS at
start, when the pass begins, at 10/25/50/75/100% of the messages, and the maximum. Target: <= 200 MB and flat.

    .venv/bin/python bench/memory.py [--n 50000] [--timeout 3600]
"""

from __future__ import annotations

import argparse
import time

from _imapbench import ACCOUNT, PW, bulk_load, children_rss_mb, log_time, rss_mb, scratch, store_count

from tests.dovecot import DaemonProcess, running_dovecot, write_config

MARKS = (10, 25, 50, 75, 100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000, help="messages in the backlog (default 50000)")
    ap.add_argument("--vary", action="store_true",
                    help="new words in most messages (order, model and reference numbers), as in real mail")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds the daemon may take before it is killed")
    ap.add_argument("--attachments", type=int, default=0, metavar="K",
                    help="every K-th message carries an attachment (RFQ files and the hostile set); the attachment "
                         "workers' RSS is shown beside the daemon's")
    args = ap.parse_args()
    n = args.n

    with running_dovecot() as server, scratch("mem") as folder:
        user, pw = server.add_user()
        load = bulk_load(server, user, pw, n, vary=args.vary, attachments=args.attachments)
        config = write_config(folder, server.mailbox_toml(ACCOUNT, user, PW, backfill_days=3650), interval=300)
        db = folder / "triage.sqlite3"
        started, started_wall = time.monotonic(), time.time()
        daemon = DaemonProcess(config, {PW: pw}, "--once")
        samples: list[tuple[float, float, int]] = []  # (seconds since start, RSS MB, store rows)
        anon: list[float] = []  # RssAnon MB: the private part of RSS (without shared library pages)
        workers: list[float] = []  # the attachment workers' RSS, MB
        rows = 0
        try:
            while daemon.proc.poll() is None and time.monotonic() - started < args.timeout:
                rss = rss_mb(daemon.proc.pid)
                count = store_count(db)
                rows = count if count is not None else rows
                private = rss_mb(daemon.proc.pid, "RssAnon")
                if rss is not None and private is not None and daemon.proc.poll() is None:
                    samples.append((time.monotonic() - started, rss, rows))
                    anon.append(private)
                    workers.append(children_rss_mb(daemon.proc.pid))
                time.sleep(1.0)
            timed_out = daemon.proc.poll() is None
        finally:
            daemon.kill()
        elapsed = time.monotonic() - started
        rows = store_count(db) or rows
        text = daemon.text()
        begin = log_time(text, f"Mailbox {ACCOUNT}: IMAP")
        errors = [ln for ln in text.splitlines() if " ERROR " in ln or "Traceback" in ln]

    if not samples:
        raise SystemExit("no RSS sample taken: the daemon exited at once")
    kind = "with new words in most messages" if args.vary else "the samples cycled"
    print(f"daemon RSS over a backlog of {n} messages, {kind} (bulk load {n / load:.0f} msg/s); target <= 200 MB and flat")
    print(f"processed {rows} in {elapsed:.0f} s ({rows / elapsed:.0f} msg/s); exit code {daemon.proc.returncode}"
          f"{' (KILLED: timed out)' if timed_out else ''}; {len(samples)} samples")
    print(f"{'point':<26}{'t s':>7}{'rows':>8}{'RSS MB':>9}")
    print(f"{'start (first sample)':<26}{samples[0][0]:>7.0f}{samples[0][2]:>8}{samples[0][1]:>9.1f}")
    if begin is not None:
        first_pass = next((s for s in samples if s[0] >= begin - started_wall), None)
        if first_pass:
            print(f"{'pass begins (rules loaded)':<26}{first_pass[0]:>7.0f}{first_pass[2]:>8}{first_pass[1]:>9.1f}")
    for mark in MARKS:
        point = next((s for s in samples if s[2] >= n * mark / 100), None)
        if point is None and mark == 100:
            label = "100% (last sample)" if rows >= n else "last sample (not done)"
            print(f"{label:<26}{samples[-1][0]:>7.0f}{samples[-1][2]:>8}{samples[-1][1]:>9.1f}")
        elif point is None:
            print(f"{f'{mark}% (not reached)':<26}{'-':>7}{'-':>8}{'-':>9}")
        else:
            print(f"{f'{mark}% of the messages':<26}{point[0]:>7.0f}{point[2]:>8}{point[1]:>9.1f}")
    peak = max(samples, key=lambda s: s[1])
    print(f"{'max':<26}{peak[0]:>7.0f}{peak[2]:>8}{peak[1]:>9.1f}")
    print(f"of which private (RssAnon) at the max: {anon[samples.index(peak)]:.1f} MB; the rest is shared library "
          "and mapped file pages")
    lo = next((s for s in samples if s[2] >= n * 0.10), None)
    hi = next((s for s in samples if s[2] >= n * 0.99), samples[-1])
    if lo is not None and hi[2] > lo[2]:
        print(f"growth from 10% to the end: {hi[1] - lo[1]:+.1f} MB over {hi[2] - lo[2]} messages "
              f"({1000 * (hi[1] - lo[1]) / (hi[2] - lo[2]):+.2f} MB per 1,000 messages)")
    if args.attachments:
        print(f"attachment workers (children of the daemon): max {max(workers):.1f} MB RSS, at the end {workers[-1]:.1f} MB; "
              f"daemon + workers at most {max(s[1] + w for s, w in zip(samples, workers, strict=True)):.1f} MB")
    if errors:
        print(f"error lines in the daemon's log: {len(errors)}")
        for line in errors[:5]:
            print("  " + line)


if __name__ == "__main__":
    main()
