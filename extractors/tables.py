"""The buyer's tables as line items: a header row found by its words (`rules/table_headers.toml`), then one
LineItem per row below it, in the buyer's own words, with the file and place it came from.

Grids (a sheet, a CSV file, a Word table) have one cell per column; merged header cells arrive filled in, and a
second header row under the first ("Quantity" over "Qty | Unit") names the columns it splits. Laid-out text (a PDF
page) is matched by position: each run of text goes to the header cell it overlaps most, and the lines of a cell
that wraps join the row they belong to.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from extractors.core.errors import RulesError
from extractors.core.model import LineItem, Table
from extractors.normalise import CURRENCIES, Context, quantity

ROLES = ("item", "product", "model", "specification", "material", "quantity", "unit", "target_price", "delivery",
         "amount", "remarks")
LANGS = ("en", "zh", "es", "fr", "de", "pt", "ru", "ar", "tr", "it")
DESCRIBING = frozenset({"product", "model", "specification"})
HEADER_SCAN = 40  # rows of a grid looked at for its header row
LINE_SCAN = 400  # lines of laid-out text
MAX_LINE_ITEMS = 200
_BRACKETS = re.compile(r"[(（\[【]([^)）\]】]{0,40})[)）\]】]")
_NO_SPACES = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_ITEM_NUMBER = re.compile(r"^(?:[A-Za-z]?\d{1,4}(?:[.\-]\d{1,3})?|[ivxlc]{1,6})\.?$", re.I)
_CURRENCY_HINT = re.compile(r"^(?:usd|us\$|eur|gbp|rmb|cny|jpy|aed|inr|brl|mxn|rub|try|[$€£¥]|美元|欧元|人民币|dólares|euros)$", re.I)


class Words(BaseModel):
    """Words per template language (a table header's, a line item's marks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: list[str] = []
    zh: list[str] = []
    es: list[str] = []
    fr: list[str] = []
    de: list[str] = []
    pt: list[str] = []
    ru: list[str] = []
    ar: list[str] = []
    tr: list[str] = []
    it: list[str] = []

    def all(self) -> list[str]:
        return [w for lang in LANGS for w in getattr(self, lang)]


class _Roles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: Words = Words()
    product: Words = Words()
    model: Words = Words()
    specification: Words = Words()
    material: Words = Words()
    quantity: Words = Words()
    unit: Words = Words()
    target_price: Words = Words()
    delivery: Words = Words()
    amount: Words = Words()
    remarks: Words = Words()


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: _Roles
    footer: Words = Words()


def clean(cell: str) -> tuple[str, str]:
    """A header cell lowercased without brackets and trailing marks, and the text in brackets (a hint)."""
    text = unicodedata.normalize("NFKC", cell).casefold().strip()
    hints = _BRACKETS.findall(text)
    text = _BRACKETS.sub(" ", text)
    text = " ".join(text.split()).strip(" :：*")
    return text, (hints[0].strip() if hints else "")


@dataclass(frozen=True)
class Headers:
    """Header words by role, longest first, and the footer words."""

    words: tuple[tuple[str, str], ...]  # (word, role)
    footer: frozenset[str]
    source: str = ""

    @classmethod
    def load(cls, path: Path) -> Headers:
        """Read a table headers file; RulesError naming the file and key on any problem."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise RulesError(f"{path}: cannot read the table headers: {e}; fix the file or remove it from the overlay") from e
        try:
            parsed = _File.model_validate(data)
        except ValidationError as e:
            raise RulesError([f"{path} [{' -> '.join(str(x) for x in err['loc'])}] {err['msg']}"
                              f"{'; the roles are ' + ', '.join(ROLES) + ' and the languages ' + ', '.join(LANGS) if err['type'] == 'extra_forbidden' else ''}"
                              for err in e.errors()]) from e
        seen: dict[str, str] = {}
        problems = []
        for role in ROLES:
            for word in getattr(parsed.roles, role).all():
                key = clean(word)[0]
                if not key:
                    problems.append(f"{path} [roles -> {role}] an empty word; remove it")
                elif seen.get(key, role) != role:
                    problems.append(f"{path} [roles -> {role}] {word!r} is also a {seen[key]} word; keep it under one role")
                seen.setdefault(key, role)
        if problems:
            raise RulesError(problems)
        words = tuple(sorted(seen.items(), key=lambda wr: -len(wr[0])))
        return cls(words, frozenset(clean(w)[0] for w in parsed.footer.all()), str(path))

    def role(self, cell: str) -> str:
        """The role a header cell names, or ""."""
        text, _ = clean(cell)
        if not text:
            return ""
        for word, role, inside in self._candidates.get(text[0], self._inside):
            if word in text if inside else text.startswith(word) and (len(text) == len(word) or not text[len(word)].isalnum()):
                return role
        return ""

    @cached_property
    def _inside(self) -> tuple[tuple[str, str, bool], ...]:
        """The words of scripts without spaces (found anywhere in a cell), longest first, as (word, role, True)."""
        return tuple((w, r, True) for w, r in self.words if _NO_SPACES.search(w))

    @cached_property
    def _candidates(self) -> dict[str, tuple[tuple[str, str, bool], ...]]:
        """By a cell's first character, the words that can match it, longest first: those starting with it (a cell
        starts with its word, `_matches`) and the words of scripts without spaces (anywhere in it)."""
        words = [(w, r, bool(_NO_SPACES.search(w))) for w, r in self.words]
        firsts = {w[0] for w, _, inside in words if not inside}
        return {first: tuple(x for x in words if x[2] or x[0][0] == first) for first in firsts}

    def is_footer(self, cell: str) -> bool:
        text, _ = clean(cell)
        return any(_matches(text, w) for w in self.footer)


def _matches(text: str, word: str) -> bool:
    if text == word:
        return True
    if _NO_SPACES.search(word):
        return word in text
    return text.startswith(word) and not text[len(word)].isalnum()


def load_headers(overlay: Path | None = None, shipped: Path | None = None) -> Headers:
    """The overlay's table_headers.toml when it has one, else the shipped file."""
    from extractors.rules import shipped_dir

    name = "table_headers.toml"
    if overlay is not None and (overlay / name).is_file():
        return Headers.load(overlay / name)
    return Headers.load((shipped or shipped_dir()) / name)


