"""HTML mail to readable text with inscriptis, quoted history (<blockquote>, Gmail/Outlook quote blocks) removed."""

from __future__ import annotations

import lxml.html
from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from lxml import etree

from extractors.core.model import Table

MAX_TABLES = 20
MAX_TABLE_ROWS = 200
_CONFIG = ParserConfig(display_links=False, display_anchors=False)
_QUOTE_XPATH = (
    "//blockquote | //div[contains(concat(' ', @class, ' '), ' gmail_quote ')]"
    " | //div[@id='divRplyFwdMsg'] | //div[@id='appendonsend'] | //*[@class='moz-cite-prefix']"
)


def _tree(html: str) -> etree._Element | None:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _visible(html: str) -> etree._Element | None:
    """The HTML body's tree without quoted history, scripts and styles; None for empty or unreadable input."""
    if not html.strip():
        return None
    tree = _tree(html)
    if tree is None:
        return None
    for node in tree.xpath(_QUOTE_XPATH):
        # an Outlook reply header div: drop it and everything after it in its parent
        parent = node.getparent()
        if parent is None:
            continue
        if node.get("id") in ("divRplyFwdMsg", "appendonsend"):
            for sibling in list(node.itersiblings()):
                parent.remove(sibling)
        parent.remove(node)
    for node in tree.xpath("//script | //style | //head"):
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)
    return tree


def to_text(html: str) -> str:
    """Visible text of an HTML body without quoted history; empty for empty input."""
    tree = _visible(html)
    if tree is None:
        return ""
    return get_text(lxml.html.tostring(tree, encoding="unicode"), _CONFIG).strip()


def tables(html: str) -> tuple[Table, ...]:
    """The tables of an HTML body (quoted history left out), each row's cells as text; a cell spanning columns
    fills each of them. Tables that hold tables (a layout) give only their inner ones."""
    tree = _visible(html)
    if tree is None:
        return ()
    out: list[Table] = []
    for node in tree.iter("table"):
        if len(out) >= MAX_TABLES:
            break
        if node.find(".//table") is not None:
            continue
        rows: list[tuple[str, ...]] = []
        for tr in node.iter("tr"):
            cells: list[str] = []
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                text = " ".join(cell.text_content().split())
                try:
                    span = max(1, min(int(cell.get("colspan") or 1), 20))
                except ValueError:
                    span = 1
                cells += [text] * span
            if any(cells):
                rows.append(tuple(cells))
            if len(rows) >= MAX_TABLE_ROWS:
                break
        if len(rows) >= 2:
            name = f"table {len(out) + 1}"
            out.append(Table("", name, tuple(rows), tuple(f"{name}, row {n}" for n in range(1, len(rows) + 1))))
    return tuple(out)


def links(html: str) -> list[str]:
    if not html.strip():
        return []
    tree = _tree(html)
    if tree is None:
        return []
    return [href for href in tree.xpath("//a/@href") if isinstance(href, str) and href.startswith(("http:", "https:"))]
