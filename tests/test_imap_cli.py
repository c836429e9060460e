"""End to end over IMAP: the real CLI as a subprocess against a real Dovecot on loopback."""

from __future__ import annotations

import email
import email.policy
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.demo import sample_files
from daemon.store import Store
from tests.clihelp import ROOT, cli
from tests.dovecot import (
    DaemonProcess,
    Dovecot,
    append,
    count_messages,
    drafts,
    flags,
    message,
    running_dovecot,
    wait_until,
    write_config,
)

SAMPLES = {p.stem: p.read_bytes() for p in sample_files()}
RFQ = SAMPLES["01-detailed-rfq-germany"]
OUT_OF_OFFICE = SAMPLES["13-out-of-office-autoreply"]
PW = "PW_SALES"


def nested_mime(depth: int = 3000) -> bytes:
    """A multipart nested deeper than the parser accepts: processing it fails every time."""
    head = "From: buyer@example.net\r\nSubject: RFQ nested\r\nMessage-ID: <nested-1@example.net>\r\nMIME-Version: 1.0\r\n"
    opening = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    return (head + opening + "Content-Type: text/plain\r\n\r\nhello\r\n" + closing).encode()


def in_reply_to(data: bytes) -> str:
    return str(email.message_from_bytes(data, policy=email.policy.default)["In-Reply-To"]).strip()


def message_id(data: bytes) -> str:
    return str(email.message_from_bytes(data, policy=email.policy.default)["Message-ID"]).strip()


@pytest.fixture(scope="module")
def server() -> Iterator[Dovecot]:
    with running_dovecot() as s:
        yield s


def test_idle_new_mail_becomes_a_threaded_draft_and_sigterm_exits_0(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW), interval=300)
    daemon = DaemonProcess(config, {PW: pw})
    try:
        daemon.wait_for("waiting with IDLE")
        with server.connect(user, pw) as c:
            append(c, [RFQ, OUT_OF_OFFICE])
        wait_until(lambda: count_messages(server, user, pw) >= 1, 90, "a draft", daemon)  # interval is 300 s: only IDLE is this fast
        daemon.wait_for("status=skipped")
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
    log = daemon.text()
    with server.connect(user, pw) as c:
        saved = drafts(c)
        inbox = flags(c)
    assert [in_reply_to(d) for _, _, d in saved] == [message_id(RFQ)]
    assert b"\\Draft" in saved[0][1]
    assert all(b"\\Seen" not in f for f in inbox.values())
    assert any(f.startswith(b"$") for f in inbox[1]), inbox  # the inquiry carries its triage keywords
    assert "Stopped" in log and "Traceback" not in log
    status = cli("--config", str(config), "status")
    assert status.returncode == 0 and "sales" in status.stdout.decode() and " ok " in status.stdout.decode()


def _polled_draft(server: Dovecot, tmp_path: Path, idle: bool) -> DaemonProcess:
    """Run the daemon on a polled mailbox until a new inquiry has its draft; return the stopped daemon."""
    user, pw = server.add_user()
    daemon = DaemonProcess(write_config(tmp_path, server.mailbox_toml("sales", user, PW, idle=idle), interval=5), {PW: pw})
    try:
        daemon.wait_for("polling every 5 s")
        with server.connect(user, pw) as c:
            append(c, RFQ)
        wait_until(lambda: count_messages(server, user, pw) == 1, 90, "a draft", daemon)
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
    return daemon


def test_without_idle_the_folder_is_polled(server: Dovecot, tmp_path: Path) -> None:
    assert "IDLE off" in _polled_draft(server, tmp_path, idle=False).text()


def test_server_without_idle_capability_is_polled(tmp_path: Path) -> None:
    with running_dovecot(idle=False) as server:
        _polled_draft(server, tmp_path, idle=True)


