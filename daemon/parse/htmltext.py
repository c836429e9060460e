"""HTML mail to readable text with inscriptis, quoted history (<blockquote>, Gmail/Outlook quote blocks) removed."""

from __future__ import annotations

import lxml.html
from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from lxml import etree

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


def to_text(html: str) -> str:
    """Visible text of an HTML body without quoted history; empty for empty input."""
    if not html.strip():
        return ""
    tree = _tree(html)
    if tree is None:
        return ""
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
    return get_text(lxml.html.tostring(tree, encoding="unicode"), _CONFIG).strip()


def links(html: str) -> list[str]:
    if not html.strip():
        return []
    tree = _tree(html)
    if tree is None:
        return []
    return [href for href in tree.xpath("//a/@href") if isinstance(href, str) and href.startswith(("http:", "https:"))]
