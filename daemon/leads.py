"""Trade-show leads: rows of a CSV (the printed checklist's ticks and values typed in) scored by the same rules as
mail, stored as customers, each with a follow-up draft.

A row becomes a short message (the values it gives, as "Label: value" lines, and a signature) that goes through
the same stages as mail: parse, extract, assess, draft. An item ticked without a value counts as stated.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from daemon.assess import assess
from daemon.customer import country_of
from daemon.draft_context import TEMPLATE_LANGS, placeholder
from daemon.parse.message import parse
from daemon.pipeline import _history
from daemon.toolkit import Toolkit
from extractors.core.errors import ConfigError
from extractors.core.model import ITEM_IDS, Assessment, Draft, Finding, MessageKey, RawMessage

FIELDS = ("email", "company", "contact", "phone", "country", "language", "notes")
_ALIASES = {"e-mail": "email", "e_mail": "email", "mail": "email", "name": "contact", "lang": "language"}
TICKED = ("x", "yes", "y", "1", "true", "✓", "✔", "☑")
UNTICKED = ("", "no", "n", "0", "false", "-")
RULE = "LEAD_TICKED"  # an item ticked at the show without a value written


@dataclass(frozen=True, slots=True)
class Lead:
    """One row of the file."""

    line: int
    email: str
    fields: dict[str, str]
    items: dict[str, str]  # item id -> the value written ("" when only ticked)


@dataclass(frozen=True, slots=True)
class Scored:
    lead: Lead
    assessment: Assessment
    draft: Draft | None
    added: bool  # False: this row was added before (same address and values)


def _column(name: str, labels: dict[str, str]) -> str | None:
    key = " ".join(name.strip().lower().replace("_", " ").split())
    key = _ALIASES.get(key, key)
    if key in FIELDS:
        return key
    if key.replace(" ", "_") in ITEM_IDS:
        return key.replace(" ", "_")
    return labels.get(key)


def read(path: Path, kit: Toolkit) -> list[Lead]:
    """The leads of a CSV file; every problem of the file is collected and raised together (ConfigError), each
    naming the file, the line and the fix."""
    labels = {" ".join(label.lower().split()): item for item, names in kit.labels.items.items() for label in names.values()}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); save the file as CSV UTF-8") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror or e}") from e
    rows = csv.reader(text.splitlines(keepends=True))
    header = next(rows, None)
    if not header:
        raise ConfigError(f"{path}:1: empty file; the first line names the columns, e.g. email,company,contact,specs,quantity")
    columns = [_column(h, labels) for h in header]
    problems = [f"{path}:1: unknown column {h!r}; use {', '.join(FIELDS)} or an item: {', '.join(ITEM_IDS)} "
                "(or its name as the printed checklist shows it)" for h, c in zip(header, columns, strict=True) if c is None]
    if "email" not in columns:
        problems.append(f"{path}:1: no email column; add one with each lead's e-mail address")
    if problems:
        raise ConfigError("\n".join(problems))
    leads: list[Lead] = []
    for cells in rows:
        line = rows.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            problems.append(f"{path}:{line}: {len(cells)} cells but the header has {len(columns)} columns; put a value "
                            "with a comma in double quotes, and leave an empty cell for what was not said")
            continue
        lead, why = _lead(line, dict(zip(columns, (c.strip() for c in cells), strict=True)))  # type: ignore[arg-type]
        if why:
            problems += [f"{path}:{line}: {w}" for w in why]
        else:
            leads.append(lead)
    if problems:
        raise ConfigError("\n".join(problems))
    return leads


def _lead(line: int, row: dict[str, str]) -> tuple[Lead, list[str]]:
    why = []
    address = email.utils.parseaddr(row.get("email", ""))[1].lower()
    if address.count("@") != 1 or "." not in address.rpartition("@")[2] or address != row.get("email", "").lower():
        why.append(f"email {row.get('email', '')!r} is not an e-mail address; write the lead's address, e.g. name@company.com")
    lang = row.get("language", "").lower()
    if lang and lang not in TEMPLATE_LANGS:
        why.append(f"language {lang!r} is not a template language; use one of {', '.join(TEMPLATE_LANGS)} or leave it empty")
    items: dict[str, str] = {}
    for item in ITEM_IDS:
        cell = row.get(item, "")
        if cell.lower() in UNTICKED:
            continue
        items[item] = "" if cell.lower() in TICKED else cell
    fields = {k: row.get(k, "") for k in FIELDS}
    fields["language"] = lang
    return Lead(line, address, fields, items), why


def message(lead: Lead, kit: Toolkit, event: str) -> bytes:
    """The lead as a message: the values written, each on a line under its label, and a signature."""
    lang = lead.fields["language"] or "en"
    f = lead.fields
    lines = [f"{kit.labels.label(item, lang)}: {value}" for item, value in lead.items.items()
             if value and item not in ("company", "contact")]
    lines += ["", f["notes"]] if f["notes"] else []
    lines += ["", "--"] + [v for v in (f["contact"], lead.items.get("contact", ""), f["company"] or lead.items.get("company", ""),
                                       f["phone"]) if v]
    sender = email.utils.formataddr((f["contact"], lead.email))
    head = (f"From: {sender}\r\nSubject: {lead.items.get('specs', '')}\r\nDate: {email.utils.format_datetime(dt.datetime.now(dt.UTC))}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    return head.encode() + "\r\n".join(lines).encode() + b"\r\n"


def key_of(lead: Lead, path: Path) -> MessageKey:
    """The same row of the same file gets the same key (and so the same draft Message-ID) each time."""
    digest = hashlib.sha256(repr((lead.email, sorted(lead.fields.items()), sorted(lead.items.items()))).encode())
    return MessageKey("leads", path.name[:200], 0, int.from_bytes(digest.digest()[:6], "big"))


def score(lead: Lead, path: Path, kit: Toolkit, event: str, customer: dict[str, Any] | None) -> tuple[Any, Assessment]:
    """parse -> extract -> assess, as for mail, with the ticked items counted as stated."""
    history = _history(customer)
    raw = RawMessage(key_of(lead, path), message(lead, kit, event))
    parsed = parse(raw, kit.platforms)
    if lead.fields["language"]:
        parsed = replace(parsed, language=lead.fields["language"])
    checklist = kit.extractor.extract(parsed, repeat_customer=history.has_order or history.previous_inquiries > 0)
    items = []
    for item, found in checklist.items:
        if found is None and item in lead.items:
            value = lead.items[item] or placeholder(f"what was said at {event}")
            found = Finding(item, value, lead.items[item] or "ticked", 0, 0, RULE, 1.0, part="lead")
        items.append((item, found))
    checklist = replace(checklist, items=tuple(items))
    return parsed, assess(checklist, kit.decisions, history)


def subject(lead: Lead, event: str) -> str:
    """The follow-up's subject: the show and the visitor's company."""
    return f"{event}: {lead.fields['company']}" if lead.fields["company"] else event


def country(lead: Lead, assessment: Assessment) -> str:
    if lead.fields["country"]:
        return lead.fields["country"]
    dest = assessment.checklist.get("destination")
    return country_of(lead.email, dest.value if dest is not None else None)
