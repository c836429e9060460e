"""Text and tables from one attachment, within limits; runs in the attachment worker (`sandbox`), never in the
daemon.

Spreadsheets (XLSX, XLSB, XLS, ODS) are read by calamine (python-calamine), CSV by the stdlib, PDF text by pypdf,
Word (DOCX) by python-docx. Values only: no formula is computed, no macro, script or external link is run or
followed, no embedded object is opened, no archive is expanded. A ZIP-based file's members are checked before the
file is opened: their number, their declared sizes, and that each unpacks to no more than its declared size.

`read` returns a JSON-ready dict: kind, status (read | skipped | refused), reason, texts (name, text, places),
tables (name, rows, places, columns) and links.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from daemon.parse import filetype
from daemon.parse.charset import decode_bytes

_SPREADSHEETS = ("xlsx", "xlsb", "xls", "ods")
_ZIPPED = ("xlsx", "xlsb", "docx", "ods")
_CELL_CHARS = 1000


@dataclass(frozen=True)
class Limits:
    """What one attachment may cost. The worker process is bounded as a whole too (`sandbox`)."""

    max_bytes: int = 10_000_000  # the attachment as sent
    max_unzipped: int = 100_000_000  # all members of a ZIP-based file, unpacked
    max_members: int = 5_000
    max_pages: int = 100  # PDF
    max_sheets: int = 10
    max_rows: int = 2_000  # per sheet, CSV file or document
    max_cols: int = 60
    max_cells: int = 50_000  # per attachment
    max_area: int = 2_000_000  # the cells a sheet's filled cells span (the grid the spreadsheet reader lays out)
    max_chars: int = 100_000  # text per attachment
    seconds: float = 10.0  # wall clock per attachment
    memory_mb: int = 768  # the worker's address space
    recycle_mb: int = 200  # the worker starts afresh once its resident memory is above this after an attachment


class Refused(Exception):
    """The attachment is not read, for the reason given."""


def result(kind: str, status: str, reason: str, texts: list[dict[str, Any]] | None = None,
           tables: list[dict[str, Any]] | None = None, links: list[str] | None = None) -> dict[str, Any]:
    return {"kind": kind, "status": status, "reason": reason, "texts": texts or [], "tables": tables or [],
            "links": links or []}


def read(data: bytes, filename: str, limits: Limits, charset: str = "") -> dict[str, Any]:
    """Read one attachment; every failure is a refusal with its reason, never an exception."""
    kind = filetype.magic(data, filename)
    if kind in ("zip", "ole"):
        found = filetype.refine(kind, data, limits.max_members)
        kind = found.kind
        if kind not in filetype.READABLE:
            return result(kind, _status(kind), "; ".join(x for x in (_why(kind), found.note) if x))
    if kind not in filetype.READABLE:
        return result(kind, _status(kind), _why(kind))
    try:
        if kind in _ZIPPED:
            check_zip(data, limits)
        if kind in ("xlsx", "ods"):
            check_extent(data, kind, limits)
        if kind in _SPREADSHEETS:
            return read_spreadsheet(data, kind, limits)
        if kind == "pdf":
            return read_pdf(data, limits)
        if kind == "docx":
            return read_docx(data, limits)
        return read_text(data, kind, limits, charset)
    except Refused as e:
        return result(kind, "refused", str(e))


def _status(kind: str) -> str:
    return "skipped" if kind in filetype.SKIPPED else "refused"


def _why(kind: str) -> str:
    return filetype.DANGER.get(kind) or filetype.SKIPPED.get(kind) or filetype.REFUSED.get(kind, "not read")


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse a ZIP bomb before any library opens the file: too many members, too much declared, or a member
    that unpacks past its declared size (zipfile stops there and reports a bad CRC)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > limits.max_members:
                raise Refused(f"{len(infos)} files inside, over the limit of {limits.max_members}")
            declared = sum(i.file_size for i in infos)
            if declared > limits.max_unzipped:
                raise Refused(f"unpacks to {declared / 1e6:.0f} MB, over the {limits.max_unzipped / 1e6:.0f} MB limit (a ZIP bomb)")
            for info in infos:
                with z.open(info) as member:
                    while member.read(1 << 20):
                        pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as e:
        raise Refused(f"a damaged ZIP container ({e})") from e


_CELL_REF = re.compile(rb'<c\s[^>]{0,400}?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]{0,400}?(?<!/)>')
_ODS_ROW = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table-row"
_ODS_REPEAT_ROWS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}number-rows-repeated"
_ODS_REPEAT_COLS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}number-columns-repeated"
_ODS_VALUE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type"


def check_extent(data: bytes, kind: str, limits: Limits) -> None:
    """Refuse a sheet whose filled cells span more than `max_area` cells before the spreadsheet reader lays it out
    as a grid: one cell at A1 and one at XFD1048576 (XLSX), or one cell repeated a million times (ODS)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        if kind == "xlsx":
            for info in z.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with z.open(info) as sheet:
                        _xlsx_extent(sheet, info.filename.rpartition("/")[2], limits)
        elif "content.xml" in z.namelist():
            with z.open("content.xml") as content:
                _ods_extent(content, limits)


