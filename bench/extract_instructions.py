"""Extraction cost in machine instructions: the same work as `extract_speed.py`, counted by Valgrind's callgrind.

Wall-clock medians on a shared machine move by 10-30 % from run to run; an instruction count does not (it moves
by well under 1 %), so this is the figure to compare two versions of the rules engine by. Only the extraction
loop is counted: callgrind starts with counting off, and the loop is switched on and off from outside with
`callgrind_control` once the toolkit is loaded (loading under Valgrind takes a minute or two).

Needs Valgrind (Debian: `apt-get install valgrind`). Prints instructions per extraction and, with --top N, the
N costliest functions (C level: the interpreter, the regex engines, spaCy).
How many instructions fit in the 1.0 ms target depends on the machine: machines of this kind have run Python at
about 4 instructions per nanosecond (4 million in 1.0 ms) and at about 9-10 (9-10 million).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_ROW = re.compile(r"^\s*(?P<count>[\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(?P<name>\S.*)$")


def child(workdir: Path, n: int, stage: str, corpus: Path | None) -> None:
    """Under Valgrind: load the toolkit, then run the stage n times (on each corpus message, with a corpus)
    between the parent's switches."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from extract_speed import INQUIRY

    from daemon import config
    from daemon.evaluate import load_corpus, record_bytes
    from daemon.parse.message import parse
    from daemon.toolkit import load_toolkit
    from extractors.core.model import MessageKey, RawMessage

    kit = load_toolkit(config.embedded_default(), quiet=True, drafts=False)
    kit.extractor.engine.prepare()  # every language's matchers, built before counting
    raws = [record_bytes(rec) for rec in load_corpus(corpus)] if corpus is not None else [INQUIRY]
    messages = [parse(RawMessage(MessageKey("bench", "INBOX", 1, i + 1), raw), kit.platforms) for i, raw in enumerate(raws)]
    run = {"extract": kit.extractor.extract, "rules": kit.extractor.run_rules, "identity": kit.extractor.identity.read}[stage]
    for _ in range(30):
        for parsed in messages:
            run(parsed)
    _signal(workdir, "ready")
    _wait(workdir, "go")
    for _ in range(n):
        for parsed in messages:
            run(parsed)
    _signal(workdir, "done")
    _wait(workdir, "exit")


def _signal(workdir: Path, name: str) -> None:
    (workdir / name).touch()


def _wait(workdir: Path, name: str, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while not (workdir / name).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {name}")
        time.sleep(0.05)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="extractions counted (default 100)")
    ap.add_argument("--stage", choices=("extract", "rules", "identity"), default="extract",
                    help="extract (rules + identity, as extract_speed's first row), rules (the rules engine) or identity")
    ap.add_argument("--top", type=int, default=0, help="also print the N costliest functions")
    ap.add_argument("--corpus", type=Path, help="count the mean over the messages of this corpus (.jsonl, the corpus "
                    "format of `eval`) instead of the benchmark inquiry; --n rounds over all of them")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.n, args.stage, args.corpus)
        return
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install Valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="extract-instructions-") as tmp:
        workdir = Path(tmp)
        out = workdir / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
               sys.executable, __file__, "--child", str(workdir), "--n", str(args.n), "--stage", args.stage]
        if args.corpus is not None:
            cmd += ["--corpus", str(args.corpus.resolve())]
            with open(args.corpus, encoding="utf-8") as f:
                calls = args.n * sum(1 for line in f if line.strip())
        else:
            calls = args.n
        with open(workdir / "valgrind.log", "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            try:
                while not (workdir / "ready").exists():
                    if proc.poll() is not None:
                        raise SystemExit(f"the counted process ended early:\n{(workdir / 'valgrind.log').read_text()[-3000:]}")
                    time.sleep(0.2)
                pid = str(proc.pid)
                subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
                _signal(workdir, "go")
                _wait(workdir, "done")
                subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
                _signal(workdir, "exit")
                proc.wait(timeout=600)
            finally:
                if proc.poll() is None:
                    proc.kill()
        # the counts of the main process (and of any process it forked, counted off)
        total = 0
        for path in workdir.glob("callgrind.out*"):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("totals:"):
                    total += int(line.split()[1])
        what = f"{calls // args.n} corpus messages x {args.n}" if args.corpus is not None else str(calls)
        print(f"{args.stage}: {total / calls / 1e6:.3f} million instructions per call ({what} calls counted)")
        if args.top:
            annotated = subprocess.run(["callgrind_annotate", "--threshold=100", str(out)], capture_output=True, text=True, check=True)
            rows = [m for line in annotated.stdout.splitlines() if (m := _ROW.match(line)) and "PROGRAM TOTALS" not in line]
            for m in rows[: args.top]:
                where, _, library = m["name"].partition(" [")
                function = where.rpartition(":")[2] if ":" in where else where
                print(f"{int(m['count'].replace(',', '')) / calls:>12,.0f}  {function[:70]}  ({Path(library.rstrip(']')).name})")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
