"""`eval`: per-item precision/recall/F1, micro-F1, invalid detection and per-rule hit frequencies on a corpus."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from daemon.errors import ConfigError
from daemon.model import ITEM_IDS, MessageKey, RawMessage
from daemon.pipeline import analyse
from daemon.toolkit import Toolkit

_DATE = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def record_bytes(rec: dict[str, Any]) -> bytes:
    """The record as an RFC 5322 message: its `raw`, else built from from/subject/body."""
    if rec.get("raw"):
        return str(rec["raw"]).encode("utf-8", "surrogateescape")
    msg = EmailMessage()
    sender = (rec.get("from") or "").replace("\n", " ").strip()
    msg["From"] = sender if "@" in sender else (f'"{sender}" <unknown@invalid>' if sender else "unknown@invalid")
    msg["To"] = "sales@example.com"
    msg["Subject"] = (rec.get("subject") or "").replace("\n", " ")
    msg["Date"] = format_datetime(_DATE)
    msg["Message-ID"] = f"<{rec.get('id', 'x')}@corpus.invalid>"
    msg.set_content(rec.get("body") or "", charset="utf-8")
    return msg.as_bytes()


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def load_corpus(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the corpus: {e.strerror}") from e
    records = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path}:{n}: not a JSON object: {e.msg}") from e
    return records


def evaluate(records: list[dict[str, Any]], kit: Toolkit) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = {item: Counter() for item in ITEM_IDS}
    inv: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        raw = RawMessage(MessageKey("eval", "corpus", 1, i + 1), record_bytes(rec))
        parsed, a = analyse(raw, kit)
        labels = rec.get("labels") or {}
        result = kit.extractor.run_rules(parsed)
        for f in result.hits:
            hits[f.rule] += 1
            if f.item.startswith("signal:"):
                name = f.item.removeprefix("signal:")
                truth = {"lure": rec.get("invalid"), "out_of_office": False, "generic_greeting": None}.get(name, rec.get(name))
                if truth is False:
                    false_pos[f.rule] += 1
            elif not labels.get(f.item):
                false_pos[f.rule] += 1
        for item in ITEM_IDS:
            truth = bool(labels.get(item))
            finding = a.checklist.get(item)
            got = finding is not None
            key = "tp" if truth and got else "fp" if got else "fn" if truth else "tn"
            counts[item][key] += 1
            if key in ("fp", "fn"):
                errors.append({"id": rec.get("id"), "item": item, "kind": key, "label": labels.get(item),
                               "evidence": finding.evidence if finding is not None else None})
        got_inv = a.checklist.signal("invalid")
        truth_inv = bool(rec.get("invalid"))
        inv["tp" if truth_inv and got_inv else "fp" if got_inv else "fn" if truth_inv else "tn"] += 1
    items = {item: _prf(c["tp"], c["fp"], c["fn"]) for item, c in counts.items()}
    micro = _prf(sum(c["tp"] for c in counts.values()), sum(c["fp"] for c in counts.values()), sum(c["fn"] for c in counts.values()))
    invalid = _prf(inv["tp"], inv["fp"], inv["fn"])
    return {
        "n": len(records),
        "items": items,
        "micro": {k: micro[k] for k in ("precision", "recall", "f1")},
        "invalid": {k: invalid[k] for k in ("precision", "recall", "f1")},
        "rules": {r: {"hits": hits[r], "false_positives": false_pos[r]} for r in sorted(hits)},
        "errors": errors,
    }
