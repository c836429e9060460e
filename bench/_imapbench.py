"""Shared pieces of the IMAP benchmarks (idle_latency, backlog, memory): a corpus built from the sample inbox with
unique Message-IDs, bulk loading, a scratch folder, progress read from the store, RSS of a process.

The Dovecot server and the daemon subprocess come from tests/dovecot.py (running_dovecot, DaemonProcess,
write_config): the benchmarks reuse them as they are.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.dovecot import Dovecot  # noqa: E402

PW = "PW_BENCH"
ACCOUNT = "bench"
SAMPLES = sorted((ROOT / "daemon" / "samples" / "inbox").glob("*.eml"))
# samples the daemon answers with no draft (phishing, auto-reply, bounce, newsletter)
NO_DRAFT = ("04-", "13-", "15-", "18-")
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\n]*\n", re.IGNORECASE | re.MULTILINE)


def with_message_id(data: bytes, message_id: str) -> bytes:
    """The message with its top-level Message-ID replaced (or added) by message_id."""
    cut = data.find(b"\n\n")
    head, body = (data, b"") if cut < 0 else (data[:cut + 1], data[cut + 1:])
    line = f"Message-ID: {message_id}\n".encode()
    new, count = _MESSAGE_ID.subn(line, head, count=1)
    return (new if count else line + head) + body


def templates(drafting_only: bool = False) -> list[bytes]:
    return [p.read_bytes() for p in SAMPLES if not (drafting_only and p.name.startswith(NO_DRAFT))]


# a top-level text/plain body that an ASCII line can open without re-encoding it
_PLAIN = re.compile(rb"^Content-Type:\s*text/plain", re.I | re.M)
_ENCODED = re.compile(rb"^Content-Transfer-Encoding:\s*base64", re.I | re.M)


def with_new_words(data: bytes, i: int) -> bytes:
    """The message with a first body line of words no earlier message had (order, model and reference numbers),
    as in real mail; multipart, HTML and base64 messages are left as they are."""
    head, sep, body = data.partition(b"\r\n\r\n") if b"\r\n\r\n" in data else data.partition(b"\n\n")
    if not sep or not _PLAIN.search(head) or _ENCODED.search(head):
        return data
    nl = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    words = f"Ref PO-{i:06d}{secrets.token_hex(2)} item K{secrets.token_hex(3)}-{i % 997} lot {secrets.token_hex(4)}"
    return head + sep + words.encode() + nl + nl + body


def attachment_mails() -> list[bytes]:
    """Mails with attachments (tests/attachment_fixtures.py): RFQ files of every kind and the hostile set."""
    from tests import attachment_fixtures as fx

    body = "Dear sales team,\n\nPlease find the attached file and send us your offer." + fx.SIGNATURE
    files = [("RFQ_2026.xlsx", fx.rfq_xlsx_en), ("询价单.xlsx", fx.rfq_xlsx_zh), ("solicitud.ods", fx.rfq_ods_es),
             ("anfrage.csv", fx.rfq_csv_de), ("demande.xls", fx.rfq_xls_fr), ("spec.pdf", fx.spec_pdf),
             ("PO-2026-7731.docx", fx.purchase_order_docx), ("RFQ.xlsx", fx.zip_bomb_xlsx), ("RFQ.xlsx", fx.lying_zip_xlsx),
             ("spec.pdf", fx.many_pages_pdf), ("spec.pdf", fx.inflating_pdf), ("spec.pdf", fx.cyclic_pdf),
             ("spec.pdf", fx.encrypted_pdf), ("RFQ.xlsm", fx.macro_xlsm), ("PO_88213.html", fx.html_po),
             ("PO_88213.zip", fx.password_zip), ("RFQ.ods", fx.ods_repeat_bomb)]
    return [fx.mail(body, [(name, "application/octet-stream", make())], subject=f"RFQ: {name}") for name, make in files]


def corpus(n: int, drafting_only: bool = False, tag: str = "", vary: bool = False, attachments: int = 0) -> Iterator[tuple[str, bytes]]:
    """n messages cycling through the samples, each with a unique Message-ID (and with `vary`, new words in most
    of them, see `with_new_words`; with `attachments` k, every k-th message is one of `attachment_mails`):
    (message_id, bytes)."""
    base = templates(drafting_only)
    attached = attachment_mails() if attachments else []
    tag = tag or secrets.token_hex(3)
    for i in range(n):
        mid = f"<bench-{tag}-{i}@bench.example>"
        if attachments and i % attachments == attachments - 1:
            yield mid, with_message_id(attached[(i // attachments) % len(attached)], mid)
            continue
        data = base[i % len(base)]
        yield mid, with_message_id(with_new_words(data, i) if vary else data, mid)


def bulk_load(server: Dovecot, user: str, password: str, n: int, chunk: int = 500, tag: str = "", vary: bool = False,
              attachments: int = 0) -> float:
    """MULTIAPPEND n corpus messages to INBOX in chunks; return the seconds it took."""
    started = time.monotonic()
    batch: list[bytes] = []
    with server.connect(user, password) as client:
        for _mid, data in corpus(n, tag=tag, vary=vary, attachments=attachments):
            batch.append(data)
            if len(batch) >= chunk:
                client.multiappend("INBOX", batch)
                batch = []
        if batch:
            client.multiappend("INBOX", batch)
        count = int(client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"])
    if count != n:
        raise SystemExit(f"bulk load: INBOX holds {count} messages, not {n}")
    return time.monotonic() - started


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A short scratch folder under /tmp (config, SQLite store, daemon log), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def store_count(db: Path) -> int | None:
    """Rows in the store's messages table (drafted, skipped, quarantined, failed), read-only; None if busy."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def store_statuses(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return dict(conn.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall())
    finally:
        conn.close()


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """VmRSS (or another /proc/<pid>/status memory field, e.g. RssAnon) of a process in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children_rss_mb(pid: int) -> float:
    """The summed VmRSS of a process's children (the attachment workers), in MB."""
    total = 0.0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return total
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(rss_mb(int(c)) or 0.0 for c in children)
    return total


def log_time(text: str, needle: str) -> float | None:
    """The wall-clock time (epoch seconds) of the first daemon log line containing needle."""
    for line in text.splitlines():
        if needle in line:
            try:
                stamp = dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            except ValueError:
                continue
            return stamp.timestamp()
    return None


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- a process's costs, read from /proc ---------------------------------------------------------------------------
TICK = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (all its threads), in seconds; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * TICK


def threads(pid: int) -> int:
    """Threads of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def connections(pid: int, port: int) -> int:
    """Established TCP connections of a process to a local port (its socket inodes matched in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            remote_port = int(parts[2].rsplit(":", 1)[1], 16)
            if parts[3] == "01" and remote_port == port and parts[9] in inodes:
                count += 1
    return count


# -- a database of the benchmark's own on the PostgreSQL server ---------------------------------------------------
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


@contextmanager
def pg_database(prefix: str = "bench") -> Iterator[str]:
    """A fresh database on the local PostgreSQL server (dropped afterwards): its psycopg URL."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(5)}"
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as e:
        raise SystemExit(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({e}); start it, or use --store sqlite") from e
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