def test_dovecot_stopped_and_restarted_mid_run_loses_nothing(tmp_path: Path) -> None:
    with running_dovecot() as server:
        user, pw = server.add_user()
        config = write_config(tmp_path, server.mailbox_toml("sales", user, PW), interval=300)
        mails = [message(n) for n in range(40)]
        with server.connect(user, pw) as c:
            append(c, mails)
        daemon = DaemonProcess(config, {PW: pw})
        try:
            wait_until(lambda: count_messages(server, user, pw) >= 3, 60, "the first drafts", daemon)
            server.stop()
            daemon.wait_for("unavailable")
            server.start()
            daemon.wait_for("Mailbox sales: IMAP", count=2, timeout=60)  # reconnected
            with server.connect(user, pw) as c:
                append(c, message(99))
            wait_until(lambda: count_messages(server, user, pw) == 41, 90, "41 drafts", daemon)
            assert daemon.terminate() == 0
        finally:
            daemon.kill()
        with server.connect(user, pw) as c:
            replies = sorted(in_reply_to(d) for _, _, d in drafts(c))
    assert len(replies) == len(set(replies)) == 41


def test_uidvalidity_reset_makes_no_duplicate(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    with server.connect(user, pw) as c:
        c.create_folder("Sales")
        append(c, [RFQ, SAMPLES["09-spanish-flood-chile"]], "Sales")
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW, inbox="Sales"))
    assert cli("--config", str(config), "run", "--once", env={PW: pw}).returncode == 0
    with server.connect(user, pw) as c:
        c.delete_folder("Sales")
        c.create_folder("Sales")
        append(c, [RFQ, SAMPLES["09-spanish-flood-chile"]], "Sales")
    second = cli("--config", str(config), "run", "--once", env={PW: pw})
    assert second.returncode == 0, second.stderr.decode()
    assert count_messages(server, user, pw) == 2
    store = Store(f"sqlite:///{tmp_path / 'triage.sqlite3'}")
    reasons = [r["reason"] for r in store.messages("sales") if r["status"] == "skipped"]
    assert len(reasons) == 2 and all(r.startswith("already processed as") for r in reasons)


def test_chinese_named_drafts_folder_over_tls(tmp_path: Path) -> None:
    with running_dovecot(tls=True) as server:
        user, pw = server.add_user()
        with server.connect(user, pw) as c:
            c.create_folder("草稿箱")
            append(c, SAMPLES["08-chinese-power-station-shenzhen"])
        config = write_config(tmp_path, server.mailbox_toml("sales", user, PW, drafts="草稿箱"))
        result = cli("--config", str(config), "run", "--once", env={PW: pw})
        assert result.returncode == 0, result.stderr.decode()
        assert "drafts -> 草稿箱" in result.stderr.decode()
        with server.connect(user, pw) as c:
            saved = drafts(c, "草稿箱")
            assert drafts(c, "Drafts") == []
    assert [in_reply_to(d) for _, _, d in saved] == [message_id(SAMPLES["08-chinese-power-station-shenzhen"])]


def test_two_mailboxes_one_with_a_wrong_password_the_other_keeps_working(server: Dovecot, tmp_path: Path) -> None:
    good, good_pw = server.add_user()
    bad, _ = server.add_user()
    boxes = server.mailbox_toml("good", good, "PW_GOOD") + "\n" + server.mailbox_toml("bad", bad, "PW_BAD")
    config = write_config(tmp_path, boxes, interval=300)
    env = {"PW_GOOD": good_pw, "PW_BAD": "wrong"}
    daemon = DaemonProcess(config, env)
    try:
        daemon.wait_for("mailbox=bad unavailable")
        daemon.wait_for("waiting with IDLE")
        with server.connect(good, good_pw) as c:
            append(c, RFQ)
        wait_until(lambda: count_messages(server, good, good_pw) == 1, 90, "a draft in the good mailbox", daemon)
        status = cli("--config", str(config), "status").stdout.decode()
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
    states = {s["account"]: s for s in Store(f"sqlite:///{tmp_path / 'triage.sqlite3'}").mailbox_states()}
    assert (states["good"]["state"], states["bad"]["state"]) == ("ok", "error")
    assert "refused the login" in states["bad"]["last_error"] and "bad" in status and "error" in status
    once = cli("--config", str(config), "run", "--once", env=env)
    assert once.returncode == 0, once.stderr.decode()
    all_bad = {"PW_GOOD": "wrong", "PW_BAD": "wrong"}
    assert cli("--config", str(config), "run", "--once", env=all_bad).returncode == 3
    assert cli("--config", str(config), "run", env=all_bad).returncode == 3