# -- header rows ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Columns:
    """Where a table's header is and what each column holds."""

    header: int  # index of the (last) header row
    roles: dict[str, int]  # role -> column (grid) or header cell (laid-out)
    labels: dict[str, str]  # role -> the header cell as written
    hints: dict[str, str]  # role -> its bracketed hint ("pcs", "USD")
    starts: tuple[int, ...] = ()  # laid-out text: the start column of each header cell


def find_header(table: Table, headers: Headers) -> Columns | None:
    """The first row that reads as a header row (and the sub-header row under it), or None."""
    laid_out = bool(table.columns)
    scan = LINE_SCAN if laid_out else HEADER_SCAN
    for i, cells in enumerate(table.rows[:scan]):
        found = _header_roles(cells, headers)
        if found is None:
            continue
        roles, labels, hints = found
        header = i
        if not laid_out and i + 1 < len(table.rows):
            sub = _header_roles(table.rows[i + 1], headers, sub=True)
            if sub is not None:
                header = i + 1
                for role, col in sub[0].items():
                    for other, c in list(roles.items()):
                        if c == col and other != role:
                            del roles[other]
                    roles[role] = col
                    labels[role], hints[role] = sub[1][role], sub[2][role] or hints.get(role, "")
        starts = table.columns[i] if laid_out else ()
        return Columns(header, roles, labels, hints, tuple(starts))
    return None


def _header_roles(cells: Sequence[str], headers: Headers, sub: bool = False) -> tuple[dict[str, int], dict[str, str], dict[str, str]] | None:
    roles: dict[str, int] = {}
    labels: dict[str, str] = {}
    hints: dict[str, str] = {}
    filled = matched = 0
    for col, cell in enumerate(cells):
        if not cell:
            continue
        filled += 1
        role = headers.role(cell)
        if role:
            matched += 1
            if role not in roles:
                roles[role] = col
                labels[role] = cell
                hints[role] = clean(cell)[1]
    if len(roles) < 2 or matched < 0.6 * filled:
        return None
    if not sub and DESCRIBING.isdisjoint(roles) and "item" not in roles:
        return None
    return roles, labels, hints


