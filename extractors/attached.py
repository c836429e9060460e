"""What a message's attachments state: line items from their tables, checklist items from those rows and from the
rules run over their text (the `attachment` part), and the signals an attachment can give (an order document, a
lure). The buyer's body always wins: an attachment fills only the items the message itself leaves open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from extractors.core.model import ITEM_IDS, AttachmentText, Finding, LineItem, ParsedMessage, Signal
from extractors.engine import Engine
from extractors.normalise import Context, duration, money, quantity
from extractors.tables import Headers, TableItems, line_items, span

ATTACHMENT_CHARS = 20_000  # the text of a message's attachments that the rules read
SIGNALS = ("is_order", "lure")  # the signals an attachment's text can give
CONFIDENCE = 0.85


@dataclass(frozen=True)
class Contribution:
    """What the attachments add to one message's checklist."""

    line_items: tuple[LineItem, ...] = ()
    findings: Mapping[str, Finding] = field(default_factory=dict)  # items the message leaves open
    signals: tuple[Signal, ...] = ()


NONE = Contribution()


class AttachmentItems:
    """Reads the attachments of a message with the rules engine and the table header words."""

    def __init__(self, engine: Engine, headers: Headers):
        self.engine = engine
        self.headers = headers

    def read(self, msg: ParsedMessage, stated: Mapping[str, Finding], date: dt.date) -> Contribution:
        texts = [t for a in msg.attachments if a.status == "read" for t in a.texts]
        tables = [t for a in msg.attachments if a.status == "read" for t in a.tables]
        if not texts and not tables:
            return NONE
        ctx = Context(date=date, language=msg.language)
        found = [got for t in tables if (got := line_items(t, self.headers, ctx)) is not None and got.items]
        items = tuple(li for got in found for li in got.items)
        from_rows = _from_rows(found, ctx)
        from_text, signals = self._rules(texts, date)
        findings = {}
        for item in ITEM_IDS:
            if item not in stated and (f := from_rows.get(item) or from_text.get(item)) is not None:
                findings[item] = f
        return Contribution(items, findings, signals)

    def _rules(self, texts: list[AttachmentText], date: dt.date) -> tuple[dict[str, Finding], tuple[Signal, ...]]:
        """The rules over the attachments' text, one run per language, each finding with its file and place."""
        findings: dict[str, Finding] = {}
        signals: dict[str, Signal] = {}
        budget = ATTACHMENT_CHARS
        by_language: dict[str, list[AttachmentText]] = {}
        for t in texts:
            by_language.setdefault(t.language, []).append(t)
        for language, group in by_language.items():
            combined, starts = [], []
            size = 0
            for t in group:
                if budget <= 0:
                    break
                piece = t.text[:budget]
                starts.append((size, t))
                combined.append(piece + "\n\n")
                size += len(piece) + 2
                budget -= len(piece)
            if not combined:
                break
            result = self.engine.run({"attachment": "".join(combined)}, language, date)
            for item, f in result.findings.items():
                if item not in findings:
                    findings[item] = _placed(f, starts)
            for s in result.signals:
                if s.name in SIGNALS and s.name not in signals:
                    signals[s.name] = Signal(s.name, s.rule, f"{s.reason} (in an attachment)")
        return findings, tuple(signals.values())


def _placed(f: Finding, starts: list[tuple[int, AttachmentText]]) -> Finding:
    """A finding in the joined attachment text, as one in its own attachment: offsets and source."""
    base, text = next(((o, t) for o, t in reversed(starts) if o <= f.start), starts[0])
    start, end = f.start - base, f.end - base
    return Finding(f.item, f.value, f.evidence, start, end, f.rule, f.confidence, "attachment", text.source(start))


def _source(items: tuple[LineItem, ...]) -> str:
    """Where rows came from: "RFQ_2026.xlsx, Sheet1!A6:G8" (several files: each, joined with "; ")."""
    by_file: dict[str, list[str]] = {}
    for li in items:
        file, _, place = li.source.rpartition(", ")
        by_file.setdefault(file, []).append(place)
    return "; ".join(f"{file}, {span(places)}" for file, places in by_file.items())


def describe(li: LineItem) -> str:
    """A line item in one line of the buyer's words: product, model, parameters."""
    return " ".join(x for x in (li.product, li.model, li.parameters) if x)


def _from_rows(found: list[TableItems], ctx: Context) -> dict[str, Finding]:
    """Checklist items stated by the rows: specs, quantity, target price, lead time and material."""
    items = tuple(li for got in found for li in got.items)
    if not items:
        return {}
    out: dict[str, Finding] = {}

    def add(item: str, value: object, evidence: str, rule: str, rows: tuple[LineItem, ...]) -> None:
        if value is not None and evidence:
            out[item] = Finding(item, value, evidence, 0, len(evidence), rule, CONFIDENCE, "attachment", _source(rows))

    specs = " | ".join(describe(li) for li in items)[:500]
    add("specs", specs, specs, "ATTACHMENT_TABLE_ROWS", items)
    counted = tuple(li for li in items if li.quantity)
    if counted and (value := quantity(counted[0].quantity, ctx)) is not None:
        add("quantity", value, " | ".join(li.quantity for li in counted)[:300], "ATTACHMENT_TABLE_QUANTITY", counted)
    priced = tuple(li for li in items if li.target_price)
    if priced and (price := money(priced[0].target_price, ctx)) is not None:
        price.setdefault("per", "unit")
        label = next((got.labels.get("target_price", "") for got in found if got.labels.get("target_price")), "")
        evidence = f"{label}: " * bool(label) + " | ".join(li.target_price for li in priced)
        add("target_price", price, evidence[:300], "ATTACHMENT_TABLE_PRICE", priced)
    for got in found:
        cells = [(li, d) for li, d in zip(got.items, got.delivery, strict=True) if d]
        if cells and (when := duration(cells[0][1], ctx)) is not None:
            evidence = f"{got.labels.get('delivery', '')}: {cells[0][1]}"
            add("lead_time", when, evidence, "ATTACHMENT_TABLE_DELIVERY", (cells[0][0],))
            break
    for got in found:
        cells = [(li, m) for li, m in zip(got.items, got.materials, strict=True) if m]
        if cells:
            add("material", cells[0][1], cells[0][1], "ATTACHMENT_TABLE_MATERIAL", (cells[0][0],))
            break
    return out