def test_unreachable_server_exits_3(tmp_path: Path, server: Dovecot) -> None:
    toml = server.mailbox_toml("sales", "nobody", PW).replace(f"port = {server.port}", "port = 9")
    config = write_config(tmp_path, toml)
    result = cli("--config", str(config), "run", "--once", env={PW: "x"})
    assert result.returncode == 3 and "mailbox=sales unavailable" in result.stderr.decode()


def test_malformed_message_is_quarantined_at_once_and_the_next_one_processed(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    with server.connect(user, pw) as c:
        append(c, [nested_mime(), RFQ])
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW), max_attempts=2)
    first = cli("--config", str(config), "run", "--once", env={PW: pw})
    err = first.stderr.decode()
    assert first.returncode == 0 and "uid=1 quarantined at attempt 1: could not be processed: " in err, err
    assert count_messages(server, user, pw) == 1
    with server.connect(user, pw) as c:
        inbox = flags(c)
    assert b"$Triage_Quarantined" in inbox[1] and b"$Triage_Quarantined" not in inbox[2]
    second = cli("--config", str(config), "run", "--once", env={PW: pw})
    assert "uid=1" not in second.stderr.decode()
    status = cli("--config", str(config), "status").stdout.decode()
    assert "quarantined" in status and " 1 " in status


NO_DRAFT = [
    ("out-of-office", OUT_OF_OFFICE),
    ("bounce", SAMPLES["15-bounce-mailer-daemon"]),
    ("newsletter", SAMPLES["18-newsletter-trade-show"]),
    ("mailing list", message(1, headers={"List-Id": "<buyers.lists.example.net>"})),
    ("own domain", message(2, sender="anna@brightway-power.example")),
    ("no-reply sender", message(3, sender="no-reply@example.net")),
]


def test_no_draft_for_auto_replies_bounces_lists_own_and_no_reply(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    with server.connect(user, pw) as c:
        append(c, [data for _, data in NO_DRAFT])
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW))
    result = cli("--config", str(config), "run", "--once", env={PW: pw})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().count("status=skipped") == len(NO_DRAFT)
    assert count_messages(server, user, pw) == 0


def test_sigterm_while_idle_logs_out(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW), interval=300)
    daemon = DaemonProcess(config, {PW: pw})
    try:
        daemon.wait_for("waiting with IDLE")
        daemon.proc.send_signal(signal.SIGINT)
        assert daemon.proc.wait(timeout=20) == 0
    finally:
        daemon.kill()
    assert "mailbox=sales stopped" in daemon.text()
    sessions = [line for line in server.log().splitlines() if f"imap({user})" in line]
    assert sessions and "Logged out" in sessions[-1], sessions


def test_first_start_backfill_shows_a_progress_bar_on_a_terminal(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    with server.connect(user, pw) as c:
        append(c, [message(n) for n in range(5)])
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW))
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), PW: pw, "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run", "--once"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=secondary, env=env)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    assert proc.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "backfill: 5 message(s)" in text and "backfill sales" in text
    assert count_messages(server, user, pw) == 5


def test_no_progress_bar_when_stderr_is_not_a_terminal(server: Dovecot, tmp_path: Path) -> None:
    user, pw = server.add_user()
    with server.connect(user, pw) as c:
        append(c, message(1))
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW))
    result = cli("--config", str(config), "run", "--once", env={PW: pw})
    assert result.returncode == 0 and "backfill sales" not in result.stderr.decode()
