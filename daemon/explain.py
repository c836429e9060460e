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
        "rules_version": rules_version,
    }


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
            table.add_row(str(n), labels.get(item, item), Text(str(f.value)), Text(f.evidence[:60]), f.rule, f"{f.confidence:.2f}")
    console.print(table)
    for s in c.signals:
        console.print(f"signal [bold]{s.name}[/]: {s.rule}: {s.reason}")
    console.print(f"strength [bold]{c.strength}[/] ({'; '.join(c.strength_reasons) or 'no signs of strength'})")
    for name, value in (("priority", a.priority), ("tier", a.tier), ("follow_up_mode", a.follow_up_mode),
                        ("quote", a.quote), ("sample", a.sample), ("action", a.action)):
        reason = dict(a.reasons).get(name, "")
        console.print(f"[bold]{name}[/] = {value}   [dim]{reason}[/]")
    if "order_risk" in dict(a.reasons):
        console.print(f"[bold]order_risk[/]   [dim]{dict(a.reasons)['order_risk']}[/]")
