"""The daily digest: one message put in the INBOX with the day's inquiries ranked by priority, each with a clarity
bar, tier, due time, the items still missing and whether it was answered (an HTML part that Thunderbird, Outlook
and Gmail show alike: tables and inline styles only, and a text part)."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import logging
from typing import TYPE_CHECKING, Any

from daemon import mime
from daemon.mailboxes.base import Mailbox
from daemon.reminders import note_id

if TYPE_CHECKING:
    from daemon.store import Store

log = logging.getLogger(__name__)
RANK = {"high": 0, "medium": 1, "low": 2}
DIGEST_FOLDER = "digest"  # the checkpoint row (account, "digest", 0) holds the last day digested as YYYYMMDD


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The inquiries by priority (high first), then clarity (highest first), then arrival."""
    return sorted(rows, key=lambda r: (RANK.get(r.get("priority") or "", 3), -(r.get("clarity") or 0), r["created_at"]))


def _missing(row: dict[str, Any]) -> list[str]:
    return [k for k, v in (row.get("checklist") or {}).items() if v is None and k not in ("company", "contact")]


def text(day: dt.date, rows: list[dict[str, Any]]) -> str:
    lines = [f"Inquiries of {day:%Y-%m-%d} (UTC): {len(rows)}, {sum(1 for r in rows if r['answered'])} answered", ""]
    for r in ranked(rows):
        n = r.get("clarity") or 0
        due = f"{r['due_at']:%m-%d %H:%M}" if r.get("due_at") else "-"
        lines += [f"{(r.get('priority') or '-'):<6} {'#' * n}{'.' * (18 - n)} {n:>2}/18  tier {r.get('tier') or '-'}  "
                  f"due {due}  {'answered' if r['answered'] else 'UNANSWERED'}",
                  f"       {r['sender']}: {r['subject']}",
                  f"       missing: {', '.join(_missing(r)[:8]) or 'nothing'}", ""]
    return "\n".join(lines)


def page(day: dt.date, rows: list[dict[str, Any]]) -> str:
    e = html.escape
    cell = 'style="padding:6px 8px;border-bottom:1px solid #ddd;font:13px Arial,sans-serif;vertical-align:top"'
    out = [f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Inquiries of {day:%Y-%m-%d}</title></head>'
           '<body style="margin:0;padding:16px;background:#ffffff">'
           f'<h2 style="font:bold 18px Arial,sans-serif;margin:0 0 12px">Inquiries of {day:%Y-%m-%d} (UTC): {len(rows)}, '
           f'{sum(1 for r in rows if r["answered"])} answered</h2>'
           '<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%">'
           '<tr>' + "".join(f'<th align="left" {cell}>{h}</th>' for h in
                            ("priority", "buyer", "clarity", "tier", "due", "missing", "answered")) + "</tr>"]
    for r in ranked(rows):
        n = r.get("clarity") or 0
        colour = "#2e7d32" if n >= 8 else "#f9a825" if n >= 5 else "#c62828"
        bar = (f'<table role="presentation" cellpadding="0" cellspacing="0" style="width:108px;border:1px solid #999">'
               f'<tr><td style="width:{6 * n}px;height:10px;background:{colour};font-size:1px">&nbsp;</td>'
               f'<td style="height:10px;font-size:1px">&nbsp;</td></tr></table>{n}/18')
        due = f"{r['due_at']:%m-%d %H:%M}" if r.get("due_at") else "-"
        answered = "yes" if r["answered"] else '<b style="color:#c62828">no</b>'
        out.append(f"<tr><td {cell}>{e(r.get('priority') or '-')}</td><td {cell}>{e(r['sender'])}<br>"
                   f"<span style='color:#555'>{e(r['subject'])}</span></td><td {cell}>{bar}</td>"
                   f"<td {cell}>{e(r.get('tier') or '-')}</td><td {cell}>{due}</td>"
                   f"<td {cell}>{e(', '.join(_missing(r)[:8]) or '-')}</td><td {cell}>{answered}</td></tr>")
    out.append("</table></body></html>")
    return "".join(out)


def message(day: dt.date, rows: list[dict[str, Any]], sender: tuple[str, str], now: dt.datetime, account: str) -> bytes:
    name, address = sender
    domain = address.rpartition("@")[2] or "localhost"
    headers = [("From", mime.address(name, address)), ("To", mime.address(name, address)),
               ("Subject", mime.unstructured(f"Inquiries of {day:%Y-%m-%d}: {len(rows)}", "Subject")),
               ("Date", email.utils.format_datetime(now)), ("Message-ID", note_id("digest", f"{account}|{day}", domain))]
    return mime.message(headers, text(day, rows), page(day, rows))


def send_digest(mailbox: Mailbox, store: Store, sender: tuple[str, str], now: dt.datetime,
                day: dt.date | None = None) -> bool:
    """Put the digest of `day` (default: today, UTC) in the mailbox's INBOX, once per day; True if it was put."""
    day = day or now.date()
    if not mailbox.can_append_note or store.checkpoint(mailbox.name, DIGEST_FOLDER, 0) >= int(f"{day:%Y%m%d}"):
        return False
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    rows = store.day_inquiries(mailbox.name, start, start + dt.timedelta(days=1))
    mailbox.append_note(message(day, rows, sender, now, mailbox.name))
    store.set_checkpoint(mailbox.name, DIGEST_FOLDER, 0, int(f"{day:%Y%m%d}"))
    log.info("mailbox=%s digest of %s: %d inquiries", mailbox.name, day, len(rows))
    return True
