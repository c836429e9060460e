"""Arrival to draft with IDLE: how long after an inquiry lands in INBOX its draft is in Drafts.

Prints figures; not a pass/fail test. Starts its own Dovecot (tests/dovecot.py) and the real daemon
(`python -m daemon --config ... run`, IMAP mailbox, IDLE on, interval 300 s so only IDLE can be this fast), then
APPENDs N inquiries one at a time with a pause between them. For each it measures the time from the APPEND's
completion until a draft with In-Reply-To = that inquiry's Message-ID is in Drafts (a second connection polls
Drafts with NOOP + UID SEARCH HEADER In-Reply-To every 20 ms). A third connection idles on INBOX to show the
server's own notification delay (the floor). Target: p95 <= 0.7 s (Dovecot notifies after ~0.5 s).

    .venv/bin/python bench/idle_latency.py [--n 40] [--pause 1.5]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from _imapbench import ACCOUNT, PW, corpus, percentile, scratch

from tests.dovecot import DaemonProcess, running_dovecot, write_config

POLL = 0.02  # seconds between two looks at Drafts
DRAFT_TIMEOUT = 15.0  # a draft not there after this long counts as missing


class Notices(threading.Thread):
    """An independent client idling on INBOX: the time each EXISTS reaches it (Dovecot's notification delay)."""

    def __init__(self, server, user: str, password: str) -> None:  # noqa: ANN001
        super().__init__(daemon=True)
        self.server, self.user, self.password = server, user, password
        self.exists: list[float] = []  # monotonic arrival time of each new EXISTS count
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        with self.server.connect(self.user, self.password) as client:
            client.select_folder("INBOX", readonly=True)
            seen = int(client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"])
            client.idle()
            self.ready.set()
            while not self.stop.is_set():
                for resp in client.idle_check(timeout=0.2):
                    if len(resp) > 1 and resp[1] == b"EXISTS" and int(resp[0]) > seen:
                        now = time.monotonic()
                        self.exists.extend([now] * (int(resp[0]) - seen))
                        seen = int(resp[0])
            client.idle_done()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="inquiries to append (default 40)")
    ap.add_argument("--pause", type=float, default=1.5, help="seconds between two APPENDs (default 1.5)")
    args = ap.parse_args()
    inquiries = list(corpus(args.n, drafting_only=True))

    with running_dovecot() as server, scratch("il") as folder:
        user, pw = server.add_user()
        config = write_config(folder, server.mailbox_toml(ACCOUNT, user, PW), interval=300)
        daemon = DaemonProcess(config, {PW: pw})
        notices = Notices(server, user, pw)
        latencies: list[float] = []
        floors: list[float] = []
        missing: list[str] = []
        try:
            daemon.wait_for("waiting with IDLE", timeout=120)
            notices.start()
            notices.ready.wait(30)
            with server.connect(user, pw) as sender, server.connect(user, pw) as watcher:
                watcher.select_folder("Drafts", readonly=True)
                for n, (mid, data) in enumerate(inquiries):
                    time.sleep(args.pause)  # the daemon is back in IDLE
                    if daemon.proc.poll() is not None:
                        raise SystemExit(f"the daemon exited ({daemon.proc.returncode}):\n{daemon.text()[-3000:]}")
                    sender.append("INBOX", data)
                    appended = time.monotonic()
                    while True:
                        watcher.noop()
                        if watcher.search(["HEADER", "In-Reply-To", mid]):
                            latencies.append(time.monotonic() - appended)
                            break
                        if time.monotonic() - appended > DRAFT_TIMEOUT:
                            missing.append(mid)
                            break
                        time.sleep(POLL)
                    if len(notices.exists) > n:
                        floors.append(notices.exists[n] - appended)
            code = daemon.terminate()
        finally:
            notices.stop.set()
            daemon.kill()
        notices.join(5)
        errors = [line for line in daemon.text().splitlines() if " ERROR " in line or "Traceback" in line]

    print(f"arrival -> draft with IDLE, {len(inquiries)} inquiries appended {args.pause} s apart "
          f"(Dovecot notifies after ~0.5 s; target p95 <= 0.7 s)")
    if latencies:
        print(f"{'':<34}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'min s':>8}{'mean s':>8}")
        rows = [("APPEND -> draft in Drafts", latencies)]
        if floors:
            rows.append(("APPEND -> EXISTS at an idle client", floors))
        for name, values in rows:
            print(f"{name:<34}{percentile(values, 50):>8.3f}{percentile(values, 95):>8.3f}{max(values):>8.3f}"
                  f"{min(values):>8.3f}{statistics.mean(values):>8.3f}")
    print(f"drafts seen: {len(latencies)}/{len(inquiries)}; missing after {DRAFT_TIMEOUT:.0f} s: {len(missing)}; "
          f"daemon exit code after SIGTERM: {code}; error lines in its log: {len(errors)}")
    for line in errors[:5]:
        print("  " + line)


if __name__ == "__main__":
    main()
