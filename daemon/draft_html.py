"""The HTML part of a draft, built from its text part, so that the two never say different things.

The text of a reply is written once per language and action (`reply_templates/<lang>/<action>.txt.j2`); its HTML
part follows from it: paragraphs, bullet and numbered lists, a heading underlined with --- or ===, tables added
with `tables.add(...)`, every `[[placeholder]]` highlighted so that the salesperson cannot miss it, and
right-to-left for Arabic. Every piece of text is escaped. A language folder may still hold an
`<action>.html.j2` of its own, which is then used instead.
"""

from __future__ import annotations

from typing import Any

import markupsafe
import regex

RTL = {"ar", "he", "fa", "ur"}
_BULLET = regex.compile(r"^\s*[-•]\s+(.*)$")
_NUMBERED = regex.compile(r"^\s*\d{1,2}[.)]\s+(.*)$")
_RULE = regex.compile(r"^\s*(?:-{3,}|={3,})\s*$")
_MARK = regex.compile(r"\[\[[^\[\]\n]{1,300}\]\]")
MARK_STYLE = "background:#fff176;color:#000;padding:0 2px"


class Tables:
    """Tables a template adds while it renders: the text part gets a numbered list, the HTML part a table."""

    def __init__(self) -> None:
        self.html: dict[str, markupsafe.Markup] = {}

    def add(self, headers: list[str], rows: list[list[Any]], colon: str = ": ") -> str:
        """The rows as text (one numbered entry per row, "header: value" below it); remembered as a table."""
        rows = [[str(c or "").strip() for c in row] for row in rows]
        keep = [i for i in range(len(headers)) if i == 0 or any(row[i] for row in rows)]
        lines = []
        for n, row in enumerate(rows, 1):
            lines.append(f"{n}. {row[0]}" if len(rows) > 1 else row[0])
            lines += [f"   {headers[i]}{colon}{row[i]}" for i in keep[1:] if row[i]]
        text = "\n".join(lines)
        head = markupsafe.Markup("").join(markupsafe.Markup("<th style=\"{}\">{}</th>").format(_CELL, headers[i]) for i in keep)
        body = markupsafe.Markup("").join(
            markupsafe.Markup("<tr>{}</tr>").format(markupsafe.Markup("").join(
                markupsafe.Markup("<td style=\"{}\">{}</td>").format(_CELL, _marked(row[i])) for i in keep))
            for row in rows
        )
        self.html[text] = markupsafe.Markup(
            '<table style="border-collapse:collapse;margin:.5em 0"><tr>{}</tr>{}</table>'
        ).format(head, body)
        return text


_CELL = "border:1px solid #ccc;padding:3px 8px;text-align:start;vertical-align:top"


def _marked(text: str) -> markupsafe.Markup:
    """The text escaped, each [[placeholder]] highlighted."""
    out, pos = [], 0
    for m in _MARK.finditer(text):
        out.append(markupsafe.escape(text[pos:m.start()]))
        out.append(markupsafe.Markup('<mark style="{}">{}</mark>').format(MARK_STYLE, m.group()))
        pos = m.end()
    out.append(markupsafe.escape(text[pos:]))
    return markupsafe.Markup("").join(out)


def _block(lines: list[str]) -> markupsafe.Markup:
    """One block of lines: runs of bullet or numbered lines become lists, other lines a paragraph."""
    out: list[markupsafe.Markup] = []
    run: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal run, kind
        if not run:
            return
        if kind == "p":
            out.append(markupsafe.Markup("<p>{}</p>").format(markupsafe.Markup("<br>\n").join(_marked(x) for x in run)))
        else:
            tag = "ul" if kind == "ul" else "ol"
            items = markupsafe.Markup("\n").join(markupsafe.Markup("<li>{}</li>").format(_marked(x)) for x in run)
            out.append(markupsafe.Markup("<{0}>\n{1}\n</{0}>").format(markupsafe.Markup(tag), items))
        run, kind = [], ""

    for i, line in enumerate(lines):
        if _RULE.match(line) and i > 0:
            continue
        if i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            flush()
            out.append(markupsafe.Markup("<p><strong>{}</strong></p>").format(_marked(line.strip())))
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        this, text = ("ul", bullet.group(1)) if bullet else ("ol", numbered.group(1)) if numbered else ("p", line.rstrip())
        if this != kind:
            flush()
            kind = this
        run.append(text)
    flush()
    return markupsafe.Markup("\n").join(out)


def to_html(text: str, lang: str, tables: Tables | None = None) -> str:
    """The HTML part for a reply's text part."""
    tables = tables or Tables()
    blocks: list[markupsafe.Markup] = []
    chunk: list[str] = []
    pending = text.replace("\r\n", "\n")
    # a table's text may hold no blank line; find each one whole before splitting into blocks
    for table_text, html in tables.html.items():
        pending = pending.replace(table_text, f"\n\n\x00{len(blocks)}\x00\n\n", 1)
        blocks.append(html)
    parts: list[markupsafe.Markup] = []
    for raw in regex.split(r"\n\s*\n", pending):
        stripped = raw.strip("\n")
        if not stripped.strip():
            continue
        m = regex.fullmatch(r"\x00(\d+)\x00", stripped.strip())
        if m:
            parts.append(blocks[int(m.group(1))])
            continue
        chunk = stripped.split("\n")
        parts.append(_block(chunk))
    direction = "rtl" if lang in RTL else "ltr"
    body = markupsafe.Markup("\n").join(parts)
    return str(markupsafe.Markup(
        '<!DOCTYPE html>\n<html lang="{}" dir="{}"><head><meta charset="utf-8"></head>\n'
        '<body dir="{}" style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5">\n{}\n</body></html>\n'
    ).format(lang, direction, direction, body))


def highlight(html: str) -> str:
    """Highlight the [[placeholders]] of an HTML part written by its own template (text outside tags only)."""
    return regex.sub(r"(?<=>)[^<]+", lambda m: _MARK.sub(
        lambda p: f'<mark style="{MARK_STYLE}">{p.group()}</mark>', m.group()), html)
