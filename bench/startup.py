"""Start-up time: `inquiry-triage explain` of one message, and `run` up to its first poll, wall clock.

Prints figures; not a pass/fail test. Target: <= 1.5 s for each. Each figure is the median of --runs runs of a new
process; `explain` is also timed once with an empty cache (the first start after a rules file changed: the rule
set is loaded from the files, see extractors/cache.py). `run` starts on a Maildir holding one sample inquiry, with
a SQLite store in a new folder each time: "first poll" is the log line written once the rules are loaded and the
mailbox opened, right before the first pass; "first message" the line of the first message processed (its
language's matchers are built for it).

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "daemon" / "samples" / "inbox" / "01-detailed-rfq-germany.eml"


def explain(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "daemon", "explain", str(SAMPLE)], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_until_first_poll(env: dict[str, str], folder: Path) -> tuple[float, float]:
    """(seconds to the first poll, seconds to the first message processed) of `run` on a fresh Maildir."""
    for sub in ("cur", "new", "tmp"):
        (folder / "Maildir" / sub).mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "Maildir" / "new" / "1.eml")
    config = folder / "config.toml"
    config.write_text('[store]\nurl = "sqlite:///triage.sqlite3"\n[daemon]\ninterval_seconds = 300\n[metrics]\n'
                      'enabled = false\n[[mailboxes]]\nname = "bench"\nkind = "maildir"\npath = "Maildir"\n'
                      'drafts = "Drafts"\n', encoding="utf-8")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    poll = message = 0.0
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not poll and "polling every" in line:
                poll = time.perf_counter() - started
            if not message and " status=" in line:
                message = time.perf_counter() - started
            if poll and message:  # the first pass logs its messages before the line of its mailbox's poll
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not poll or not message:
        raise SystemExit("the daemon did not reach its first poll; run it by hand to see why")
    return poll, message


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per figure (the median is shown)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "INQUIRY_TRIAGE_CACHE": str(Path(tmp) / "cache")}
        cold = explain(env)
        warm = [explain(env) for _ in range(args.runs)]
        runs = [run_until_first_poll(env, Path(tempfile.mkdtemp(dir=tmp))) for _ in range(args.runs)]
    print(f"{'start-up':<44}{'seconds':>9}")
    print(f"{'explain one message, empty cache':<44}{cold:>9.2f}")
    print(f"{'explain one message (median)':<44}{statistics.median(warm):>9.2f}")
    print(f"{'run to the first poll (median)':<44}{statistics.median(r[0] for r in runs):>9.2f}")
    print(f"{'run to the first message processed (median)':<44}{statistics.median(r[1] for r in runs):>9.2f}")


if __name__ == "__main__":
    main()
