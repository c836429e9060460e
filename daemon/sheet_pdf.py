"""The printable trade-show checklist as a PDF (fpdf2): one A4 page per language with the same content as the HTML
sheet (title, hint, the visitor's fields, the numbered items with drawn tick boxes, a notes box), each language in
a TrueType font that covers it (daemon/fonts.py), Arabic shaped with HarfBuzz and laid out right to left."""

from __future__ import annotations

import logging

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from daemon.fonts import Face, FontFinder
from daemon.sheet import RTL, Page

PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 15.0  # A4, mm
WIDTH = PAGE_W - 2 * MARGIN
TITLE_PT, TEXT_PT, SMALL_PT = 20.0, 11.0, 10.0
BOX, NUMBER_W, NAME_W = 4.5, 9.0, 58.0  # tick box side, number column, field and item name column (mm)
ROW_MAX, NOTES_MIN, GAP = 9.5, 25.0, 5.0
GREY, LINE_GREY = 68, 153


def page_text(page: Page) -> str:
    """Every character the page prints (what its font must cover)."""
    _, w, names = page
    return " ".join([str(w["title"]), str(w["hint"]), str(w["notes"]), ":0123456789",
                     *map(str, w["fields"]), *names])  # type: ignore[call-overload]


def write_pdf(sheet: list[Page], fonts: FontFinder) -> bytes:
    """The whole document in memory: every page's font is found before anything is drawn, so a language without a
    font stops it (ConfigError) before a byte is written."""
    faces = {page[0]: fonts.face(page[0], page_text(page)) for page in sheet}
    # fontTools' subsetter warns of each table it drops (a CJK collection's bitmap strikes): not the user's business
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title(str(sheet[0][1]["title"]))
    pdf.set_creator("inquiry-triage checklist print")
    families: dict[Face, str] = {}
    for face in faces.values():
        if face not in families:
            families[face] = f"F{len(families)}"
            pdf.add_font(families[face], fname=face.path, collection_font_number=face.index)
    for page in sheet:
        _Page(pdf, families[faces[page[0]]], page[0] in RTL).draw(page)
    return bytes(pdf.output())


class _Page:
    """One language's page; x positions are given left to right and mirrored on a right-to-left page."""

    def __init__(self, pdf: FPDF, family: str, rtl: bool) -> None:
        self.pdf, self.family, self.rtl = pdf, family, rtl

    def draw(self, page: Page) -> None:
        lang, w, names = page
        pdf = self.pdf
        pdf.add_page()
        if self.rtl:
            pdf.set_text_shaping(True, direction="rtl", script="arab", language=lang)
        else:
            pdf.set_text_shaping(True, direction="ltr")
        pdf.set_text_color(0)
        self._text(MARGIN, MARGIN, WIDTH, 11, str(w["title"]), TITLE_PT)
        pdf.set_text_color(GREY)
        pdf.set_font(self.family, size=TEXT_PT)
        pdf.set_xy(MARGIN, MARGIN + 13)
        pdf.multi_cell(WIDTH, 5.5, str(w["hint"]), align=Align.R if self.rtl else Align.L,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0)
        fields = [str(f) for f in w["fields"]]  # type: ignore[attr-defined]
        top = pdf.get_y() + GAP
        rows = len(fields) + len(names)
        room = PAGE_H - MARGIN - top - GAP - NOTES_MIN - 8
        row = min(ROW_MAX, room / rows)
        y = top
        for field in fields:
            self._row(y, row, NAME_W, field)
            y += row
        y += GAP
        for n, name in enumerate(names, 1):
            self._tick_box(MARGIN + 1, y + (row - BOX) / 2)
            pdf.set_text_color(GREY)
            self._text(MARGIN + 8, y, NUMBER_W, row, str(n), SMALL_PT)
            pdf.set_text_color(0)
            self._row(y, row, NAME_W, name, indent=8 + NUMBER_W)
            y += row
        y += GAP + 2
        pdf.set_draw_color(LINE_GREY)
        pdf.set_line_width(0.3)
        pdf.rect(MARGIN, y, WIDTH, PAGE_H - MARGIN - y)
        self._text(MARGIN + 2, y + 1, WIDTH - 4, 7, f"{w['notes']}:", TEXT_PT)

    def _row(self, y: float, h: float, name_w: float, name: str, indent: float = 0) -> None:
        """A name in its column and the row's writing line under the whole width, as the HTML table's border."""
        self._text(MARGIN + indent, y, name_w, h, name, TEXT_PT)
        self.pdf.set_draw_color(LINE_GREY)
        self.pdf.set_line_width(0.3)
        self.pdf.line(MARGIN, y + h, MARGIN + WIDTH, y + h)

    def _tick_box(self, x: float, y: float) -> None:
        self.pdf.set_draw_color(0)
        self.pdf.set_line_width(0.5)
        self.pdf.rect(self._x(x, BOX), y, BOX, BOX)

    def _text(self, x: float, y: float, w: float, h: float, text: str, size: float) -> None:
        """One line in a cell; a name too long for its cell is set smaller (not below 7 pt) rather than cut."""
        pdf = self.pdf
        pdf.set_font(self.family, size=size)
        while pdf.get_string_width(text) > w - 1 and size > 7:
            size -= 0.5
            pdf.set_font(self.family, size=size)
        pdf.set_xy(self._x(x, w), y)
        pdf.cell(w, h, text, align=Align.R if self.rtl else Align.L)

    def _x(self, x: float, w: float) -> float:
        return PAGE_W - x - w if self.rtl else x
