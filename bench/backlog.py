"""Backlog throughput: N inquiries waiting in INBOX, processed end to end by the daemon (`run --once`), against
the bare IMAP loop on a fresh copy of the same backlog (fetch + parse + APPEND a fixed draft, no extraction/store).

Prints figures; not a pass/fail test. Starts its own Dovecot (tests/dovecot.py); the backlog is a mix of the
sample mails (daemon/samples/inbox) with unique Message-IDs, bulk loaded with MULTIAPPEND into two users. The
daemon's rate is also shown per tenth of the backlog, to show whether it slows down as Drafts and the store grow.
Target: the daemon >= 60% of the bare loop's messages/s.

    .venv/bin/python bench/backlog.py [--n 10000] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import logging
import time

import imapclient
from _imapbench import ACCOUNT, PW, SAMPLES, bulk_load, log_time, scratch, store_count, store_statuses

from daemon import config as config_mod
from daemon.parse.message import parse
from daemon.toolkit import load_toolkit
from extractors.core.model import MessageKey, RawMessage
from tests.dovecot import DaemonProcess, running_dovecot, write_config

BATCH = 200  # the daemon's default batch_size
DRAFT = (b"From: Sales <sales@brightway-power.example>\r\nTo: buyer@example.net\r\nSubject: Re: your inquiry\r\n"
         b"Message-ID: <bare-draft@brightway-power.example>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n\r\nThank you for your inquiry; our quotation follows.\r\n")


def run_daemon(server, user: str, pw: str, folder, n: int, timeout: float) -> dict:  # noqa: ANN001
    """`run --once` over the backlog; the progress (store rows) sampled every second."""
    config = write_config(folder, server.mailbox_toml(ACCOUNT, user, PW, backfill_days=3650), interval=300)
    db = folder / "triage.sqlite3"
    started_wall, started = time.time(), time.monotonic()
    daemon = DaemonProcess(config, {PW: pw}, "--once")
    samples: list[tuple[float, int]] = []  # (monotonic, rows)
    next_sample = 0.0
    try:
        while daemon.proc.poll() is None and time.monotonic() - started < timeout:
            if time.monotonic() >= next_sample:  # progress once a second; the exit is noticed within 20 ms
                count = store_count(db)
                if count is not None:
                    samples.append((time.monotonic(), count))
                next_sample = time.monotonic() + 1.0
            time.sleep(0.02)
        timed_out = daemon.proc.poll() is None
        ended_wall, ended = time.time(), time.monotonic()
    finally:
        daemon.kill()
    text = daemon.text()
    rows = store_count(db) or 0
    samples.append((ended, rows))
    begin = log_time(text, f"Mailbox {ACCOUNT}: IMAP")  # logged once the rules are loaded, before the pass
    last = log_time("\n".join(reversed(text.splitlines())), " status=")  # the last message's log line
    return {
        "wall": ended - started, "work": ended_wall - (begin or started_wall), "startup": (begin or started_wall) - started_wall,
        "pass": (last - begin) if begin and last else 0.0,
        "rows": rows, "statuses": store_statuses(db) if db.exists() else {}, "samples": samples, "timed_out": timed_out,
        "code": daemon.proc.returncode, "errors": [ln for ln in text.splitlines() if " ERROR " in ln or "Traceback" in ln],
    }


def bare_loop(server, user: str, pw: str) -> tuple[int, float]:  # noqa: ANN001
    """Fetch BODY.PEEK[] in batches, parse each message, APPEND a fixed small draft; return (messages, seconds)."""
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # "Email content 'rfc822-headers' not handled"
    platforms = load_toolkit(config_mod.embedded_default(), quiet=True, drafts=False).platforms
    done = 0
    with server.connect(user, pw) as client:
        started = time.monotonic()
        info = client.select_folder("INBOX")
        uidvalidity = int(info[b"UIDVALIDITY"])
        uids = sorted(client.search("ALL"))
        for start in range(0, len(uids), BATCH):
            found = client.fetch(uids[start:start + BATCH], ["BODY.PEEK[]", "FLAGS"])
            for uid in sorted(found):
                raw = RawMessage(MessageKey("bare", "INBOX", uidvalidity, uid), bytes(found[uid][b"BODY[]"]),
                                 tuple(str(f) for f in found[uid][b"FLAGS"]), str(uid))
                parse(raw, platforms)
                client.append("Drafts", DRAFT, flags=(imapclient.DRAFT, imapclient.SEEN))
                done += 1
        seconds = time.monotonic() - started
    return done, seconds


def tenths(samples: list[tuple[float, int]], n: int) -> list[str]:
    """The daemon's messages/s over each tenth of the backlog (from the sampled store row counts)."""
    out = []
    for k in range(10):
        lo, hi = n * k / 10, n * (k + 1) / 10
        first = next((s for s in samples if s[1] >= lo and s[1] > 0), None)
        last = next((s for s in samples if s[1] >= hi), None)
        if first is None or last is None or last[0] <= first[0]:
            out.append("-")
            continue
        out.append(f"{(last[1] - first[1]) / (last[0] - first[0]):.0f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="messages in the backlog (default 10000)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds the daemon may take before it is killed")
    ap.add_argument("--attachments", type=int, default=0, metavar="K",
                    help="every K-th message carries an attachment: RFQ files of every kind and the hostile set")
    args = ap.parse_args()
    n = args.n

    with running_dovecot() as server, scratch("bl") as folder:
        (u1, p1), (u2, p2) = server.add_user(), server.add_user()
        load1 = bulk_load(server, u1, p1, n, tag="a", attachments=args.attachments)
        load2 = bulk_load(server, u2, p2, n, tag="a", attachments=args.attachments)  # the same backlog, same Message-IDs
        d = run_daemon(server, u1, p1, folder, n, args.timeout)
        bare_n, bare_s = bare_loop(server, u2, p2)
        with server.connect(u1, p1) as c:
            drafts = int(c.folder_status("Drafts", [b"MESSAGES"])[b"MESSAGES"])

    daemon_rate = d["rows"] / d["work"] if d["work"] > 0 else 0.0
    bare_rate = bare_n / bare_s if bare_s > 0 else 0.0
    mix = f"; every {args.attachments}th with an attachment (RFQ files and hostile files)" if args.attachments else ""
    print(f"backlog of {n} messages ({len(SAMPLES)} samples cycled, unique Message-IDs{mix}); bulk load "
          f"{n / load1:.0f} + {n / load2:.0f} msg/s (MULTIAPPEND)")
    print(f"daemon run --once: {d['rows']} processed ({', '.join(f'{k} {v}' for k, v in sorted(d['statuses'].items()))}), "
          f"{drafts} drafts; exit code {d['code']}{' (KILLED: timed out)' if d['timed_out'] else ''}")
    print(f"  wall {d['wall']:.1f} s including {d['startup']:.1f} s start-up -> {d['rows'] / d['wall']:.0f} msg/s overall, "
          f"{daemon_rate:.0f} msg/s after start-up")
    if d["pass"]:
        print(f"  the pass itself (first IMAP log line to the last message's): {d['pass']:.1f} s -> "
              f"{d['rows'] / d['pass']:.0f} msg/s")
    print(f"  msg/s per tenth of the backlog: {' '.join(tenths(d['samples'], n))}")
    print(f"bare loop (fetch BODY.PEEK x{BATCH} + parse + APPEND fixed draft): {bare_n} in {bare_s:.1f} s -> "
          f"{bare_rate:.0f} msg/s")
    if bare_rate:
        pass_share = f"{100 * d['rows'] / d['pass'] / bare_rate:.0f}% for the pass itself, " if d["pass"] else ""
        print(f"daemon / bare loop: {pass_share}{100 * daemon_rate / bare_rate:.0f}% after start-up (with exit), "
              f"{100 * d['rows'] / d['wall'] / bare_rate:.0f}% overall (target >= 60%)")
    if d["errors"]:
        print(f"error lines in the daemon's log: {len(d['errors'])}")
        for line in d["errors"][:5]:
            print("  " + line)


if __name__ == "__main__":
    main()
