"""`eval`: extraction scored on labelled corpora (JSONL): per-item precision/recall/F1, micro-F1 overall, by file and
by language, value accuracy, invalid detection, per-rule hits, and every miss and false alarm.

A found value counts as right (value accuracy) when its evidence and value together hold at least half of the
label's words; words are runs of letters and digits (a number keeps its separators: "5,000"), and every Han, kana or Hangul character is a word of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections import Counter
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import regex

from daemon.pipeline import analyse
from daemon.toolkit import Toolkit
from extractors.core.errors import ConfigError
from extractors.core.model import ITEM_IDS, Finding, MessageKey, RawMessage

_DATE = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
_WORD = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|\p{N}+(?:[.,]\p{N}+)*|[\p{L}\p{N}]+")
_REPLY_TO = regex.compile(r"\s*\(Reply-To:\s*([^()]+)\)\s*$", regex.I)
MIN_LANGUAGE_RECORDS = 5  # languages with fewer records are listed but not held to a floor


def record_bytes(rec: dict[str, Any]) -> bytes:
    """The record as an RFC 5322 message: its `raw`, else built from from/subject/body."""
    if rec.get("raw"):
        return str(rec["raw"]).encode("utf-8", "surrogateescape")
    msg = EmailMessage()
    sender = (rec.get("from") or "").replace("\n", " ").strip()
    reply_to = _REPLY_TO.search(sender)  # "Name <a@b.c> (Reply-To: d@e.f)": the corpus's way of writing a Reply-To
    if reply_to:
        sender = sender[:reply_to.start()].strip()
    msg["From"] = sender if "@" in sender else (f'"{sender}" <unknown@invalid>' if sender else "unknown@invalid")
    if reply_to:
        msg["Reply-To"] = reply_to.group(1).strip()
    msg["To"] = "sales@example.com"
    msg["Subject"] = (rec.get("subject") or "").replace("\n", " ")
    msg["Date"] = format_datetime(_DATE)
    msg["Message-ID"] = f"<{rec.get('id', 'x')}@corpus.invalid>"
    msg.set_content(rec.get("body") or "", charset="utf-8")
    return msg.as_bytes()


def words(text: str) -> list[str]:
    """The words of a text for value accuracy, casefolded."""
    return _WORD.findall(text.casefold())


def value_right(label: str, finding: Finding) -> bool:
    """True when the finding's evidence and value hold at least half of the label's words."""
    wanted = words(label)
    if not wanted:
        return True
    value = finding.value if isinstance(finding.value, str) else json.dumps(finding.value, ensure_ascii=False, default=str)
    have = Counter(words(f"{finding.evidence} {value}"))
    held = 0
    for w in wanted:
        if have[w] > 0:
            have[w] -= 1
            held += 1
    return 2 * held >= len(wanted)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def corpus_files(paths: Iterable[Path]) -> list[Path]:
    """The JSONL files named, a folder standing for every `*.jsonl` in it."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise ConfigError(f"{path}: no *.jsonl corpus file in this folder")
            out.extend(found)
        else:
            out.append(path)
    return out


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


class _Tally:
    """Counts for one slice of the corpus (all of it, one file, one language)."""

    def __init__(self) -> None:
        self.n = 0
        self.items: dict[str, Counter[str]] = {item: Counter() for item in ITEM_IDS}
        self.invalid: Counter[str] = Counter()
        self.values: Counter[str] = Counter()

    def summary(self, with_items: bool = False) -> dict[str, Any]:
        c = self.items.values()
        micro = _prf(sum(x["tp"] for x in c), sum(x["fp"] for x in c), sum(x["fn"] for x in c))
        found = self.values["right"] + self.values["wrong"]
        out: dict[str, Any] = {
            "n": self.n,
            "micro": {k: micro[k] for k in ("precision", "recall", "f1")},
            "value_accuracy": round(self.values["right"] / found, 4) if found else 1.0,
            "invalid": {k: v for k, v in _prf(self.invalid["tp"], self.invalid["fp"], self.invalid["fn"]).items()},
        }
        if with_items:
            out["items"] = {item: _prf(x["tp"], x["fp"], x["fn"]) for item, x in self.items.items()}
        return out