def _xlsx_extent(stream: Any, name: str, limits: Limits) -> None:
    rows: list[int] = []
    cols: list[int] = []
    tail = b""
    while chunk := stream.read(1 << 20):
        block = tail + chunk
        for m in _CELL_REF.finditer(block):
            cols.append(_column_number(m.group(1)))
            rows.append(int(m.group(2)))
        if len(rows) > 4 * limits.max_area:
            break
        cut = block.rfind(b"<c ")
        tail = block[cut:] if cut >= 0 and len(block) - cut < 1000 else b""
        if rows:
            rows, cols = [min(rows), max(rows)], [min(cols), max(cols)]
    if rows:
        area = (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1)
        if area > limits.max_area:
            raise Refused(f"its cells in {name} span {area:,} cells, over the limit of {limits.max_area:,}")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _ods_extent(stream: Any, limits: Limits) -> None:
    from lxml import etree

    cells = 0
    for _, row in etree.iterparse(stream, events=("end",), tag=_ODS_ROW, resolve_entities=False, no_network=True,
                                  huge_tree=False):
        filled = sum(int(c.get(_ODS_REPEAT_COLS, "1") or 1) for c in row if c.get(_ODS_VALUE) or len(c))
        cells += filled * int(row.get(_ODS_REPEAT_ROWS, "1") or 1)
        row.clear()
        if cells > limits.max_area:
            raise Refused(f"its filled cells, repeated, come to over {limits.max_area:,} cells")


# -- cells and text ------------------------------------------------------------------------------------------------

def cell_text(value: Any) -> str:
    """A cell's value as the buyer sees it: whole numbers without ".0", dates as ISO dates, one line."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.10g}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    return " ".join(text.replace("\r", "\n").replace("\n", " ; ").split())[:_CELL_CHARS]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def row_line(cells: Sequence[str]) -> str:
    """A row as one line of text: `label: value` for a label and its value, else the cells joined with ` | `."""
    filled = _distinct([c for c in cells if c])
    if len(filled) == 2 and len(filled[0]) <= 40 and not any(ch.isdigit() for ch in filled[0]):
        return f"{filled[0].rstrip(':： ')}: {filled[1]}"
    return " | ".join(filled)


class TextBuilder:
    """Lines of text with the place each stretch comes from, cut at a number of characters."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self.parts: list[str] = []
        self.places: list[list[Any]] = []
        self.size = 0
        self.cut = False

    def add(self, line: str, place: str) -> bool:
        """Add a line; False once the text is full."""
        if not line:
            return True
        if self.size + len(line) + 1 > self.max_chars:
            self.cut = True
            return False
        if not self.places or self.places[-1][1] != place:
            self.places.append([self.size, place])
        self.parts.append(line + "\n")
        self.size += len(line) + 1
        return True

    def as_json(self, name: str) -> dict[str, Any]:
        return {"name": name, "text": "".join(self.parts), "places": self.places}


