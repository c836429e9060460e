"""`make bench`: the benchmarks in one run and one table, with the facts of the machine they ran on.

Runs each benchmark script of bench/ as it is (a subprocess, its own arguments below), keeps its whole output in a
log file, reads its figures from that output and prints one table (Markdown, to paste into docs/benchmarks.md).
A figure that cannot be read says so and names the log. Takes about 8 minutes on 2 cores; each script on its own
takes longer arguments for steadier figures (see docs/benchmarks.md).

    .venv/bin/python bench/all.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
Row = tuple[str, str, str, str]  # measure, figure, target, how


def run(script: str, *args: str, log: Path) -> str:
    """Run one benchmark script; its output (stdout and stderr) goes to the log file and is returned."""
    command = [sys.executable, str(HERE / script), *args]
    shown = " ".join(["bench/" + script, *args])
    print(f"running {shown} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = result.stdout + ("\n" + result.stderr if result.returncode else "")
    with log.open("a", encoding="utf-8") as f:
        f.write(f"$ {shown}   (exit {result.returncode}, {time.monotonic() - started:.0f} s)\n{out}\n")
    print(f"  done in {time.monotonic() - started:.0f} s (exit {result.returncode})", file=sys.stderr, flush=True)
    return out


def find(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def figure(text: str, pattern: str, render: Callable[[re.Match[str]], str], log: Path) -> str:
    match = find(pattern, text)
    return render(match) if match else f"not read (see {log})"


def machine() -> list[str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "?")
    mem = next((int(ln.split()[1]) // 1024 for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=5) as conn:
            postgres = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except Exception as e:  # noqa: BLE001 - a fact we could not read
        postgres = f"not reachable ({type(e).__name__})"
    return [f"{cpu}, {os.cpu_count()} cores, {mem:,} MB; {platform.system()} {platform.release()}",
            f"Python {platform.python_version()}; Dovecot {dovecot.split()[0] if dovecot else '?'}; "
            f"PostgreSQL {postgres}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (about 3 minutes), for trying the command")
    args = ap.parse_args()
    q = args.quick
    log = Path(tempfile.mkdtemp(prefix="bench")) / "bench.log"
    started, load_before = time.monotonic(), os.getloadavg()
    facts = machine()

    rows: list[Row] = []
    text = run("extract_speed.py", "--rounds", "3", log=log)
    rows.append(("extraction per message (the benchmark inquiry, median)",
                 figure(text, r"^extract\b.*?\s(\d+\.\d+)\s+(\d+)\s*$",
                        lambda m: f"{m[1]} ms ({int(m[2]):,}/s)", log),
                 "<= 0.5 ms", "`extract_speed.py --rounds 3`"))

    n = "1000" if q else "3000"
    text = run("backlog.py", "--n", n, log=log)
    rows.append((f"backlog of {int(n):,}: daemon against the bare fetch+parse+APPEND loop, same run",
                 figure(text, r"(\d+) msg/s after start-up(?s:.*)-> (\d+) msg/s\n(?s:.*)loop: (\d+)% for the pass "
                        r"itself, (\d+)% after start-up",
                        lambda m: f"{m[1]} vs {m[2]} msg/s: {m[4]} % ({m[3]} % for the pass itself)", log),
                 ">= 60 %", f"`backlog.py --n {n}`"))

    n = "10" if q else "20"
    text = run("idle_latency.py", "--n", n, "--pause", "1.0", log=log)
    rows.append(("IDLE arrival to draft, one mailbox",
                 figure(text, r"APPEND -> draft in Drafts\s+([\d.]+)\s+([\d.]+)(?s:.*)EXISTS at an idle client\s+"
                        r"([\d.]+)\s+([\d.]+)",
                        lambda m: f"p50 {m[1]} s, p95 {m[2]} s (Dovecot's own notice p50 {m[3]} s)", log),
                 "p95 <= 0.7 s", f"`idle_latency.py --n {n}`"))

    n = "2000" if q else "6000"
    text = run("memory.py", "--n", n, "--vary", log=log)
    rows.append((f"RSS over a run of {int(n):,} messages (new words in most)",
                 figure(text, r"pass begins \(rules loaded\)\s+\d+\s+\d+\s+([\d.]+)(?s:.*)^max\s+\d+\s+\d+\s+([\d.]+)"
                        r"(?s:.*)\(([+-][\d.]+) MB per 1,000 messages\)",
                        lambda m: f"{m[1]} MB at the start of the pass, max {m[2]} MB ({m[3]} MB per 1,000 messages "
                                  "from 10 %)", log),
                 "<= 200 MB, flat", f"`memory.py --n {n} --vary`"))

    text = run("locks.py", log=log)
    rows.append(("ownership queries at 2,000 / 10,000 / 100,000 mailbox locks (claim round's scan of pg_locks)",
                 figure(text, r"^\s+2,000\s+([\d.]+) / [\d.]+(?s:.*)^\s+10,000\s+([\d.]+) / [\d.]+(?s:.*)"
                        r"^\s+100,000\s+([\d.]+) / ([\d.]+)\s+([\d.]+) / [\d.]+\s+([\d.]+)",
                        lambda m: f"scan {m[1]} / {m[2]} / {m[3]} ms ({m[4]} ms server CPU at 100,000); membership "
                                  f"{m[5]} ms, a lock {m[6]} ms", log),
                 "", "`locks.py`"))

    sizes = "10,100" if q else "10,100,500,2000"
    window, repeat = ("8", "1") if q else ("12", "3")
    figures = log.with_name("mailboxes.json")
    text = run("mailboxes.py", "--sizes", sizes, "--window", window, "--repeat", repeat, "--appends", "8",
               "--messages", "200", "--json", str(figures), log=log)
    how = "`mailboxes.py`"
    mailbox_args = f"--sizes {sizes} --window {window} --repeat {repeat} --appends 8 --messages 200"
    try:
        data = json.loads(figures.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if data is None:
        rows.append(("idle mailboxes", f"not read (see {log})", "", how))
    else:
        rows += mailbox_rows(data, how)

    print(f"inquiry-triage benchmarks, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}Z, {time.monotonic() - started:.0f} s")
    for fact in facts:
        print(fact)
    print(f"load average (1 min) before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; each script's output: "
          f"{log}")
    print()
    print("| measure | figure | target | bench/ |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n`mailboxes.py` ran with {mailbox_args}; idle CPU is the process's CPU time over wall time, the mean of "
          "the windows (their lowest and highest in brackets).")


def mailbox_rows(data: dict, how: str) -> list[Row]:  # type: ignore[type-arg]
    sizes = data["sizes"]
    rows: list[Row] = []
    first = sizes[0]
    rows.append(("start-up to first poll (process start to the first mailbox's pass done, idling)",
                 f"{first['first_idle']:.1f} s", "", how))
    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    for s in sizes:
        cpu = sorted(s["cpu"]) or [float("nan")]
        lat = sorted(s["latency"])
        p50 = lat[len(lat) // 2] if lat else float("nan")
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
        rows.append((f"{s['n']:,} idle mailboxes in one process",
                     f"RSS {s['rss']:.0f} MB, {s['threads']} threads, {s['connections']:,} connections; idle CPU "
                     f"{mean(s['cpu']):.2f} % of a core ({cpu[0]:.2f}-{cpu[-1]:.2f}), database {mean(s['db_cpu']):.2f} %; "
                     f"all idling {s['all_idle']:.1f} s after start; arrival to draft p50 {p50:.3f} s, p95 {p95:.3f} s",
                     "2,000: <= 400 MB, <= 5 %, <= 60 s" if s["n"] == 2000 else "", how))
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        span = b["n"] - a["n"]
        rows.append((f"per idle mailbox ({a['n']} -> {b['n']:,})",
                     f"{1024 * (b['rss'] - a['rss']) / span:.0f} KB RSS, "
                     f"{1000 * (mean(b['cpu']) - mean(a['cpu'])) / span:.2f} thousandths of a % of a core, database "
                     f"{1000 * (mean(b['db_cpu']) - mean(a['db_cpu'])) / span:.2f} thousandths of a %", "", how))
    burst = next((s for s in sizes if s.get("per_message")), None)
    if burst is not None:
        daemon_ms, db_ms, xacts, size = burst["per_message"]
        rows.append((f"per message ({data['messages']} inquiries at once, PostgreSQL store)",
                     f"daemon CPU {daemon_ms:.1f} ms, database CPU {db_ms:.2f} ms, {xacts:.1f} transactions, "
                     f"{size / 1024:.1f} KB stored", "", how))
    return rows


if __name__ == "__main__":
    main()
