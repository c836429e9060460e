"""The running daemon serves /metrics and /healthz when [metrics] is on."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daemon.demo import sample_files
from tests.clihelp import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 (loopback only)
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_daemon_serves_metrics_and_health(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    shutil.copyfile(sample_files()[1], tmp_path / "Maildir" / "new" / "1.inquiry")
    port = _free_port()
    (tmp_path / "c.toml").write_text(
        f'[store]\nurl = "sqlite:///t.sqlite3"\n[metrics]\nenabled = true\nport = {port}\n[daemon]\ninterval_seconds = 5\n'
        '[[mailboxes]]\nname = "m"\nkind = "maildir"\npath = "Maildir"\ndrafts = "Drafts"\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", "c.toml", "run"], cwd=tmp_path,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline, text = time.monotonic() + 60, ""
        while time.monotonic() < deadline and 'status="drafted"' not in text:
            time.sleep(0.5)
            try:
                text = _get(f"http://127.0.0.1:{port}/metrics")[1]
            except OSError:
                continue
        health = _get(f"http://127.0.0.1:{port}/healthz")
        assert ('inquiry_triage_messages_total{action=' in text, health[0]) == (True, 200), text[-2000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