# -- spreadsheets --------------------------------------------------------------------------------------------------

def read_spreadsheet(data: bytes, kind: str, limits: Limits) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [m for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    except Exception as e:  # noqa: BLE001 - calamine raises its own error types for every kind of damage
        raise Refused(_damaged(e)) from e
    visible = [m.name for m in sheets if m.visible == SheetVisibleEnum.Visible]
    texts, tables, notes = [], [], []
    cells_left = limits.max_cells
    rows_read = 0
    for name in visible[: limits.max_sheets]:
        if cells_left <= 0:
            notes.append("cell limit reached")
            break
        try:
            sheet = book.get_sheet_by_name(name)
            grid, places, cut = _sheet_grid(sheet, name, limits, cells_left)
        except Exception as e:  # noqa: BLE001
            raise Refused(f"sheet {name!r}: {_damaged(e)}") from e
        cells_left -= sum(len(r) for r in grid)
        rows_read += len(grid)
        if cut:
            notes.append(f"{name}: the first {len(grid)} rows read")
        text = TextBuilder(limits.max_chars)
        for cells, place in zip(grid, places, strict=True):
            text.add(row_line(cells), place)
        texts.append(text.as_json(name))
        tables.append({"name": name, "rows": grid, "places": places, "columns": []})
    if len(visible) > limits.max_sheets:
        notes.append(f"{len(visible) - limits.max_sheets} more sheets not read")
    if len(sheets) > len(visible):
        notes.append(f"{len(sheets) - len(visible)} hidden sheet(s) not read")
    reason = f"{len(texts)} sheet(s), {rows_read} rows" + "".join(f"; {n}" for n in notes)
    return result(kind, "read", reason, texts, tables)


def _sheet_grid(sheet: Any, name: str, limits: Limits, cells_left: int) -> tuple[list[list[str]], list[str], bool]:
    """The non-empty rows of a sheet as text cells (merged cells filled in), with their cell ranges."""
    top, left = sheet.start or (0, 0)
    values = sheet.to_python(skip_empty_area=True, nrows=limits.max_rows)
    cut = sheet.height > limits.max_rows
    grid: dict[int, list[str]] = {}
    for i, row in enumerate(values):
        cells = [cell_text(v) for v in row[: limits.max_cols]]
        if any(cells):
            grid[top + i] = [""] * left + cells
    for (r1, c1), (r2, c2) in (sheet.merged_cell_ranges or [])[:10_000]:
        value = grid.get(r1, [])[c1] if c1 < len(grid.get(r1, [])) else ""
        if not value:
            continue
        for r in range(r1, min(r2, r1 + limits.max_rows) + 1):
            row = grid.setdefault(r, [])
            for c in range(c1, min(c2, limits.max_cols - 1) + 1):
                row.extend([""] * (c + 1 - len(row)))
                row[c] = row[c] or value
    ref = name if name.replace("_", "").isalnum() else "'" + name.replace("'", "''") + "'"
    rows, places, used = [], [], 0
    for r in sorted(grid):
        cells = grid[r]
        filled = [c for c, v in enumerate(cells) if v]
        if not filled:
            continue
        if used + len(cells) > cells_left:
            cut = True
            break
        used += len(cells)
        a, b = column_letter(filled[0]), column_letter(filled[-1])
        places.append(f"{ref}!{a}{r + 1}" + (f":{b}{r + 1}" if b != a else ""))
        rows.append(cells)
    return rows, places, cut


def _damaged(e: BaseException) -> str:
    text = " ".join(str(e).split())[:160]
    return f"damaged or unreadable ({type(e).__name__}{': ' + text if text else ''})"


# -- CSV and plain text --------------------------------------------------------------------------------------------

_SANDWICHED = re.compile(r"[A-Za-z][\u3400-\u9fff\uac00-\ud7af][A-Za-z]")


def decode(data: bytes, charset: str = "") -> str:
    """A text file's characters: its BOM or declared charset, else UTF-8, else GB18030 unless that puts Chinese
    characters inside Latin words (then Windows-1252: "Stück" read as GB18030 is "St點k")."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if charset:
        return decode_bytes(data, charset)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if not _SANDWICHED.search(text):
            return text
    except UnicodeDecodeError:
        pass
    return data.decode("cp1252", "replace")


def read_text(data: bytes, kind: str, limits: Limits, charset: str = "") -> dict[str, Any]:
    text = decode(data[: limits.max_chars * 4], charset)
    if kind == "csv":
        return _read_csv(text, limits)
    lines = text.splitlines()[: limits.max_rows]
    out = TextBuilder(limits.max_chars)
    for n, line in enumerate(lines, 1):
        if not out.add(line.rstrip(), f"line {n}"):
            break
    table = laid_out([(line, f"line {n}") for n, line in enumerate(lines, 1)], "text")
    cut = "; cut at the character limit" if out.cut else ""
    return result("text", "read", f"{len(lines)} lines{cut}", [out.as_json("")], [table])


def _read_csv(text: str, limits: Limits) -> dict[str, Any]:
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(_CELL_CHARS * 10)
    grid, places = [], []
    out = TextBuilder(limits.max_chars)
    cells = 0
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text), dialect), 1):
            if n > limits.max_rows or cells > limits.max_cells:
                break
            values = [cell_text(v) for v in row[: limits.max_cols]]
            filled = [c for c, v in enumerate(values) if v]
            if not filled:
                continue
            cells += len(values)
            a, b = column_letter(filled[0]), column_letter(filled[-1])
            place = f"{a}{n}" + (f":{b}{n}" if a != b else "")
            grid.append(values)
            places.append(place)
            out.add(row_line(values), place)
    except csv.Error as e:
        raise Refused(f"not a readable CSV file ({e})") from e
    return result("csv", "read", f"{len(grid)} rows", [out.as_json("")], [{"name": "", "rows": grid, "places": places, "columns": []}])


def laid_out(lines: Iterable[tuple[str, str]], name: str, max_rows: int = 2_000) -> dict[str, Any]:
    """Laid-out text as a table: each line's runs of text (apart by two spaces or a tab) with their columns."""
    rows: list[list[str]] = []
    columns: list[list[int]] = []
    places: list[str] = []
    for line, place in lines:
        runs: list[str] = []
        starts: list[int] = []
        pos = 0
        expanded = line.expandtabs(8).rstrip()
        for chunk in expanded.split("  "):
            if chunk.strip():
                offset = pos + (len(chunk) - len(chunk.lstrip()))
                if starts and offset - (starts[-1] + len(runs[-1])) < 2:
                    runs[-1] = expanded[starts[-1]: offset + len(chunk.strip())]
                else:
                    runs.append(chunk.strip())
                    starts.append(offset)
            pos += len(chunk) + 2
        rows.append(runs)
        columns.append(starts)
        places.append(place)
        if len(rows) >= max_rows:
            break
    return {"name": name, "rows": rows, "places": places, "columns": columns}


# -- PDF -----------------------------------------------------------------------------------------------------------

def read_pdf(data: bytes, limits: Limits) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError) as e:
                raise Refused(f"encrypted with a method that cannot be opened ({e})") from e
            if not opened:
                raise Refused("encrypted: it needs a password to open")
        count = len(reader.pages)
    except Refused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError, AssertionError) as e:
        raise Refused(_damaged(e)) from e
    if count > limits.max_pages:
        raise Refused(f"{count} pages, over the limit of {limits.max_pages}")
    text = TextBuilder(limits.max_chars)
    tables: list[dict[str, Any]] = []
    links: list[str] = []
    for number in range(1, count + 1):
        try:
            page = reader.pages[number - 1]
            lines = _page_lines(page)
        except Exception as e:  # noqa: BLE001 - pypdf's errors on a hostile page, its own limits included
            why = "a stream inflates past the reader's limit (a decompression bomb)" if type(e).__name__ == "LimitReachedError" else _damaged(e)
            raise Refused(f"page {number}: {why}") from e
        place = f"page {number}"
        for line in lines:
            if not text.add(line.rstrip(), place):
                break
        tables.append(laid_out([(line, place) for line in lines], place, limits.max_rows))
        links += _page_links(page)
        if text.cut:
            break
    read_pages = len(tables)
    cut = f"; the text of the first {read_pages} page(s) read" if read_pages < count else ""
    return result("pdf", "read", f"{count} page(s), {text.size} characters{cut}", [text.as_json("")], tables, links[:20])


