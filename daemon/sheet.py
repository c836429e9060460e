"""The printable trade-show checklist: the first N checklist items with tick boxes, in each template language
(Markdown or a self-contained HTML page with one printed page per language; the PDF is written by
daemon/sheet_pdf.py from the same pages)."""

from __future__ import annotations

import html
import tomllib
from pathlib import Path

from daemon.draft_context import TEMPLATE_LANGS
from daemon.drafting import Labels
from extractors.core.errors import ConfigError
from extractors.core.model import ITEM_IDS

FORMATS = ("html", "md", "pdf")
RTL = ("ar",)


def load_words(rules_dir: Path) -> dict[str, dict[str, object]]:
    """The page's words per language (rules/sheet.toml)."""
    path = rules_dir / "sheet.toml"
    try:
        words = tomllib.loads(path.read_text(encoding="utf-8")).get("sheet", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the checklist's words: {e}") from e
    if "en" not in words:
        raise ConfigError(f"{path}: [sheet.en] missing; English is the fallback of every language")
    return words


def languages(asked: str | None) -> tuple[str, ...]:
    """The languages to print: all template languages, or a comma-separated choice of them."""
    if not asked:
        return TEMPLATE_LANGS
    chosen = tuple(lang.strip() for lang in asked.split(",") if lang.strip())
    unknown = [lang for lang in chosen if lang not in TEMPLATE_LANGS]
    if unknown:
        raise ConfigError(f"--lang {', '.join(unknown)}: not a template language; use any of {', '.join(TEMPLATE_LANGS)}")
    return chosen


Page = tuple[str, dict[str, object], list[str]]
"""One language's page: the language, its words (rules/sheet.toml over English) and the items' printed names."""


def pages(count: int, langs: tuple[str, ...], labels: Labels, words: dict[str, dict[str, object]]) -> list[Page]:
    """The pages of the checklist of the first `count` items, one per language of `langs`."""
    if not 1 <= count <= len(ITEM_IDS):
        raise ConfigError(f"--items {count}: choose 1 to {len(ITEM_IDS)} (12 is the condensed trade-show list)")
    items = ITEM_IDS[:count]
    return [(lang, {**words["en"], **words.get(lang, {})}, [labels.label(i, lang) for i in items]) for lang in langs]


def render(fmt: str, count: int, langs: tuple[str, ...], labels: Labels, words: dict[str, dict[str, object]]) -> str:
    """The checklist of the first `count` items in every language of `langs`, as Markdown or HTML."""
    if fmt not in ("html", "md"):
        raise ValueError(f"{fmt}: render writes html or md; daemon.sheet_pdf writes pdf")
    return (_markdown if fmt == "md" else _html)(pages(count, langs, labels, words))


def _markdown(sheet: list[Page]) -> str:
    out: list[str] = []
    for lang, w, names in sheet:
        out += [f"# {w['title']} ({lang})", "", str(w["hint"]), ""]
        out += [f"- {field}: ______________________" for field in w["fields"]]  # type: ignore[attr-defined]
        out += [""] + [f"- [ ] {n}. {name}: ______________________" for n, name in enumerate(names, 1)]
        out += ["", f"{w['notes']}:", "", "______________________________________________", "", ""]
    return "\n".join(out).rstrip() + "\n"


_STYLE = """body{font-family:Arial,'Noto Sans','Noto Sans CJK SC','Noto Naskh Arabic',sans-serif;margin:0}
section{padding:16mm;page-break-after:always;break-after:page}section:last-child{page-break-after:auto}
h1{font-size:20pt;margin:0 0 4mm}p{margin:0 0 6mm;color:#444}
table{border-collapse:collapse;width:100%}td{padding:2.5mm 1mm;border-bottom:1px solid #999;vertical-align:bottom}
td.box{width:8mm}span.box{display:inline-block;width:4.5mm;height:4.5mm;border:1.5px solid #000}
td.n{width:8mm;color:#444}td.name{width:55mm}.notes{height:30mm;border:1px solid #999;margin-top:6mm;padding:2mm}
@page{size:A4;margin:0}"""


def _html(sheet: list[Page]) -> str:
    e = html.escape
    parts = ['<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>', e(str(sheet[0][1]["title"])),
             f"</title><style>{_STYLE}</style></head><body>\n"]
    for lang, w, names in sheet:
        direction = ' dir="rtl"' if lang in RTL else ""
        parts.append(f'<section lang="{lang}"{direction}><h1>{e(str(w["title"]))}</h1><p>{e(str(w["hint"]))}</p>')
        parts.append("<table>" + "".join(f'<tr><td class="name">{e(str(f))}</td><td></td></tr>'
                                         for f in w["fields"]) + "</table><br>")  # type: ignore[attr-defined]
        parts.append("<table>" + "".join(
            f'<tr><td class="box"><span class="box" role="checkbox" aria-checked="false"></span></td><td class="n">{n}</td>'
            f'<td class="name">{e(name)}</td><td></td></tr>' for n, name in enumerate(names, 1)) + "</table>")
        parts.append(f'<div class="notes">{e(str(w["notes"]))}:</div></section>\n')
    parts.append("</body></html>\n")
    return "".join(parts)
