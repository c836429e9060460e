"""Before parsing: is this an RFC 5322 message at all, and within the size limits? Input that is not mail (empty,
binary, text without header fields) or is over a limit is skipped with a reason that says which."""

from __future__ import annotations

import re

from daemon.limits import DEFAULT_LIMITS, Limits, over

_FIELD = re.compile(rb"[!-9;-~]{1,200}[ \t]*:")  # a header field's name and colon (RFC 5322 section 2.2)
_MBOX_FROM = re.compile(rb"From \S")  # an mbox separator line before the header
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")  # not \t \n \v \f \r, not ESC (ISO-2022)
# header fields at least one of which every message carries (a message needs From and Date; a partial copy,
# an export or a draft has at least one of these)
_ESSENTIAL = re.compile(rb"(?im)^(?:from|sender|date|message-id|subject|to|received|return-path|mime-version)[ \t]*:")
SNIFF_BYTES = 4096


def header_size(data: bytes) -> int:
    """The header section's length in bytes (up to the blank line), or len(data) when there is no blank line."""
    end = _HEADER_END.search(data)
    return end.start() if end else len(data)


def screen(data: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """Why these bytes are not processed as an inquiry ('' when they are): not mail, or over a size limit."""
    if len(data) > limits.max_message_bytes:
        return over("message", len(data), limits.max_message_bytes, "byte", "max_message_bytes")
    if not data.strip():
        return "not an email message: empty"
    start = data.lstrip(b"\r\n")
    head = start[: min(header_size(start[:SNIFF_BYTES]), SNIFF_BYTES)]  # the header section's start: a body may be binary
    if b"\x00" in head or len(_CONTROL.findall(head)) > len(head) // 20:
        return "not an email message: binary data"
    if _MBOX_FROM.match(start):
        start = start[start.find(b"\n") + 1:]
    size = header_size(start)
    if not _FIELD.match(start) or not _ESSENTIAL.search(start, 0, min(size + 1, limits.max_header_bytes)):
        return "not an email message: no header fields"
    if size > limits.max_header_bytes:
        return over("header section", size, limits.max_header_bytes, "byte", "max_header_bytes")
    return ""
