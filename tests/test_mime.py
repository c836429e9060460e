"""Draft bytes parse back with the stdlib to exactly what went in: encoded words, RFC 2231 file names, bodies."""

from __future__ import annotations

import email
import email.policy

import pytest

from daemon import mime


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


SUBJECTS = [
    "Re: RFQ: LED flood light 150W, 2,000 pcs",
    "Re: 询价：150W LED投光灯，2000只，CE认证，FOB宁波，请尽快报价，谢谢！询价：150W LED投光灯，2000只",
    "Re: Solicitud de cotización: focos LED de 150 W, año 2027",
    "Re: " + "x" * 400,  # long ASCII stays one unfolded line
]


@pytest.mark.parametrize("subject", SUBJECTS, ids=["ascii", "chinese-long", "spanish", "long-ascii"])
def test_subject_round_trip(subject: str) -> None:
    data = mime.message([("Subject", mime.unstructured(subject, "Subject"))], "t", "<p>h</p>")
    assert parse(data)["Subject"] == subject


NAMES = [("Katrin Vogel", "Katrin Vogel"), ('Smith, "Jo"', 'Smith, "Jo"'), ("王丽 采购部", "王丽 采购部"),
         ("José Núñez", "José Núñez"), ("", "")]


@pytest.mark.parametrize(("name", "expected"), NAMES, ids=["plain", "comma-quote", "chinese", "accents", "none"])
def test_address_round_trip(name: str, expected: str) -> None:
    data = mime.message([("To", mime.address(name, "buyer@example.com"))], "t", "h")
    (addr,) = parse(data)["To"].addresses
    assert (addr.display_name, addr.addr_spec) == (expected, "buyer@example.com")


FILES = ["catalogue.pdf", 'price "list".pdf', "产品目录 2026.pdf", "line\r\nBcc: x@y.z.pdf"]


@pytest.mark.parametrize("filename", FILES, ids=["plain", "quotes", "chinese", "crlf"])
def test_attachment_name_and_bytes_round_trip(filename: str) -> None:
    data = mime.message([("Subject", "s")], "t", "h", [(filename, "application/pdf", b"%PDF-1.4\x00\xff")])
    msg = parse(data)
    (part,) = list(msg.iter_attachments())
    assert (part.get_filename(), part.get_content(), msg["Bcc"]) == (" ".join(filename.split()), b"%PDF-1.4\x00\xff", None)


BODIES = ["plain text\nsecond line\n", "中文正文，第二行\n> 引用\n", "línea con acentos\r\nfin", "=_triage_ looks like a boundary\n"]


@pytest.mark.parametrize("text", BODIES, ids=["ascii", "chinese", "crlf", "boundary-like"])
def test_bodies_round_trip(text: str) -> None:
    msg = parse(mime.message([("Subject", "s")], text, f"<p>{text}</p>", [("form.txt", "text/plain", text.encode())]))
    body = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    (form,) = list(msg.iter_attachments())
    assert (body.get_content(), html.get_content(), form.get_content()) == (text, f"<p>{text}</p>", text)