# -- rows ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """A data row: its cells by role, the whole row as written and where it stands."""

    cells: dict[str, str]
    evidence: str
    place: str


def rows_of(table: Table, cols: Columns, headers: Headers) -> list[Row]:
    grouped = _laid_out_rows(table, cols) if table.columns else _grid_rows(table, cols)
    out = []
    for cells, evidence, place in grouped:
        first = next((c for c in cells.values() if c), "")
        if headers.is_footer(first) or headers.is_footer(evidence.split(" | ")[0]):
            break
        out.append(Row(cells, evidence, place))
    return out


def _grid_rows(table: Table, cols: Columns) -> list[tuple[dict[str, str], str, str]]:
    out = []
    for cells, place in zip(table.rows[cols.header + 1:], table.places[cols.header + 1:], strict=False):
        by_role = {role: cells[c] if c < len(cells) else "" for role, c in cols.roles.items()}
        out.append((by_role, _evidence(cells), place))
    return out


def _evidence(cells: Sequence[str]) -> str:
    out: list[str] = []
    for c in cells:
        if c and (not out or out[-1] != c):
            out.append(c)
    return " | ".join(out)


def _laid_out_rows(table: Table, cols: Columns) -> list[tuple[dict[str, str], str, str]]:
    """Lines below a laid-out header, grouped into rows: a line with a quantity or a line number anchors a row;
    the other lines of its block (between blank lines), or those just after it, are its wrapped cells."""
    order = sorted(cols.roles.items(), key=lambda rc: rc[1])
    starts = cols.starts
    bounds = [(role, starts[i], starts[i + 1] if i + 1 < len(starts) else 10_000) for role, i in order if i < len(starts)]
    lines: list[tuple[dict[str, str], str] | None] = []
    for runs, columns, place in zip(table.rows[cols.header + 1:], table.columns[cols.header + 1:],
                                    table.places[cols.header + 1:], strict=False):
        if not runs:
            lines.append(None)
            continue
        if len(runs) == 1 and len(runs[0]) > 60 and columns[0] <= bounds[0][1]:
            break  # prose again: the table has ended
        cells: dict[str, str] = {}
        for run, start in zip(runs, columns, strict=False):
            role = _column_of(start, len(run), bounds)
            cells[role] = f"{cells[role]} {run}" if cells.get(role) else run
        lines.append((cells, place))
    rows: list[tuple[dict[str, str], str, str]] = []
    block: list[tuple[dict[str, str], str]] = []
    for line in [*lines, None]:
        if line is not None:
            block.append(line)
            continue
        rows += _block_rows(block)
        block = []
    return rows


def _column_of(start: int, length: int, bounds: Sequence[tuple[str, int, int]]) -> str:
    best, overlap = bounds[0][0], -1
    for role, a, b in bounds:
        o = min(start + length, b) - max(start, a)
        if o > overlap:
            best, overlap = role, o
    return best


def _block_rows(block: list[tuple[dict[str, str], str]]) -> list[tuple[dict[str, str], str, str]]:
    anchors = [i for i, (cells, _) in enumerate(block) if cells.get("quantity") or _ITEM_NUMBER.match(cells.get("item", ""))]
    if not anchors:  # no line numbers or quantities to go by: one line, one row
        return [(cells, " | ".join(cells.values()), place) for cells, place in block]
    if len(anchors) == 1:  # a row with cells wrapped above and below its middle line
        groups = [(0, len(block), anchors[0])]
    else:  # rows one under the other: wrapped lines belong to the row above
        groups = [(0 if k == 0 else a, anchors[k + 1] if k + 1 < len(anchors) else len(block), a) for k, a in enumerate(anchors)]
    rows = []
    for lo, hi, anchor in groups:
        merged: dict[str, str] = {}
        for cells, _ in block[lo:hi]:
            for role, text in cells.items():
                merged[role] = f"{merged[role]} {text}" if merged.get(role) else text
        rows.append((merged, " | ".join(v for v in merged.values() if v), block[anchor][1]))
    return rows


