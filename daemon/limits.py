"""The limits a message is held to, decided once: its size, its header section's size, the text handed to
extraction and the time one message may take. Each has a [daemon] setting; the reasons name it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BYTES = 25_000_000
MAX_HEADER_BYTES = 131_072  # far above real mail (a long Received chain is a few KB), far below what hurts
MAX_TEXT_CHARS = 100_000  # about 30 pages of text; spaCy's own ceiling is 1,000,000 characters
MESSAGE_SECONDS = 30.0  # a typical inquiry takes a few milliseconds
MAX_SUBJECT_CHARS = 998  # RFC 5322's line limit: a longer Subject is cut there


@dataclass(frozen=True, slots=True)
class Limits:
    """What one message may be: bytes, header bytes, characters of text to extract from, seconds to process."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_header_bytes: int = MAX_HEADER_BYTES
    max_text_chars: int = MAX_TEXT_CHARS
    message_seconds: float = MESSAGE_SECONDS

    @classmethod
    def of(cls, daemon: Any) -> Limits:
        """The limits of a [daemon] configuration table."""
        return cls(daemon.max_message_bytes, daemon.max_header_bytes, daemon.max_text_chars, float(daemon.message_seconds))


DEFAULT_LIMITS = Limits()


def over(what: str, size: int, limit: int, unit: str, setting: str) -> str:
    """The reason for something over its limit, naming the setting: `message of 30,000,000 bytes is over the
    25,000,000-byte limit ([daemon] max_message_bytes)`."""
    return f"{what} of {size:,} {unit}s is over the {limit:,}-{unit} limit ([daemon] {setting})"


def cut_text(text: str, limit: int) -> str:
    """text cut to at most limit characters, at the last paragraph break, else line break, else sentence end,
    else space in the last tenth before the limit; at the limit itself when the text has none there."""
    if len(text) <= limit:
        return text
    window = text[:limit]
    floor = limit - limit // 10
    for mark in ("\n\n", "\n", ". ", "。", "! ", "? ", " "):
        at = window.rfind(mark, floor)
        if at >= 0:
            return window[: at + len(mark)].rstrip()
    return window
