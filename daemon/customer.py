"""Customers are people, not relay addresses: who the buyer of a message is, for the store and for the reply.

A web form, a form or mailing service, a shared sender or a B2B platform's notifier sends mail for many buyers;
treating its address as one customer would give strangers each other's order history ("same as your last
order"). The buyer is then the Reply-To address, or the e-mail field of the form, or nobody: a message with no
buyer address of its own is answered but gets no customer history.
"""

from __future__ import annotations

import email.utils

import regex

from daemon.parse.platforms import Platforms
from extractors.checklist import is_no_reply
from extractors.core.model import ParsedMessage

_FORM_EMAIL = regex.compile(
    r"^\s*(?:e-?mail|your\s+e-?mail|email\s+address|e-?mail\s+address|correo(?:\s+electr[oó]nico)?|courriel|"
    r"adresse\s+e-?mail|e-?mail-adresse|endere[çc]o\s+de\s+e-?mail|почта|e-?posta|البريد\s+الإلكتروني|"
    r"posta\s+elettronica|邮箱|电子邮件|电邮)\s*[:：]\s*(?P<addr>[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,4})\s*$",
    regex.I | regex.M,
)


def _usable(addr: str) -> str:
    addr = email.utils.parseaddr(addr or "")[1].strip().lower()
    return addr if addr.count("@") == 1 and not is_no_reply(addr) else ""


def relay_of(msg: ParsedMessage, platforms: Platforms | None, own_domains: tuple[str, ...] = ()) -> str:
    """The kind of relay the sender is ("" for a person's own address)."""
    if msg.platform:
        return msg.platform
    domain = msg.from_addr.rpartition("@")[2].lower()
    if domain and domain in own_domains:
        return "own web form"
    return platforms.relay(msg.from_addr) if platforms is not None else ""


def form_address(msg: ParsedMessage) -> str:
    """The e-mail address a web or platform form gives for the buyer ("Email: ..."), or ""."""
    for text in (msg.form, msg.text):
        m = _FORM_EMAIL.search(text or "")
        if m and (addr := _usable(m.group("addr"))):
            return addr
    return ""


def buyer_address(msg: ParsedMessage, platforms: Platforms | None, own_domains: tuple[str, ...] = (),
                  relay: bool | None = None) -> str:
    """The buyer's own address: From for a person's own mail; behind a relay, Reply-To or the form's e-mail field;
    "" when the message names none."""
    if not (relay if relay is not None else relay_of(msg, platforms, own_domains)):
        return msg.from_addr.lower()
    reply_to = _usable(msg.reply_to)
    if reply_to and reply_to != msg.from_addr.lower() and not (platforms and platforms.relay(reply_to)):
        return reply_to
    return form_address(msg)


_GENERIC_CC = {"uk": "GB", "eu": ""}  # country-code domains that are not an ISO 3166 code as written


def country_of(address: str, destination: object = None) -> str:
    """The buyer's country for a CRM: the country-code domain of the address (co.uk -> United Kingdom), else a
    destination that names a country; "" when neither says."""
    import pycountry

    tld = address.rpartition(".")[2].lower()
    code = _GENERIC_CC.get(tld, tld.upper()) if len(tld) == 2 else ""
    if code and (country := pycountry.countries.get(alpha_2=code)) is not None:
        return str(getattr(country, "common_name", None) or country.name)
    if isinstance(destination, str) and destination.strip():
        try:
            country = pycountry.countries.lookup(destination.strip())
        except LookupError:
            return ""
        return str(getattr(country, "common_name", None) or country.name)
    return ""


def company_name(value: object) -> str:
    """The company's name from the company item's value ("Nordlicht Handel GmbH, nordlicht.example" -> the name)."""
    if not isinstance(value, str):
        return ""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    names = [p for p in parts if not regex.fullmatch(r"(?:www\.)?[\w-]+(?:\.[\w-]+)+", p)]
    return ", ".join(names) or (parts[0] if parts else "")
