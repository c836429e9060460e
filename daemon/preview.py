"""`drafts preview` and `drafts check`: what the drafts say, for whoever changes templates or rules.

preview writes one HTML page per message (the inquiry beside its draft, placeholders and unsure values marked,
the decisions and their reasons) and an index. check measures, on a labelled corpus, what a draft must never do:
commit the seller on mail labelled invalid, ask for something the buyer gave, answer in another language than
the buyer's where templates exist, show a confirmed value cut inside a word.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from daemon.draft_context import TEMPLATE_LANGS, reply_language
from daemon.evaluate import load_corpus, record_bytes
from daemon.pipeline import analyse
from daemon.requirements import cut_mid_word
from daemon.toolkit import Toolkit
from extractors.core.errors import ConfigError
from extractors.core.model import Assessment, MessageKey, ParsedMessage, RawMessage

# replies that commit the seller: a price, an order, a sample sent
COMMITTING = ("order_confirmation", "precise_quote", "range_quote", "sample_accept", "repeat_order")
_MARK = regex.compile(r"\[\[[^\[\]\n]{1,300}\]\]")
_WORD = regex.compile(r"[\p{L}\p{N}]")


@dataclass
class Source:
    """One message to preview: its name, bytes, and its corpus record when it comes from a labelled corpus."""

    name: str
    data: bytes
    record: dict[str, Any] | None = None


def sources(paths: list[Path]) -> Iterator[Source]:
    """The messages of .eml files, folders of them, and labelled-corpus JSONL files (or folders of them)."""
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".eml", ".jsonl"))
            if not files:
                raise ConfigError(f"{path}: no .eml or .jsonl file in this folder")
            yield from sources(files)
        elif path.suffix == ".jsonl":
            for rec in load_corpus(path):
                yield Source(f"{path.stem}-{rec.get('id', '')}", record_bytes(rec), rec)
        else:
            try:
                yield Source(path.stem, path.read_bytes())
            except OSError as e:
                raise ConfigError(f"{path}: cannot read: {e.strerror}") from e


def _draft_parts(data: bytes) -> tuple[str, str]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    text = html_part = ""
    for part in msg.walk():
        if part.get_filename() or part.is_multipart():
            continue
        if part.get_content_type() == "text/plain" and not text:
            text = str(part.get_content())
        elif part.get_content_type() == "text/html" and not html_part:
            html_part = str(part.get_content())
    return text, html_part


@dataclass
class Row:
    name: str
    subject: str
    language: str
    reply_language: str
    action: str
    placeholders: int
    checks: int
    page: str


def _page(src: Source, parsed: ParsedMessage, a: Assessment, draft_html: str, draft_text: str, reasons: dict[str, str]) -> str:
    inquiry = html.escape(parsed.text or parsed.full_text)
    facts = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in reasons.items())
    signals = "".join(f"<li>{html.escape(s.name)} ({html.escape(s.rule)}): {html.escape(s.reason)}</li>" for s in a.checklist.signals)
    found = "".join(
        f"<li><b>{html.escape(item)}</b>: {html.escape(f.evidence[:160])} <small>({html.escape(f.rule)}, {f.confidence:.2f})</small></li>"
        for item, f in a.checklist.items if f is not None
    )
    draft = (f'<iframe style="width:100%;height:70vh;border:1px solid #ccc" srcdoc="{html.escape(draft_html)}"></iframe>'
             if draft_html else f"<p><i>No draft ({html.escape(a.action)}).</i></p>")
    head = f"{html.escape(parsed.subject or '(no subject)')} &mdash; {html.escape(parsed.from_name)} &lt;{html.escape(parsed.from_addr)}&gt;"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(src.name) + "</title></head>"
        "<body style='font-family:Arial,sans-serif;font-size:13px;margin:1em'>"
        f"<p><a href='index.html'>index</a> &middot; {html.escape(src.name)} &middot; action <b>{html.escape(a.action)}</b></p>"
        f"<h3>{head}</h3><div style='display:flex;gap:1em'>"
        f"<div style='flex:1;min-width:0'><h4>Inquiry</h4><pre style='white-space:pre-wrap;background:#f6f6f6;padding:.5em'>{inquiry}</pre>"
        f"<h4>Found</h4><ul>{found}</ul><h4>Signals</h4><ul>{signals}</ul><h4>Decisions</h4><ul>{facts}</ul></div>"
        f"<div style='flex:1.3;min-width:0'><h4>Draft</h4>{draft}<details><summary>text part</summary>"
        f"<pre style='white-space:pre-wrap'>{html.escape(draft_text)}</pre></details></div></div></body></html>"
    )


def preview(paths: list[Path], kit: Toolkit, out: Path) -> list[Row]:
    """Write a page per message and index.html into `out`; return the index rows."""
    assert kit.drafter is not None, "preview needs the templates"
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for n, src in enumerate(sources(paths), 1):
        parsed, a = analyse(RawMessage(MessageKey("preview", "-", 1, n), src.data), kit)
        draft = kit.drafter.draft(parsed, a, kit.rules_version)
        text, body = _draft_parts(draft.data) if draft else ("", "")
        page = f"{n:04d}-{regex.sub(r'[^A-Za-z0-9_.-]+', '_', src.name)[:60]}.html"
        (out / page).write_text(_page(src, parsed, a, body, text, dict(a.reasons)), encoding="utf-8")
        marks = _MARK.findall(text.split("\n> ")[0])
        rows.append(Row(src.name, parsed.subject, parsed.language, reply_language(parsed, a.checklist.language) if draft else "",
                        a.action, len(marks), sum(m.startswith("[[check:") for m in marks), page))
    (out / "index.html").write_text(_index(rows), encoding="utf-8")
    return rows


def _index(rows: list[Row]) -> str:
    counts = Counter(r.action for r in rows)
    summary = ", ".join(f"{k} {v}" for k, v in counts.most_common())
    body = "".join(
        f"<tr><td><a href='{r.page}'>{html.escape(r.name)}</a></td><td>{html.escape(r.subject[:80])}</td><td>{r.language}</td>"
        f"<td>{r.reply_language}</td><td>{r.action}</td><td>{r.placeholders}</td><td>{r.checks}</td></tr>" for r in rows
    )
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Draft preview</title></head>"
            "<body style='font-family:Arial,sans-serif;font-size:13px'>"
            f"<h2>{len(rows)} messages</h2><p>{html.escape(summary)}</p><table border='1' cellpadding='3' style='border-collapse:collapse'>"
            "<tr><th>message</th><th>subject</th><th>language</th><th>reply in</th><th>action</th><th>placeholders</th>"
            f"<th>values to check</th></tr>{body}</table></body></html>")


@dataclass
class CheckResult:
    """The acceptance figures of `drafts check` on a labelled corpus."""

    records: int = 0
    drafted: int = 0
    invalid: int = 0
    invalid_committed: list[str] = field(default_factory=list)
    invalid_drafted: int = 0
    questions: int = 0
    questions_given: list[str] = field(default_factory=list)
    language_drafts: int = 0
    language_wrong: list[str] = field(default_factory=list)
    values: int = 0
    values_cut: list[str] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)

    def failures(self) -> list[str]:
        out = []
        for name, found in (("draft committing the seller on mail labelled invalid", self.invalid_committed),
                            ("follow-up question asking for an item the buyer gave", self.questions_given),
                            ("draft not in the buyer's language", self.language_wrong),
                            ("confirmed value cut inside a word", self.values_cut)):
            out += [f"{name}: {x}" for x in found]
        return out

    def as_json(self) -> dict[str, Any]:
        return {"records": self.records, "drafted": self.drafted, "invalid": self.invalid,
                "invalid_drafted": self.invalid_drafted, "invalid_committed": len(self.invalid_committed),
                "questions": self.questions, "questions_for_given_items": len(self.questions_given),
                "drafts_in_template_languages": self.language_drafts, "drafts_in_another_language": len(self.language_wrong),
                "confirmed_values": self.values, "confirmed_values_cut": len(self.values_cut),
                "actions": dict(self.actions.most_common()), "failures": self.failures()}


def _cut_values(ctx: dict[str, Any], parsed: ParsedMessage) -> tuple[int, list[str]]:
    """(confirmed values, those that stand in the buyer's text only as part of a longer word)."""
    sources = [parsed.text, parsed.subject, parsed.form]
    shown = [c["value"] for c in ctx["confirmed"] if c["sure"]]
    shown += [v for row in ctx["lines"] for k, v in row.items() if k in ("parameters", "quantity", "target_price", "price_basis")
              and isinstance(v, str) and v]
    count, cut = 0, []
    for value in shown:
        if "[[" in value:
            continue
        count += 1
        spots = [(s, i) for s in sources for i in _find_all(s, value)]
        if spots and all(cut_mid_word(s, i, i + len(value)) for s, i in spots):
            cut.append(value)
    return count, cut


def _find_all(text: str, value: str) -> list[int]:
    out, start = [], 0
    while (i := text.find(value, start)) >= 0:
        out.append(i)
        start = i + 1
    return out


def check(paths: list[Path], kit: Toolkit) -> CheckResult:
    """The acceptance figures of the drafts on labelled corpora."""
    assert kit.drafter is not None, "check needs the templates"
    r = CheckResult()
    for n, src in enumerate(sources(paths), 1):
        rec = src.record or {}
        parsed, a = analyse(RawMessage(MessageKey("check", "-", 1, n), src.data), kit)
        draft = kit.drafter.draft(parsed, a, kit.rules_version)
        r.records += 1
        r.actions[a.action] += 1
        if rec.get("invalid"):
            r.invalid += 1
            r.invalid_drafted += draft is not None and a.action != "verify"
            if a.action in COMMITTING:
                r.invalid_committed.append(f"{src.name} ({a.action})")
        if draft is None or a.action == "verify":
            continue
        r.drafted += 1
        labels = rec.get("labels") or {}
        ctx = kit.drafter.context(parsed, a)
        asked = ctx["asked_items"]
        r.questions += len(asked)
        r.questions_given += [f"{src.name}: {q} (buyer gave {labels[q]!r})" for q in asked if labels.get(q)]
        lang = rec.get("language")
        if lang in TEMPLATE_LANGS:
            r.language_drafts += 1
            if ctx["lang"] != lang:
                r.language_wrong.append(f"{src.name} ({lang} answered in {ctx['lang']})")
        count, cut = _cut_values(ctx, parsed)
        r.values += count
        r.values_cut += [f"{src.name}: {v!r}" for v in cut]
    return r


def report(r: CheckResult) -> str:
    j = r.as_json()
    lines = [
        f"{j['records']} records, {j['drafted']} drafts ({', '.join(f'{k} {v}' for k, v in j['actions'].items())})",
        f"invalid records: {j['invalid']}; drafted {j['invalid_drafted']}; committing the seller {j['invalid_committed']}",
        f"follow-up questions: {j['questions']}; asking for an item the buyer gave {j['questions_for_given_items']}",
        f"drafts for buyers writing a template language: {j['drafts_in_template_languages']}; in another language "
        f"{j['drafts_in_another_language']}",
        f"confirmed values shown: {j['confirmed_values']}; cut inside a word {j['confirmed_values_cut']}",
    ]
    return "\n".join(lines + j["failures"])


def dump(r: CheckResult) -> str:
    return json.dumps(r.as_json(), ensure_ascii=False)
