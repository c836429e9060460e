"""`explain`: the checklist with evidence and the decisions, as a terminal report or one JSON object."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from extractors.core.model import ITEM_IDS, SIGNAL_IDS, Assessment, ParsedMessage


def as_json(parsed: ParsedMessage, a: Assessment, rules_version: str = "") -> dict[str, Any]:
    c = a.checklist
    return {
        "language": c.language,
        "clarity": c.clarity,
        "items": {item: (f.as_json() if f is not None else None) for item, f in c.items},
        "missing": list(c.missing),
        "signals": {name: c.signal(name) for name in SIGNAL_IDS},
        "signal_reasons": {s.name: f"{s.rule}: {s.reason}" for s in c.signals},
        "strength": c.strength,
        "strength_reasons": list(c.strength_reasons),
        "priority": a.priority,
        "tier": a.tier,
        "follow_up_mode": a.follow_up_mode,
        "quote": a.quote,
        "sample": a.sample,
        "action": a.action,
        "reasons": dict(a.reasons),
        "questions": list(a.questions),
        "response_due_hours": a.response_due_hours,
        "order_risk": dict(a.order_risk) or None,
        "language_detected": parsed.language_known,
        "platform": parsed.platform or None,
        "attachments": attachments(parsed, a),
        "line_items": [li.as_json() for li in c.line_items],
        "rules_version": rules_version,
    }


def _from_file(source: str, filename: str) -> bool:
    return any(s == filename or s.startswith(filename + ", ") for s in source.split("; "))


def attachments(parsed: ParsedMessage, a: Assessment) -> list[dict[str, Any]]:
    """Each attachment: what it is, whether it was read (or skipped, or refused, and why), its parts and what it
    gave the checklist."""
    c = a.checklist
    out = []
    for att in parsed.attachments:
        items = {item: f.source for item, f in c.items if f is not None and f.part == "attachment" and _from_file(f.source, att.filename)}
        rows = sum(1 for li in c.line_items if _from_file(li.source.rpartition(", ")[0], att.filename))
        signals = [f"{s.name}: {s.reason}" for s in c.signals if att.filename in s.reason or (s.reason.endswith("(in an attachment)") and att.texts)]
        out.append({
            "file": att.filename, "kind": att.kind, "size": att.size, "declared_type": att.content_type,
            "status": att.status, "reason": att.reason, "danger": att.danger or None,
            "parts": [{"name": t.title, "characters": len(t.text), "language": t.language} for t in att.texts],
            "contributed": {"items": items, "line_items": rows, "signals": signals},
        })  # fmt: skip
    return out


def _highlight(text: str, spans: list[tuple[int, int, str]]) -> Text:
    out = Text(text)
    for start, end, _ in spans:
        out.stylize("bold black on yellow", start, end)
    return out


def render(console: Console, parsed: ParsedMessage, a: Assessment, labels: dict[str, str]) -> None:
    c = a.checklist
    console.print(f"[bold]{parsed.subject or '(no subject)'}[/] from {parsed.from_name} <{parsed.from_addr}>")
    console.print(
        f"language {c.language}{'' if parsed.language_known else ' (not detected: English rules)'}"
        f"{'  platform ' + parsed.platform if parsed.platform else ''}"
    )
    spans = [(f.start, f.end, f.item) for _, f in c.items if f is not None and f.part == "text"]
    console.print(_highlight(parsed.text, spans), soft_wrap=True)
    table = Table(title=f"Clarity {c.clarity}/18", show_lines=False)
    for col in ("#", "item", "value", "evidence", "rule", "conf."):
        table.add_column(col)
    for n, item in enumerate(ITEM_IDS, 1):
        f = c.get(item)
        if f is None:
            table.add_row(str(n), labels.get(item, item), "[dim]-[/]", "", "", "")
        else:
            where = f"\n[dim]{f.source}[/]" if f.source else ""
            table.add_row(str(n), labels.get(item, item), Text(str(f.value)), Text(f.evidence[:60]) + Text.from_markup(where),
                          f.rule, f"{f.confidence:.2f}")
    console.print(table)
    for s in c.signals:
        console.print(f"signal [bold]{s.name}[/]: {s.rule}: {s.reason}")
    _render_attachments(console, parsed, a)
    console.print(f"strength [bold]{c.strength}[/] ({'; '.join(c.strength_reasons) or 'no signs of strength'})")
    for name, value in (("priority", a.priority), ("tier", a.tier), ("follow_up_mode", a.follow_up_mode),
                        ("quote", a.quote), ("sample", a.sample), ("action", a.action)):
        reason = dict(a.reasons).get(name, "")
        console.print(f"[bold]{name}[/] = {value}   [dim]{reason}[/]")
    if "order_risk" in dict(a.reasons):
        console.print(f"[bold]order_risk[/]   [dim]{dict(a.reasons)['order_risk']}[/]")


def _render_attachments(console: Console, parsed: ParsedMessage, a: Assessment) -> None:
    for att in attachments(parsed, a):
        size = f"{att['size'] / 1000:.1f} KB"
        console.print(f"attachment [bold]{att['file']}[/] ({att['kind']}, {size}): [bold]{att['status']}[/] - {att['reason']}")
        for part in att["parts"]:
            console.print(f"  part {part['name']}: {part['characters']} characters, language {part['language']}")
        given = att["contributed"]
        for item, source in given["items"].items():
            console.print(f"  gave {item} ({source})")
        if given["line_items"]:
            console.print(f"  gave {given['line_items']} line item(s)")
        for signal in given["signals"]:
            console.print(f"  gave signal {signal}")
    if a.checklist.line_items:
        table = Table(title=f"Line items ({len(a.checklist.line_items)})")
        for col in ("product", "model", "parameters", "quantity", "target price", "source"):
            table.add_column(col)
        for li in a.checklist.line_items:
            table.add_row(Text(li.product), Text(li.model), Text(li.parameters), Text(li.quantity), Text(li.target_price),
                          Text(li.source))
        console.print(table)
