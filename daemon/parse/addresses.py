"""Address headers parsed strictly (RFC 5322, RFC 6532 for UTF-8): an address comes only from an addr-spec, never
from a display name, and only an address a reply can go to is kept.

The stdlib's RFC 5322 parser (`email.headerregistry`, through `email.policy.default`) reads the header as written,
decoding encoded words only inside display names; `email.utils.parseaddr` on a decoded header would let a display
name such as `=?utf-8?Q?x=0D=0ABcc:_victim@example.com?=` supply the address. `headerregistry.Address` refuses a
display name that decodes to CR or LF, so an encoded word that decodes to control characters is first written
again without them (the address beside it is kept). Domains are checked and turned into their ASCII form with
`idna` (IDNA 2008, UTS 46).
"""

from __future__ import annotations

import email.policy
import logging
from email import errors
from email.header import Header, decode_header, make_header

import idna
import regex

log = logging.getLogger(__name__)

MAX_HEADER_CHARS = 4096  # an address header longer than this gives no address (the parser is slow on huge input)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010FFFF--[\p{C}\p{Z}\ufffd]]"
_LOCAL = regex.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*", regex.V1)
_LABEL = regex.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_ENCODED_WORD = regex.compile(r"=\?[^?\s]{1,64}\?[bBqQ]\?[^?\s]*\?=")
_ENCODED_ONLY = regex.compile(r"(?:=\?[^?\s]{1,64}\?[bBqQ]\?[^?\s]*\?=\s*)+")
_CONTROL = regex.compile(r"[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffd]+")


def clean(value: str) -> str:
    """Header text fit for display and for a draft: control and bidi characters become one space each."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def ascii_domain(domain: str) -> str | None:
    """The domain in lower-case ASCII (IDNA A-labels), or None when it is not a host name mail can go to."""
    domain = domain.strip().rstrip(".")
    if not domain or domain.startswith("["):  # no address literals: a reply goes to a named host
        return None
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    domain = domain.lower()
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():
        return None
    return domain


def addr_spec(local: str | None, domain: str | None) -> str:
    """`local@domain` in the form a draft writes and the store keys customers by (lower case, ASCII domain), or ''
    when the parts are not an address a reply can go to (a quoted or malformed local part, a bad domain)."""
    if not local or not domain or len(local.encode("utf-8", "surrogatepass")) > 64 or not _LOCAL.fullmatch(local):
        return ""
    host = ascii_domain(domain)
    return f"{local.lower()}@{host}" if host else ""


def mailboxes(value: str, whole_word: bool = True) -> list[tuple[str, str]]:
    """(display name, address) of each mailbox in an address header as written (encoded words undecoded),
    in order; a mailbox whose address is unusable, or a header the parser finds invalid, gives none.

    Some mail programs put the whole `Name <address>` into one encoded word; such a header (nothing but encoded
    words: no display name beside an address) is decoded and parsed the same strict way (`whole_word`), provided
    the decoded text holds no control character."""
    value = " ".join(value.split()) if value else ""  # unfolded: CR and LF never reach the parser
    if not value or len(value) > MAX_HEADER_CHARS:
        return []
    if whole_word and _ENCODED_ONLY.fullmatch(value):
        try:
            decoded = str(make_header(decode_header(value)))
        except (UnicodeError, LookupError, ValueError, errors.MessageError):
            return []
        return mailboxes(decoded, whole_word=False) if decoded == clean(decoded) else []
    try:
        header = email.policy.default.header_factory("to", _defused(value))
        if any(isinstance(d, errors.InvalidHeaderDefect) for d in header.defects):
            return []
        listed = [(a.display_name, a.username, a.domain) for a in header.addresses]
    except Exception as e:  # noqa: BLE001 - a parser bug on hostile input must cost the address, not the message
        log.debug("address header not parsed: %s: %s", type(e).__name__, e)
        return []
    found = []
    for name, local, domain in listed:
        address = addr_spec(local, domain)
        if address:
            found.append((clean(name or ""), address))
    return found


def _defused(value: str) -> str:
    """The header with every encoded word that decodes to control characters (CR, LF, NUL...) written again
    without them; an encoded word that cannot be decoded becomes a plain word."""

    def one(m: regex.Match[str]) -> str:
        try:
            text = str(make_header(decode_header(m.group(0))))
        except (UnicodeError, LookupError, ValueError, errors.MessageError):
            return "x"
        if text == clean(text):
            return m.group(0)
        return Header(clean(text) or "x", "utf-8").encode(maxlinelen=10_000).replace("\n", " ")

    return _ENCODED_WORD.sub(one, value)


def first_mailbox(value: str) -> tuple[str, str]:
    """The first usable (display name, address) of an address header, or ('', '')."""
    found = mailboxes(value)
    return found[0] if found else ("", "")
