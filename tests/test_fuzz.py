"""Fuzzing: screen + parse + extract + assess + draft on generated hostile messages (Hypothesis, seeded, so a
campaign is reproducible). Malformed and deeply nested MIME, wrong and mixed charsets, NUL bytes, broken and
enormous headers, huge single lines, address-header tricks, template and script text.

Each message must end (no crash: only the product's own MessageError may reject one), in time (no hang), and any
draft must carry no injected header and no recipient other than the sender's real address (an address the
generator put in the addr-spec of From or Reply-To; for a note to the salesperson about a held-back mail, the
seller's own address). `make test` runs a short campaign; `make soak`
(INQUIRY_TRIAGE_SOAK=1) runs 100,000 messages. FUZZ_SEED and FUZZ_EXAMPLES override the seed and the count.

The campaign runs in batches of BATCH messages, batch i seeded FUZZ_SEED + i: Hypothesis keeps what it drew for
every example of one run (about 3 MB a message here), so a single run of 100,000 would need hundreds of GB, while a
batch's memory is returned when it ends. FUZZ_FIRST_BATCH=N runs a campaign's batches from N on (the rest of a
campaign cut short; the two runs' figures add up).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import re
import resource
import time
from collections import Counter
from typing import Any

import idna
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from daemon import config
from daemon.limits import DEFAULT_LIMITS
from daemon.parse.screen import screen
from daemon.pipeline import analyse
from daemon.toolkit import load_toolkit
from extractors.core.errors import MessageError
from extractors.core.model import MessageKey, RawMessage
from tests.faults import SOAK

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 100_000 if SOAK else 1_000))
SEED = int(os.environ.get("FUZZ_SEED", 20261103))
BATCH = 250
FIRST_BATCH = int(os.environ.get("FUZZ_FIRST_BATCH", 0))  # resume a campaign: its batches from this one on
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HANG_SECONDS = 10.0  # a message taking more CPU time than this counts as a hang (CPU time: a busy machine stalls wall time)
KEY = MessageKey("fuzz", "INBOX", 1, 1)
DRAFT_HEADERS = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references", "mime-version",
                 "content-type"}
TEMPLATE_PROBE = '{{ "zq" ~ "xv" }}{% if true %}{{ 7 * 191 }}{% endif %}'  # zqxv or 1337 in a draft: evaluated
SCRIPT_PROBE = "<script>alert('pwn')</script><img src=x onerror=alert(1)>"

REAL = ["ada.eze@buyer.example", "josé.núñez@exämple.es", "joerg@müller-licht.de", "li.wei@例子.中国",
        "o'brien+rfq@sub.domain.example.co.uk", "ANNA@Lichtwerk.DE"]
VICTIMS = ["victim@example.com", "ceo@target.example", "billing@bank.example"]
CHARSETS = ["utf-8", "iso-8859-1", "gb2312", "gbk", "big5", "shift_jis", "iso-2022-jp", "koi8-r", "windows-1252",
            "utf-16", "utf-7", "x-unknown-charset", "", '"utf-8\x00"', "ascii"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus"]


def norm(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local.lower()}@{idna.encode(domain, uts46=True).decode()}"


def b64word(text: str) -> str:
    return "=?utf-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def qword(text: str) -> str:
    return "=?utf-8?Q?" + "".join(c if c.isalnum() else "".join(f"={b:02X}" for b in c.encode()) for c in text) + "?="


WORDS = st.text(st.characters(exclude_characters="@\r\n", exclude_categories=("Cs",)), max_size=30)
SPICE = st.sampled_from(["", "\r\n", "\n", "\x00", "\x1b$B", "\u202e", "\ufeff", "\r\nBcc: victim@example.com",
                         "\r\nTo: ceo@target.example", TEMPLATE_PROBE, SCRIPT_PROBE, "=?x?q?broken"])


@st.composite
def address_header(draw: Any) -> tuple[str, set[str]]:
    """An address header value and the set of real addresses in it (the only ones a reply may go to)."""
    real = draw(st.sampled_from(REAL))
    victim = draw(st.sampled_from(VICTIMS))
    name = draw(WORDS) + draw(SPICE)
    form = draw(st.integers(0, 12))
    forms = [
        (f"{name.replace(chr(13), '').replace(chr(10), '')} <{real}>", {real}),
        (f"{qword(name + chr(13) + chr(10) + 'Bcc: ' + victim)} <{real}>", {real}),
        (f'"{victim}" <{real}>', {real}),
        (f"{real} ({victim})", {real}),
        (f"{b64word(f'{name} <{victim}>')} <{real}>", {real}),
        (b64word(f"{name.strip()} <{real}>"), {real}),
        (b64word(f"{name}\r\nBcc: {victim} <{real}>"), {real}),
        (name.replace("\r", "").replace("\n", ""), set()),
        (f"{name} <>", set()),
        (f'"{victim}"@[127.0.0.1]', set()),
        (b64word(victim), {victim}),  # the whole header one encoded word: that address is the sender's
        (f"{qword(victim)} {qword(name)} <{real}>", {real}),
        (f"{real},\r\n {qword(victim + ' <' + victim + '>')} <{real}>", {real}),
    ]
    return forms[form]


@st.composite
def leaf(draw: Any) -> bytes:
    """One MIME leaf part: a content type, a charset, a transfer encoding and a body, any of them wrong."""
    kind = draw(st.sampled_from(["text/plain", "text/html", "application/octet-stream", "message/rfc822", "text/x-junk"]))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(ENCODINGS))
    text = draw(st.text(max_size=300)) + draw(SPICE) + " Please quote 500 pcs of 60W solar lights, FOB Shenzhen. "
    if kind == "text/html":
        text = f"<html><body><p>{text}</p>{SCRIPT_PROBE}<div>{TEMPLATE_PROBE}</div></body></html>"
    size = draw(st.sampled_from([0] * 40 + [200_000, 3_000_000]))  # now and then a huge single line
    body = (text * max(1, size // max(1, len(text)))).encode(draw(st.sampled_from(["utf-8", "utf-16-le", "latin-1"])), "ignore")
    if draw(st.booleans()):
        body += draw(st.binary(max_size=200))
    if cte == "base64" and draw(st.booleans()):
        body = base64.encodebytes(body)
    params = f'; charset={charset}' if charset else ""
    return f"Content-Type: {kind}{params}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode() + body


@st.composite
def mime_body(draw: Any, depth: int = 0) -> bytes:
    """A leaf, or a multipart of parts (nested, with boundaries that may be missing or wrong)."""
    if depth > 6 or draw(st.integers(0, 3)) == 0:
        return draw(leaf())
    boundary = draw(st.sampled_from(["b1", "=_x", "", "a" * 80, "b1\x00", "--", "same"]))
    parts = draw(st.lists(mime_body(depth + 1), min_size=0, max_size=3))
    close = draw(st.sampled_from([True, True, False]))
    out = f'Content-Type: multipart/{draw(st.sampled_from(["mixed", "alternative", "related", "x"]))}; boundary="{boundary}"\r\n\r\n'
    body = out.encode() + b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return body + (b"--" + boundary.encode() + b"--\r\n" if close else b"")


def deep(n: int) -> bytes:
    opening = "".join(f'Content-Type: multipart/mixed; boundary="d{i}"\r\n\r\n--d{i}\r\n' for i in range(n))
    return (opening + "Content-Type: text/plain\r\n\r\nPlease quote 500 pcs.\r\n").encode()


@st.composite
def hostile_message(draw: Any) -> tuple[bytes, set[str]]:
    """A whole message and the real addresses a reply may go to."""
    if draw(st.integers(0, 60)) == 0:  # now and then no mail at all
        return draw(st.sampled_from([b"", b"\x00" * 100, b"hello there", b"\xff\xfe" * 500])) + draw(st.binary(max_size=300)), set()
    sender, real = draw(address_header())
    headers = [f"From: {sender}"]
    if draw(st.integers(0, 3)) == 0:
        reply_to, more = draw(address_header())
        headers.append(f"Reply-To: {reply_to}")
        real = real | more
    subject = draw(WORDS) + draw(SPICE) + draw(st.sampled_from(["", " RFQ", TEMPLATE_PROBE, qword("x\r\nBcc: victim@example.com")]))
    headers.append(f"Subject: {subject * draw(st.sampled_from([1] * 30 + [5000]))}")
    headers += [f"Message-ID: <fuzz-{draw(st.integers(0, 10**9))}@example.net>", "To: sales@brightway-power.example",
                "Date: " + draw(st.sampled_from(["Mon, 02 Nov 2026 10:00:00 +0000", "yesterday", "", "32 Foo 99999 99:99"])),
                "MIME-Version: 1.0"]
    if draw(st.integers(0, 20)) == 0:
        headers.append("X-Junk: " + "A" * draw(st.integers(0, 200_000)))  # an enormous header
    if draw(st.integers(0, 20)) == 0:
        headers.append("this line has no colon")
    body = deep(draw(st.sampled_from([30, 400, 3000]))) if draw(st.integers(0, 200)) == 0 else draw(mime_body())
    head = "\r\n".join(headers).encode("utf-8", "surrogatepass")
    data = head + b"\r\n" + body
    real = {norm(a) for a in real}
    if draw(st.integers(0, 10)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]  # random bytes anywhere
        real |= literal_addresses(data)  # they may have changed an address: what is written there now counts
    return data, real


_ENCODED_WORD = re.compile(rb"=\?[^?]*\?[bBqQ]\?[^?]*\?=")
_LITERAL = re.compile(rb"[^\s<>(),;:\"\[\]]+@[^\s<>(),;:\"\[\]]+")


def literal_addresses(data: bytes) -> set[str]:
    """Every address-like token written in the From and Reply-To lines outside encoded words (an over-estimate
    of what a strict parse may find there; never an address hidden inside an encoded word)."""
    found = set()
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in re.split(rb"\r?\n(?![ \t])", head):
        if line[:5].lower() == b"from:" or line[:9].lower() == b"reply-to:":
            for token in _LITERAL.findall(_ENCODED_WORD.sub(b" ", line.split(b":", 1)[1])):
                try:
                    found.add(norm(token.decode("utf-8").strip(".")))
                except (UnicodeError, idna.IDNAError, ValueError):
                    continue
    return found


def check_draft(data: bytes, to: str, real: set[str], source: str) -> None:
    """A draft has only the headers drafts carry, each once, on single lines, and goes to a real sender address."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    msg = email.message_from_string(data.decode("utf-8"), policy=email.policy.default)
    names = [k.lower() for k in msg.keys()]
    assert set(names) <= DRAFT_HEADERS and len(names) == len(set(names)), f"injected header: {names}"
    for line in head.split("\r\n"):
        assert line[:1] in (" ", "\t") or line.split(":", 1)[0].lower() in DRAFT_HEADERS, f"stray header line {line!r}"
    assert not CONTROL.search(head.replace("\r\n", "")), "control character in the draft's header"
    recipients = [a.addr_spec for a in msg["To"].addresses] if msg["To"] is not None else []
    assert len(recipients) <= 1 and (recipients == [] or recipients == [to]), recipients
    assert to == "" or to in real, f"recipient {to!r} is not among the sender's real addresses {sorted(real)}"
    html = msg.get_body(("html",))
    content = html.get_content() if html is not None else ""
    assert "<script" not in content.lower() and "<img src=x" not in content, "unescaped buyer HTML in the draft"
    plain = msg.get_body(("plain",))
    text = (plain.get_content() if plain is not None else "") + content
    assert "zqxv" not in text and ("1337" not in text or "1337" in source), "buyer text was evaluated as a template"


