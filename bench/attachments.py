"""Attachments: the time to read each kind at several sizes, the time to refuse each hostile file, and what the
hostile set costs the daemon's and the worker's memory.

Prints figures; not a pass/fail test. Files are made by tests/attachment_fixtures.py and grown here (rows, pages).
Every read goes through the attachment sandbox as the daemon's parse stage does (a warm worker: its start is shown
apart); `parse` is the whole parse stage of a message carrying the file. The hostile set is read `--rounds` times
over: the daemon's RSS before and after, the worker's largest RSS and how often it was replaced.

    .venv/bin/python bench/attachments.py [--repeat 5] [--rounds 20]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import docx  # noqa: E402
import openpyxl  # noqa: E402
from _imapbench import rss_mb  # noqa: E402
from fpdf import FPDF  # noqa: E402

from daemon.parse.message import parse  # noqa: E402
from daemon.parse.readers import Limits  # noqa: E402
from daemon.parse.sandbox import Sandbox  # noqa: E402
from extractors.core.model import MessageKey, RawMessage  # noqa: E402
from tests import attachment_fixtures as fx  # noqa: E402

ITEM = ["{n}", "LED flood light {n}0W, 5000K, IP66, die-cast aluminium housing", "BW-FL{n}", "100-277V AC, 120 lm/W", "{n}00",
        "pcs", "12.50", "within 30 days"]
HEADER = ["No.", "Description", "Model", "Specification", "Qty", "Unit", "Target price (USD)", "Delivery"]


def rows(n: int) -> list[list[str]]:
    return [[c.format(n=i + 1) for c in ITEM] for i in range(n)]


def xlsx(n: int) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Request for quotation"])
    ws.append(HEADER)
    for r in rows(n):
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_file(n: int) -> bytes:
    return "\n".join(",".join(f'"{c}"' for c in r) for r in [HEADER, *rows(n)]).encode()


def pdf(pages: int) -> bytes:
    doc = FPDF()
    doc.set_font("helvetica", size=9)
    for _ in range(pages):
        doc.add_page()
        doc.multi_cell(0, 5, "Specification. Housing die-cast aluminium, IP66, CE and RoHS, 5000K. " * 6)
        with doc.table(col_widths=(8, 60, 20, 30, 12, 10, 16, 20)) as table:
            for values in [HEADER, *rows(6)]:
                row = table.row()
                for v in values:
                    row.cell(v)
    return bytes(doc.output())


def word(n: int) -> bytes:
    d = docx.Document()
    d.add_heading("PURCHASE ORDER", level=1)
    d.add_paragraph("Payment terms: T/T 30% deposit, balance before shipment. Trade terms: FOB Ningbo.")
    table = d.add_table(rows=1, cols=len(HEADER))
    for cell, text in zip(table.rows[0].cells, HEADER, strict=True):
        cell.text = text
    for r in rows(n):
        for cell, text in zip(table.add_row().cells, r, strict=True):
            cell.text = text
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


KINDS: list[tuple[str, str, Callable[[], bytes]]] = [
    ("xlsx", "10 rows", lambda: xlsx(10)), ("xlsx", "200 rows", lambda: xlsx(200)), ("xlsx", "2000 rows", lambda: xlsx(2000)),
    ("xls", "4 rows", fx.rfq_xls_fr), ("ods", "5 rows", fx.rfq_ods_es),
    ("csv", "10 rows", lambda: csv_file(10)), ("csv", "2000 rows", lambda: csv_file(2000)),
    ("pdf", "1 page", lambda: pdf(1)), ("pdf", "10 pages", lambda: pdf(10)), ("pdf", "50 pages", lambda: pdf(50)),
    ("docx", "10 rows", lambda: word(10)), ("docx", "200 rows", lambda: word(200)),
]
HOSTILE: list[tuple[str, Callable[[], bytes]]] = [
    ("ZIP bomb XLSX (300 MB unpacked)", fx.zip_bomb_xlsx), ("forged ZIP sizes", fx.lying_zip_xlsx),
    ("ODS repeat bomb", fx.ods_repeat_bomb), ("PDF of 5000 pages", fx.many_pages_pdf), ("PDF stream inflating to 400 MB", fx.inflating_pdf),
    ("PDF cyclic page tree", fx.cyclic_pdf), ("encrypted PDF", fx.encrypted_pdf), ("macro workbook", fx.macro_xlsm),
    ("HTML 'PO'", fx.html_po), ("password-protected ZIP", fx.password_zip),
]


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="reads per file; the median is shown")
    ap.add_argument("--rounds", type=int, default=20, help="times the hostile set is read")
    args = ap.parse_args()
    box = Sandbox(size=1)
    started = time.perf_counter()
    box.read("warm-up.csv", b"a,b\n1,2\n")
    print(f"worker start and first read: {(time.perf_counter() - started) * 1000:.0f} ms; limits: {Limits()}")
    print(f"{'kind':<6}{'size':<11}{'bytes':>10}{'read ms':>10}{'parse ms':>10}{'table rows':>12}  status")
    for kind, size, make in KINDS:
        data = make()
        answer = box.read(f"file.{kind}", data)
        raw = RawMessage(MessageKey("b", "INBOX", 1, 1), fx.mail("Please quote the attached.", [(f"file.{kind}", "application/octet-stream", data)]))
        read_ms = median_ms(lambda data=data, kind=kind: box.read(f"file.{kind}", data), args.repeat)
        parse_ms = median_ms(lambda raw=raw: parse(raw, None, reader=box), args.repeat)
        tables = len([r for t in answer.get("tables", []) for r in t["rows"]])
        print(f"{kind:<6}{size:<11}{len(data):>10}{read_ms:>10.1f}{parse_ms:>10.1f}{tables:>12}  {answer['status']} ({answer['reason'][:50]})")
    print(f"\nhostile files (each refused; the time to the refusal, median of {args.repeat}):")
    hostile = [(name, make()) for name, make in HOSTILE]
    for name, data in hostile:
        answer = box.read("hostile", data)
        ms = median_ms(lambda data=data: box.read("hostile", data), args.repeat)
        print(f"  {name:<34}{len(data):>10} bytes {ms:>8.1f} ms  {answer['status']}: {answer['reason'][:70]}")
    before = rss_mb(__import__("os").getpid()) or 0.0
    worker_peak = 0.0
    started_workers = box.started
    t0 = time.perf_counter()
    for _ in range(args.rounds):
        for _name, data in hostile:
            box.read("hostile", data)
            for pid in box.pids():
                worker_peak = max(worker_peak, rss_mb(pid) or 0.0)
    elapsed = time.perf_counter() - t0
    after = rss_mb(__import__("os").getpid()) or 0.0
    print(f"\nhostile set x{args.rounds} ({args.rounds * len(hostile)} files) in {elapsed:.1f} s: this process (the daemon's side) "
          f"{before:.1f} -> {after:.1f} MB RSS; the worker at most {worker_peak:.1f} MB RSS (bound: {Limits().memory_mb} MB "
          f"address space, replaced above {Limits().recycle_mb} MB); workers started during the rounds: {box.started - started_workers}")
    box.close()


if __name__ == "__main__":
    main()