# -- line items ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableItems:
    """What one table gave: its line items, with the delivery cell of each and the header cells."""

    items: tuple[LineItem, ...]
    delivery: tuple[str, ...]
    materials: tuple[str, ...]
    labels: dict[str, str]


def line_items(table: Table, headers: Headers, ctx: Context | None = None) -> TableItems | None:
    """The line items of one table, or None when it has no header row."""
    cols = find_header(table, headers)
    if cols is None:
        return None
    ctx = ctx or Context()
    item_is_product = "product" not in cols.roles and "item" in cols.roles
    items, delivery, materials = [], [], []
    for row in rows_of(table, cols, headers):
        c = row.cells
        number = c.get("item", "")
        if item_is_product and number and not _ITEM_NUMBER.match(number):
            c = {**c, "product": number}
        described = [c.get(r, "") for r in ("product", "model", "specification") if c.get(r)]
        stated = described + [c.get(r, "") for r in ("quantity", "target_price") if c.get(r)]
        if not described or len(stated) < 2:
            continue
        item = _line_item(c, cols, row, table, ctx)
        items.append(item)
        delivery.append(c.get("delivery", ""))
        materials.append(c.get("material", ""))
        if len(items) >= MAX_LINE_ITEMS:
            break
    return TableItems(tuple(items), tuple(delivery), tuple(materials), cols.labels)


def _line_item(c: dict[str, str], cols: Columns, row: Row, table: Table, ctx: Context) -> LineItem:
    product = c.get("product") or c.get("specification") or c.get("model", "")
    parameters = "; ".join(x for x in (c.get("specification", "") if product != c.get("specification") else "",
                                        c.get("material", "")) if x)
    unit = c.get("unit", "") or cols.hints.get("quantity", "")
    qty = c.get("quantity", "")
    qty_text = f"{qty} {unit}".strip() if qty and unit and unit.casefold() not in qty.casefold() else qty
    value = quantity(qty_text, ctx) if qty_text else None
    price = c.get("target_price", "")
    hint = cols.hints.get("target_price", "")
    if price and hint and _CURRENCY_HINT.match(hint) and not re.search(r"[^\d\s.,/-]", price):
        price = f"{CURRENCIES.get(hint.casefold(), hint.upper())} {price}"
    return LineItem(
        product=product, model=c.get("model", "") if product != c.get("model") else "", parameters=parameters,
        quantity=qty_text, amount=float(value["amount"]) if value and not value.get("container") else None,
        unit=(value or {}).get("unit", "") or unit, target_price=price, evidence=row.evidence,
        source=f"{table.file}, {row.place}",
    )


def span(places: Sequence[str]) -> str:
    """The places of several rows as one: "Sheet1!A5:F5" .. "Sheet1!A7:F7" -> "Sheet1!A5:F7"."""
    if not places:
        return ""
    first, last = places[0], places[-1]
    if first == last:
        return first
    sheet_a, _, cells_a = first.rpartition("!")
    sheet_b, _, cells_b = last.rpartition("!")
    if sheet_a == sheet_b and _CELLS.match(cells_a) and _CELLS.match(cells_b):
        return f"{sheet_a + '!' if sheet_a else ''}{cells_a.split(':')[0]}:{cells_b.split(':')[-1]}"
    a, b = _NUMBERED.match(first), _NUMBERED.match(last)
    if a and b and a["head"] == b["head"] and a["unit"] == b["unit"]:
        return f"{a['head']}{a['unit']}s {a['n']}-{b['n']}"
    return f"{first} to {last}"


_CELLS = re.compile(r"^[A-Z]{1,3}\d+(?::[A-Z]{1,3}\d+)?$")
_NUMBERED = re.compile(r"^(?P<head>.*?)(?P<unit>row|page|line|paragraph) (?P<n>\d+)$")