def _page_lines(page: Any) -> list[str]:
    """A page's text laid out as on the page (columns kept), without the left margin or runs of blank lines."""
    try:
        raw = page.extract_text(extraction_mode="layout", layout_mode_space_vertically=False)
    except Exception as e:  # noqa: BLE001 - layout mode fails on some fonts; the plain mode reads them
        if type(e).__name__ == "LimitReachedError":
            raise
        raw = page.extract_text()
    lines = [ln.rstrip() for ln in (raw or "").splitlines()]
    margin = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    out: list[str] = []
    for ln in lines:
        if ln.strip() or (out and out[-1]):
            out.append(ln[margin:])
    return out


def _page_links(page: Any) -> list[str]:
    """The URIs of a page's link annotations (named, never followed)."""
    out = []
    try:
        for ref in (page.get("/Annots") or [])[:50]:
            action = ref.get_object().get("/A") or {}
            uri = action.get_object().get("/URI") if hasattr(action, "get_object") else None
            if isinstance(uri, str) and uri.lower().startswith(("http://", "https://")):
                out.append(uri[:500])
    except Exception:  # noqa: BLE001 - a damaged annotation is no reason to refuse the text
        pass
    return out


# -- Word ----------------------------------------------------------------------------------------------------------

def read_docx(data: bytes, limits: Limits) -> dict[str, Any]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as e:  # noqa: BLE001 - python-docx raises lxml, zipfile and its own errors
        raise Refused(_damaged(e)) from e
    text = TextBuilder(limits.max_chars)
    tables: list[dict[str, Any]] = []
    paragraphs = rows_read = cells = 0
    for block in blocks:
        if rows_read >= limits.max_rows or cells >= limits.max_cells:
            break
        if isinstance(block, Table):
            number = len(tables) + 1
            grid, places = [], []
            for r, row in enumerate(block.rows, 1):
                values = [cell_text(c.text) for c in row.cells[: limits.max_cols]]
                rows_read += 1
                cells += len(values)
                if not any(values):
                    continue
                place = f"table {number}, row {r}"
                grid.append(values)
                places.append(place)
                text.add(row_line(values), place)
                if rows_read >= limits.max_rows or cells >= limits.max_cells:
                    break
            tables.append({"name": f"table {number}", "rows": grid, "places": places, "columns": []})
        else:
            paragraphs += 1
            text.add(cell_text(block.text), f"paragraph {paragraphs}")
    reason = f"{paragraphs} paragraph(s), {len(tables)} table(s)"
    return result("docx", "read", reason, [text.as_json("")], tables)


def _distinct(values: list[str]) -> list[str]:
    """A row's cells without the repeats of a merged cell."""
    out: list[str] = []
    for v in values:
        if not out or v != out[-1]:
            out.append(v)
    return out