@pytest.fixture(scope="module")
def kit():  # noqa: ANN201
    return load_toolkit(config.embedded_default(), quiet=True)


def test_fuzz_campaign(kit) -> None:  # noqa: ANN001
    stats: Counter[str] = Counter()
    slowest = [0.0]

    def one(case: tuple[bytes, set[str]]) -> None:
        data, real = case
        started = time.process_time()
        stats["messages"] += 1
        stats["bytes"] += len(data)
        rejected = screen(data, DEFAULT_LIMITS)
        if rejected:
            stats["skipped: " + re.sub(r" of [\d,]+ bytes is over.*", " over its limit", rejected)] += 1
            return
        try:
            parsed, assessment = analyse(RawMessage(KEY, data), kit)
        except MessageError:
            stats["quarantined: MIME nested too deeply"] += 1
            return
        if not parsed.from_addr:
            stats["skipped: no usable sender address"] += 1
            return
        assert parsed.from_addr in real, f"sender {parsed.from_addr!r} is not among {sorted(real)}"
        draft = kit.drafter.draft(parsed, assessment, kit.rules_version)
        spent = time.process_time() - started
        slowest[0] = max(slowest[0], spent)
        assert spent < HANG_SECONDS, f"took {spent:.1f} s of CPU time"
        if draft is None:
            stats["no reply (decided)"] += 1
            return
        if assessment.action == "verify":  # held back: a note to the salesperson, from and to the seller's address
            stats["noted to the salesperson (risk signs)"] += 1
            check_draft(draft.data, draft.to, {kit.drafter.from_addr}, data.decode("utf-8", "replace"))
            return
        stats["drafted"] += 1
        stats["drafted to nobody (no usable recipient)"] += draft.to == ""
        check_draft(draft.data, draft.to, real, data.decode("utf-8", "replace"))

    started = time.monotonic()
    for batch in range(FIRST_BATCH, -(-EXAMPLES // BATCH)):
        count = min(BATCH, EXAMPLES - batch * BATCH)
        run = settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate, Phase.shrink],
                       suppress_health_check=list(HealthCheck))(seed(SEED + batch)(given(hostile_message())(one)))
        run()
        if SOAK:  # a campaign cut short still leaves what it measured, and where to resume (FUZZ_FIRST_BATCH)
            print(f"fuzz batch {batch} done: {json.dumps(dict(stats), ensure_ascii=False)}", flush=True)
    figures = {"seed": SEED, "batch": BATCH, "first_batch": FIRST_BATCH, "examples": EXAMPLES, **stats, "slowest_message_cpu_s": round(slowest[0], 3),
               "total_s": round(time.monotonic() - started, 1),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "crashes": 0, "hangs": 0,
               "injected_headers": 0, "foreign_recipients": 0}
    print("fuzz figures:", json.dumps(figures, ensure_ascii=False))
    assert stats["messages"] >= EXAMPLES - FIRST_BATCH * BATCH
