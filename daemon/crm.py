"""What the store knows about customers, as a salesperson reads it: the list, one customer's history, a CSV that a
CRM imports."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from typing import IO, Any

from rich.console import Console
from rich.table import Table

EXPORT_COLUMNS = ("company", "contact", "email", "country", "tier", "clarity", "priority", "last_inquiry", "status")


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}Z" if value is not None else ""


def _risk(row: dict[str, Any]) -> str:
    return "high" if row.get("high_change_risk") else ""


def list_table(rows: Iterable[dict[str, Any]]) -> Table:
    """One line per customer, the most recently seen first."""
    table = Table(title="customers")
    for col in ("id", "email", "company", "country", "source", "inquiries", "clarity", "priority", "tier", "mode",
                "last inquiry", "status", "change risk"):
        table.add_column(col, overflow="fold")
    for r in rows:
        clarity = f"{r['last_clarity']}/18" if r.get("last_clarity") is not None else "-"
        table.add_row(str(r["id"]), r["address"], r.get("company") or "", r.get("country") or "", r.get("source") or "",
                      str(r["inquiries"]), clarity, r.get("last_priority") or "-", r.get("last_tier") or "-",
                      r.get("last_mode") or "-", _when(r.get("last_seen")), r.get("status") or "", _risk(r))
    return table


def show(console: Console, row: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """One customer: who, where the buyer stands, and the history of clarity, tier and mode with each move's reason."""
    console.print(f"customer {row['id']}: {row['address']}")
    for label, value in (("company", row.get("company")), ("contact", row.get("contact")), ("country", row.get("country")),
                         ("source", row.get("source")), ("first seen", _when(row.get("first_seen"))),
                         ("last seen", _when(row.get("last_seen"))), ("inquiries", row.get("inquiries")),
                         ("has ordered", "yes" if row.get("last_order_checklist") else "no"),
                         ("change risk", f"high: {row.get('change_risk_reason') or 'changed requirements'}"
                          if row.get("high_change_risk") else "normal")):
        if value not in (None, ""):
            console.print(f"  {label}: {value}", markup=False, highlight=False)
    table = Table(title="history (oldest first)")
    for col in ("when", "source", "subject", "clarity", "priority", "tier", "mode", "action", "still missing", "moved",
                "changed since the last order"):
        table.add_column(col, overflow="fold")
    for e in events:
        moves = "; ".join(f"{m['what']} {m['from']} -> {m['to']} ({m['reason']})" for m in e.get("moves") or [])
        changes = "; ".join(f"{c['item']}: {_text(c.get('before'))} -> {_text(c.get('now'))}" for c in e.get("changes") or [])
        table.add_row(_when(e.get("at")), e.get("source") or "", e.get("subject") or "",
                      f"{e['clarity']}/18" if e.get("clarity") is not None else "-", e.get("priority") or "-",
                      e.get("tier") or "-", e.get("follow_up_mode") or "-", e.get("action") or "-",
                      ", ".join(e.get("missing") or []), moves, changes)
    console.print(table)


def _text(value: Any) -> str:
    if value is None:
        return "(not stated)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """The customers as CSV with the columns a CRM imports (EXPORT_COLUMNS); return the number of rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    n = 0
    for r in rows:
        writer.writerow([_cell(r.get("company")), _cell(r.get("contact")), _cell(r["address"]), _cell(r.get("country")),
                         _cell(r.get("last_tier")), "" if r.get("last_clarity") is None else r["last_clarity"],
                         _cell(r.get("last_priority")), _when(r.get("last_seen")), _cell(r.get("status"))])
        n += 1
    return n


def _cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection: = + - @ at the start)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