def evaluate(records: list[dict[str, Any]], kit: Toolkit, files: list[str] | None = None) -> dict[str, Any]:
    """Score every record; `files` names the corpus file of each record (for the per-file figures)."""
    total = _Tally()
    by_file: dict[str, _Tally] = {}
    by_lang: dict[str, _Tally] = {}
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
        file = files[i] if files else ""
        tallies = [total, by_file.setdefault(file, _Tally()), by_lang.setdefault(str(rec.get("language") or "?"), _Tally())]
        for t in tallies:
            t.n += 1
        for item in ITEM_IDS:
            label = labels.get(item)
            finding = a.checklist.get(item)
            key = "tp" if label and finding else "fp" if finding else "fn" if label else "tn"
            right = None
            if key == "tp":
                assert finding is not None
                right = value_right(str(label), finding)
            for t in tallies:
                t.items[item][key] += 1
                if right is not None:
                    t.values["right" if right else "wrong"] += 1
            if key in ("fp", "fn") or right is False:
                errors.append({
                    "file": file, "id": rec.get("id"), "language": rec.get("language"), "item": item,
                    "kind": "cut" if right is False else key, "label": label,
                    "evidence": finding.evidence if finding is not None else None,
                    "value": finding.value if finding is not None else None,
                    "rule": finding.rule if finding is not None else None,
                })  # fmt: skip
        got_inv = a.checklist.signal("invalid")
        truth_inv = bool(rec.get("invalid"))
        kind = "tp" if truth_inv and got_inv else "fp" if got_inv else "fn" if truth_inv else "tn"
        for t in tallies:
            t.invalid[kind] += 1
        if kind in ("fp", "fn"):
            signal = next((s for s in a.checklist.signals if s.name == "invalid"), None)
            errors.append({"file": file, "id": rec.get("id"), "language": rec.get("language"), "item": "invalid",
                           "kind": kind, "label": truth_inv, "evidence": signal.reason if signal else None,
                           "value": None, "rule": signal.rule if signal else None})
    out = total.summary(with_items=True)
    out["invalid"] = {k: out["invalid"][k] for k in ("precision", "recall", "f1")}
    out["files"] = {name: t.summary() for name, t in by_file.items()} if files else {}
    out["languages"] = {lang: t.summary() for lang, t in sorted(by_lang.items(), key=lambda kv: (-kv[1].n, kv[0]))}
    out["rules"] = {r: {"hits": hits[r], "false_positives": false_pos[r]} for r in sorted(hits)}
    out["errors"] = errors
    return out


def check_floors(result: dict[str, Any], floors_file: Path) -> list[str]:
    """Every floor of the floors file that the result falls below, as a sentence (empty: all held)."""
    try:
        floors = tomllib.loads(floors_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{floors_file}: cannot read the floors: {e}") from e
    known = {"micro_f1", "value_accuracy", "invalid_precision", "invalid_recall", "language_f1"}
    unknown = set(floors) - known
    if unknown:
        raise ConfigError(f"{floors_file}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    failed = []
    measured = {
        "micro_f1": result["micro"]["f1"],
        "value_accuracy": result["value_accuracy"],
        "invalid_precision": result["invalid"]["precision"],
        "invalid_recall": result["invalid"]["recall"],
    }
    for key, value in measured.items():
        if key in floors and value < floors[key]:
            failed.append(f"{key} {value:.4f} is below the floor {floors[key]}")
    if "language_f1" in floors:
        for lang, s in result["languages"].items():
            if s["n"] >= MIN_LANGUAGE_RECORDS and s["micro"]["f1"] < floors["language_f1"]:
                failed.append(f"micro-F1 of {lang} ({s['n']} records) {s['micro']['f1']:.4f} is below the floor "
                              f"{floors['language_f1']}")
    return failed
