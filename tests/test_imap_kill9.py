"""Exactly once over IMAP: kill -9 the daemon at random points of a 500-message run, five times, restarting each time
(`make soak`: 20 times over 2,000 messages)."""

from __future__ import annotations

import email
import email.policy
import os
import random
import re
import time
from collections import Counter
from pathlib import Path

from daemon.demo import sample_files
from daemon.store import Store
from tests.clihelp import cli
from tests.dovecot import DaemonProcess, append, drafts, running_dovecot, write_config
from tests.faults import SOAK

MESSAGES = 2000 if SOAK else 500
KILLS = 20 if SOAK else 5
NO_DRAFT_STEMS = {"04-spam-phishing-po-lure", "13-out-of-office-autoreply", "15-bounce-mailer-daemon",
                  "18-newsletter-trade-show"}
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*", re.IGNORECASE | re.MULTILINE)


def copies() -> list[tuple[str, str, bytes]]:
    """MESSAGES copies of the sample inbox, each with its own Message-ID: (stem, message-id, bytes)."""
    samples = sample_files()
    out = []
    for n in range(MESSAGES):
        path = samples[n % len(samples)]
        mid = f"<kill9-{n}-{path.stem}@example.net>"
        data = _MESSAGE_ID.sub(f"Message-ID: {mid}".encode(), path.read_bytes(), count=1)
        out.append((path.stem, mid, data))
    return out


def in_reply_to(data: bytes) -> str:
    return str(email.message_from_bytes(data, policy=email.policy.default)["In-Reply-To"]).strip()


def test_kill_9_five_times_during_a_500_message_run_leaves_exactly_one_draft_each(tmp_path: Path) -> None:
    seed = int(os.environ.get("KILL9_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    mails = copies()
    with running_dovecot() as server:
        user, pw = server.add_user()
        with server.connect(user, pw) as c:
            for start in range(0, len(mails), 100):
                append(c, [data for _, _, data in mails[start:start + 100]])
        config = write_config(tmp_path, server.mailbox_toml("sales", user, "PW", batch_size=50), interval=5)
        done_before = 0
        for kill in range(KILLS):
            daemon = DaemonProcess(config, {"PW": pw})
            try:
                target = rng.randint(5, 60)
                daemon.wait_for("status=", count=target, timeout=120)
                time.sleep(rng.uniform(0, 0.2))  # somewhere inside the next message(s): fetch, APPEND, tag or record
                daemon.proc.kill()  # SIGKILL: no clean-up of any kind
                daemon.proc.wait(timeout=30)
            finally:
                daemon.kill()
            done = daemon.text().count("status=")
            assert done >= target, f"seed {seed}: kill {kill} came too late"
            done_before += done
        final = cli("--config", str(config), "run", "--once", env={"PW": pw}, timeout=600)
        assert final.returncode == 0, final.stderr.decode()[-4000:]
        with server.connect(user, pw) as c:
            replies = Counter(in_reply_to(d) for _, _, d in drafts(c))
    store = Store(f"sqlite:///{tmp_path / 'triage.sqlite3'}")
    rows = store.messages("sales", limit=MESSAGES * 2)
    drafted = {r["message_id"] for r in rows if r["status"] == "drafted"}
    assert len(rows) == MESSAGES and all(r["status"] in ("drafted", "skipped") for r in rows), f"seed {seed}"
    assert [mid for mid, n in replies.items() if n > 1] == [], f"seed {seed}: duplicate drafts"
    assert set(replies) == drafted, f"seed {seed}: drafts and the store disagree"
    no_draft = {mid for stem, mid, _ in mails if stem in NO_DRAFT_STEMS}
    assert not drafted & no_draft and len(drafted) >= MESSAGES * 0.6, f"seed {seed}: {len(drafted)} drafted"
    assert 0 < done_before < MESSAGES, f"seed {seed}: every kill should interrupt the run"
    print(f"kill -9: seed {seed}, {KILLS} kills, {MESSAGES} messages, {len(drafted)} drafts, 0 duplicates, 0 lost")
