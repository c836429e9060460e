"""How the seller changed our draft before sending it: per reply, the placeholders filled (with what kind of value),
the sentences deleted and added and the sections rewritten; over many replies, what to change in the templates.

Pure functions: the store keeps each draft's text and each sent reply's comparison; `edits report` adds them up.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import regex

_PLACEHOLDER = regex.compile(r"\[\[(.+?)\]\]")
_QUOTE_HEAD = regex.compile(r"^.{0,200}\b(?:wrote|schrieb|escribió|a écrit|escreveu|написал|yazdı|ha scritto|写道|كتب)\s*:?\s*$")
_SENTENCE = regex.compile(r"(?<=[.!?。！？])\s+|\n")
_MONEY = regex.compile(r"(?:USD|EUR|GBP|CNY|RMB|JPY|US\$|[$€£¥])\s?\d|\d[\d.,]*\s?(?:USD|EUR|GBP|CNY|RMB|JPY)", regex.I)
_DURATION = regex.compile(r"\d+\s*(?:-\s*\d+\s*)?(?:days?|weeks?|months?|working days|天|周|días|semanas|jours|Tage|Wochen)", regex.I)
_DATE = regex.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d", regex.I)


def plain_text(data: bytes) -> str:
    """The text of a message (its text/plain part, else its HTML as text) without the quoted message below it."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    part = msg.get_body(("plain", "html"))  # type: ignore[attr-defined]
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        from inscriptis import get_text

        text = get_text(text)
    return without_quote(text)


def without_quote(text: str) -> str:
    """The text above the quoted message ("On ..., X wrote:" and the "> " lines)."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for n, line in enumerate(lines):
        following = next((x for x in lines[n + 1:] if x.strip()), "")
        if line.startswith(">") or (_QUOTE_HEAD.match(line.strip()) and following.startswith(">")):
            break
        out.append(line.rstrip())
    return "\n".join(out).strip()


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 1]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in regex.split(r"\n\s*\n", text) if p.strip()]


def value_kind(value: str) -> str:
    """What kind of value filled a placeholder: money, duration, date, number or text."""
    if _MONEY.search(value):
        return "money"
    if _DURATION.search(value):
        return "duration"
    if _DATE.search(value):
        return "date"
    if regex.search(r"\d", value):
        return "number"
    return "text"


def _filled(line: str, sent_lines: list[str]) -> tuple[str, str] | None:
    """(placeholder, what stands in its place in the sent text) for the first placeholder of a draft line."""
    m = _PLACEHOLDER.search(line)
    if m is None:
        return None
    before, after = line[: m.start()].strip(), line[m.end():].strip()
    for sent in sent_lines:
        s = sent.strip()
        if before and not s.startswith(before):
            continue
        if after and not s.endswith(after):
            continue
        if not before and not after:
            return None
        middle = s[len(before): len(s) - len(after) if after else None].strip()
        return m.group(1), middle
    return m.group(1), ""


def compare(draft: str, sent: str) -> dict[str, Any]:
    """How `sent` differs from `draft` (both without the quoted inquiry)."""
    sent_lines = sent.split("\n")
    placeholders = []
    for line in draft.split("\n"):
        found = _filled(line, sent_lines)
        if found is None:
            continue
        name, value = found
        kind = "left as placeholder" if _PLACEHOLDER.search(value) else ("removed" if not value else value_kind(value))
        placeholders.append({"placeholder": name, "kind": kind, "value": value[:200]})
    sent_norm = {_norm(s) for s in _sentences(sent)}
    draft_norm = {_norm(s) for s in _sentences(draft)}
    deleted = [s for s in _sentences(draft) if _norm(s) not in sent_norm and not _PLACEHOLDER.search(s)]
    added = [s for s in _sentences(sent) if _norm(s) not in draft_norm and not _covers_placeholder(s, placeholders)]
    sent_text = _norm(sent)
    rewritten = []
    for p in _paragraphs(draft):
        if _norm(p) in sent_text or _PLACEHOLDER.search(p):
            continue
        if any(_norm(s) in sent_norm for s in _sentences(p)) or _head(p) and _norm(_head(p)) in sent_text:
            rewritten.append(_head(p))
    return {"placeholders": placeholders, "deleted": deleted, "added": added, "rewritten": rewritten,
            "unchanged": _norm(draft) == _norm(sent)}


def _covers_placeholder(sentence: str, placeholders: list[dict[str, Any]]) -> bool:
    return any(p["value"] and p["value"] in sentence for p in placeholders)


def _head(paragraph: str) -> str:
    """A section's name: the first words of its first line."""
    words = paragraph.split("\n")[0].split()
    return " ".join(words[:6])


def report(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per template and language: the replies sent from a draft, how each placeholder was filled (kinds of value),
    the sentences deleted and added (with how many replies did so) and the sections rewritten, most frequent first."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("edits") is not None:
            groups[(r.get("action") or "-", r.get("language") or "-")].append(r["edits"])
    out = []
    for (action, lang), edits in sorted(groups.items()):
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for e in edits:
            for p in e["placeholders"]:
                kinds[p["placeholder"]][p["kind"]] += 1
        out.append({
            "action": action, "language": lang, "replies": len(edits),
            "unchanged": sum(1 for e in edits if e["unchanged"]),
            "placeholders": {name: dict(c.most_common()) for name, c in sorted(kinds.items())},
            "deleted": Counter(s for e in edits for s in set(e["deleted"])).most_common(),
            "added": Counter(s for e in edits for s in set(e["added"])).most_common(),
            "rewritten": Counter(s for e in edits for s in set(e["rewritten"])).most_common(),
        })  # fmt: skip
    return out
