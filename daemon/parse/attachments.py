"""A message's attachments -> Attachment values: each one's kind by its content, and what reading it came to.

Readable files (spreadsheets, CSV, PDF, Word, plain text) are read in the attachment sandbox; the others are named
and classified here from their first bytes, without a worker: an image is skipped, an HTML page, archive, disk
image, program or script is refused, and its `danger` says why it matters where an order should be. Per message
at most `MAX_READ` attachments are read, within `MESSAGE_SECONDS` in all.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from daemon.parse import filetype
from daemon.parse.language import detect
from extractors.core.model import Attachment, AttachmentText, Table

log = logging.getLogger(__name__)
MAX_READ = 10
MESSAGE_SECONDS = 30.0
_NEEDS_WORKER = filetype.READABLE | {"zip", "ole"}


class Reader(Protocol):
    """What reads one attachment: the sandbox (`sandbox.Sandbox`)."""

    @property
    def limits(self) -> Any: ...

    def read(self, filename: str, data: bytes, charset: str = "", seconds: float | None = None) -> dict[str, Any]: ...


def payload(item: dict[str, Any]) -> bytes:
    """The bytes of a mail-parser attachment (it hands binary payloads over in base64)."""
    data = item.get("payload") or ""
    if item.get("binary"):
        try:
            return base64.b64decode(data)
        except (binascii.Error, ValueError):
            return b""
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)


def read_all(items: Sequence[dict[str, Any]], reader: Reader | None, clean: Any = str) -> tuple[Attachment, ...]:
    """Every attachment of a message, read where it can be (with no reader, only classified)."""
    out = []
    started = time.monotonic()
    read = 0
    for item in items:
        data = payload(item)
        name = clean(item.get("filename", "") or "") or "(no name)"
        declared = str(item.get("mail_content_type", "") or "")
        left = MESSAGE_SECONDS - (time.monotonic() - started)
        if reader is not None and read < MAX_READ and left > 0.5:
            read += magic_needs_reader(data, name)
            out.append(one(name, declared, data, str(item.get("charset") or ""), reader, left))
        else:
            why = "not read: the message's attachment limit was reached" if reader is not None else "not read"
            out.append(classified(name, declared, data, why))
        log.debug("attachment %r (%s, %d bytes): %s, %s", name, out[-1].kind, out[-1].size, out[-1].status, out[-1].reason)
    return tuple(out)


def magic_needs_reader(data: bytes, name: str) -> bool:
    return filetype.magic(data, name) in _NEEDS_WORKER


def classified(name: str, declared: str, data: bytes, unread: str = "not read") -> Attachment:
    """An attachment named and typed from its first bytes only."""
    kind = filetype.magic(data, name)
    danger = filetype.DANGER.get(kind, "")
    if danger:
        return Attachment(name, declared, len(data), kind, "refused", danger, danger)
    return Attachment(name, declared, len(data), kind, "skipped", filetype.SKIPPED.get(kind, unread))


def one(name: str, declared: str, data: bytes, charset: str, reader: Reader, seconds: float) -> Attachment:
    kind = filetype.magic(data, name)
    if kind not in _NEEDS_WORKER:
        return classified(name, declared, data)
    if len(data) > reader.limits.max_bytes:
        return Attachment(name, declared, len(data), kind, "refused",
                          f"{len(data) / 1e6:.1f} MB, over the {reader.limits.max_bytes / 1e6:.0f} MB limit")
    answer = reader.read(name, data, charset, seconds)
    kind = answer.get("kind") or {"zip": "damaged", "ole": "damaged"}.get(kind, kind)
    status = str(answer.get("status") or "refused")
    danger = filetype.DANGER.get(kind, "")
    texts = tuple(_text(name, t) for t in answer.get("texts", ()) if t.get("text"))
    tables = tuple(
        Table(name, str(t.get("name", "")), tuple(tuple(str(c) for c in r) for r in t.get("rows", ())),
              tuple(str(p) for p in t.get("places", ())), tuple(tuple(int(c) for c in r) for r in t.get("columns", ())))
        for t in answer.get("tables", ())
    )
    return Attachment(name, declared, len(data), kind, status, str(answer.get("reason", "")), danger, texts, tables,
                      tuple(str(u) for u in answer.get("links", ())[:20]))


def _text(filename: str, t: dict[str, Any]) -> AttachmentText:
    sub = str(t.get("name", ""))
    text = str(t.get("text", ""))
    return AttachmentText(
        filename, sub, text,
        tuple((int(o), str(p)) for o, p in t.get("places", ())), detect(text)[0],
    )
