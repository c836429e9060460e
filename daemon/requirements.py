"""The buyer's requirements as a draft echoes them: in the buyer's own words, whole words only, and marked
`[[check: ...]]` wherever the extractor is unsure.

A finding is shown as confirmed when its evidence is whole words of the buyer's text and holds the whole statement;
it is unsure when its confidence is low, when its evidence was cut inside a word, or when the clause it stands in
says more than the evidence holds (another figure or percentage beside a payment term or a quantity; a
specification of one word in a clause of many). An unsure value is shown as `[[check: <the clause>]]` so that
the salesperson reads the buyer's words before anything is confirmed. Nothing is ever cut inside a word: a clause
too long to quote is shortened at a word boundary with an ellipsis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import regex

from extractors.core.model import Checklist, Finding, LineItem, ParsedMessage

MIN_CONFIDENCE = 0.6
MAX_QUOTE = 140  # characters of a clause quoted in a check marker
# items whose evidence is a phrase that may stop short of the buyer's statement
_PHRASE_ITEMS = {"specs", "material", "packaging", "customization", "quality_inspection", "application",
                 "purchase_plan"}
_WORDCHAR = regex.compile(r"[\p{L}\p{N}--\p{Han}--\p{Hiragana}--\p{Katakana}]", regex.V1)
# a clause ends at sentence punctuation, or at a line break unless the sentence runs on (a lowercase word or a
# comma before it and a lowercase word after it: text wrapped by the sender's mail program)
_CLAUSE_END = regex.compile(r"[.!?;](?=\s|$)|[。！？；]|\n(?![ \t]*\p{Ll})|(?<![\p{Ll},][ \t]*)\n")
_SENTENCE_END = regex.compile(r"[.;!?](?=\s|$)|[。；！？]")
_LINE_LABEL = regex.compile(r"^\s*[-•*]?\s*(?P<label>[\p{L}][\p{L} /&()-]{0,40}?)\s*[:：]\s*(?P<value>\S.*?)\s*$")
# words of a line's label that name an item, beyond the item's own labels (rules/items.toml)
_LABEL_WORDS = {"packaging": ("packing", "package", "embalaje", "emballage", "verpackung", "包装"),
                "payment_terms": ("payment", "pago", "paiement", "zahlung", "pagamento", "оплата", "付款"),
                "trade_terms": ("incoterm", "price basis", "delivery terms", "价格条款", "贸易术语"),
                "lead_time": ("delivery", "lead time", "shipment date", "交期", "交货"),
                "specs": ("product", "specification", "model", "产品", "规格", "型号")}
_WORDS = regex.compile(r"[\p{Han}]|[\p{L}\p{N}]+(?:[.,/%][\p{L}\p{N}]+)*%?")
_PERCENTS = regex.compile(r"\d{1,3}(?:[.,]\d+)?\s?%")
_UNIT = regex.compile(r"(\p{L}+)\W*$")
_LABEL = regex.compile(r"^\s*[\p{L} ]{1,30}[:：]\s*")
_TRAILING = " \t,;:-–—/("
_BRACKETS = str.maketrans({"[": "(", "]": ")"})


def check(text: str) -> str:
    """The marker for a value the salesperson must check against the buyer's words."""
    return f"[[check: {text.translate(_BRACKETS)}]]"


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words."""
    while start > 0 and _WORDCHAR.match(text[start - 1]) and _WORDCHAR.match(text[start]):
        start -= 1
    while end < len(text) and end > 0 and _WORDCHAR.match(text[end]) and _WORDCHAR.match(text[end - 1]):
        end += 1
    return start, end


def cut_mid_word(text: str, start: int, end: int) -> bool:
    """The span [start, end) of the text begins or ends inside a word."""
    return _widen(text, start, end) != (start, end)


def clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause (sentence or line) holding the span."""
    a = 0
    for m in _CLAUSE_END.finditer(text, 0, start):
        a = m.end()
    m = _CLAUSE_END.search(text, end)
    b = m.start() if m else len(text)
    return a, b


def shorten(text: str, limit: int = MAX_QUOTE) -> str:
    """The text on one line, at most `limit` characters, cut only between words."""
    text = " ".join(text.split()).strip(_TRAILING)
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = max(cut.rfind(" "), cut.rfind("，"), cut.rfind("、"))
    return (cut[:space] if space > limit // 2 else cut[:limit]).rstrip(_TRAILING) + " …"


def _quote_around(text: str, start: int, end: int, limit: int = MAX_QUOTE) -> str:
    """The buyer's words around a span: its clause, or a window of whole words around it when the clause is long."""
    a, b = clause(text, start, end)
    if b - a <= limit:
        return shorten(text[a:b], limit)
    half = max(0, (limit - (end - start)) // 2)
    a2, b2 = _widen(text, max(a, start - half), min(b, end + half))
    inner = " ".join(text[a2:b2].split()).strip(_TRAILING)
    return ("… " if a2 > a else "") + shorten(inner, limit) + (" …" if b2 < b and not inner.endswith("…") else "")


@dataclass(frozen=True, slots=True)
class Shown:
    """A requirement as the draft shows it: the text, and whether it is confirmed or to be checked."""

    text: str
    sure: bool


def _parts(msg: ParsedMessage) -> dict[str, str]:
    return {"text": msg.text, "subject": msg.subject, "form": msg.form, "signature": msg.signature}


def _labelled_line(source: str, f: Finding, label_words: tuple[str, ...]) -> str:
    """The value of a "Label: value" line holding the evidence, when the label names the finding's item: the
    buyer's whole statement of that item ("Payment: T/T 30% deposit, 70% before shipment")."""
    a = source.rfind("\n", 0, f.start) + 1
    b = source.find("\n", f.end)
    m = _LINE_LABEL.match(source[a : b if b >= 0 else len(source)])
    if m is None or a + m.end("value") < f.end or f.end <= a + m.start("value"):
        return ""
    label = m.group("label").casefold()
    if not any(w.casefold() in label for w in label_words if w):
        return ""
    value = m.group("value")
    stop = _SENTENCE_END.search(value, max(0, f.end - a - m.start("value")))  # the statement ends with its sentence
    value = value[: stop.start()] if stop else value
    return value.strip(_TRAILING + ".") if len(value) <= MAX_QUOTE else ""


def show(f: Finding, msg: ParsedMessage, fallback: str, label_words: tuple[str, ...] = ()) -> Shown:
    """How a finding appears in a draft: the buyer's whole words when sure, else a check marker."""
    source = _parts(msg).get(f.part)
    if source is None or source[f.start : f.end] != f.evidence or not f.evidence.strip():
        # a need stated in an earlier message of the thread, or a value built from several places
        return Shown(fallback, f.confidence >= MIN_CONFIDENCE)
    a, b = _widen(source, f.start, f.end)
    if f.confidence >= MIN_CONFIDENCE and (a, b) == (f.start, f.end):
        whole = _labelled_line(source, f, label_words + _LABEL_WORDS.get(f.item, ()))
        if whole:
            return Shown(shorten(whole), True)
    words = _LABEL.sub("", source[a:b]).strip(_TRAILING + ".") or source[a:b].strip()
    ca, cb = clause(source, f.start, f.end)
    around = source[ca:cb]
    unsure = f.confidence < MIN_CONFIDENCE or (a, b) != (f.start, f.end)
    if not unsure and f.item == "payment_terms":  # "30% deposit" taken from "30% deposit, 70% before shipment"
        unsure = bool({p.replace(" ", "") for p in _PERCENTS.findall(around)} - {p.replace(" ", "") for p in _PERCENTS.findall(words)})
    if not unsure and f.item == "quantity" and (unit := _UNIT.search(words)):  # "500 pcs of A and 300 pcs of B"
        counted = regex.compile(rf"\d[\d,.]*\s?{regex.escape(unit.group(1))}\b", regex.I)
        unsure = len(counted.findall(around)) > len(counted.findall(words))
    if not unsure and f.item in _PHRASE_ITEMS:
        own, all_words = len(_WORDS.findall(words)), len(_WORDS.findall(_LABEL.sub("", around)))
        unsure = own == 1 and all_words >= 4
    if unsure:
        return Shown(check(_quote_around(source, f.start, f.end)), False)
    unit = str(f.value.get("unit") or "") if f.item == "quantity" and isinstance(f.value, dict) else ""
    if unit and not f.value.get("container") and unit.split("/")[0][:3].casefold() not in words.casefold():
        return Shown(fallback, True)  # "1,000" of "1,000 pcs": the unit is not lost
    if f.item == "certification" and isinstance(f.value, list) and len(f.value) > 1:
        return Shown(", ".join(str(v) for v in f.value), True)
    return Shown(shorten(words), True)


def line_items(checklist: Checklist, msg: ParsedMessage, product_hint: str, value_text: Any,
               labels_of: Any = None) -> list[dict[str, Any]]:
    """One row per product the buyer asks for (`Checklist.line_items`), or one row from the specs, quantity, price
    basis and target price the buyer stated. Each cell is the buyer's words, or a check marker, or ""."""
    basis = checklist.get("trade_terms")
    def words(f: Finding) -> str:
        return show(f, msg, value_text(f), labels_of(f.item) if labels_of else ()).text

    basis_text = words(basis) if basis else ""
    if checklist.line_items:
        return [_row_of_item(li, msg, basis_text) for li in checklist.line_items]
    cells: dict[str, str] = {}
    for item in ("specs", "quantity", "target_price"):
        f = checklist.get(item)
        cells[item] = words(f) if f is not None else ""
    if not (cells["specs"] or cells["quantity"] or product_hint):
        return []
    return [{"product": product_hint, "model": "", "parameters": cells["specs"], "quantity": cells["quantity"],
             "price_basis": basis_text, "target_price": cells["target_price"]}]


def _row_of_item(li: LineItem, msg: ParsedMessage, basis: str) -> dict[str, Any]:
    def words(value: str) -> str:
        value = " ".join(value.split())
        if not value:
            return ""
        source = msg.text if li.source == "text" else msg.form if li.source == "form" else msg.subject if li.source == "subject" else ""
        at = source.find(value) if source else -1
        if at >= 0 and cut_mid_word(source, at, at + len(value)):
            return check(_quote_around(source, at, at + len(value)))
        return shorten(value)

    return {"product": words(li.product), "model": words(li.model), "parameters": words(li.parameters),
            "quantity": words(li.quantity) or (f"{li.amount:g} {li.unit}".strip() if li.amount is not None else ""),
            "price_basis": basis, "target_price": words(li.target_price)}


def confirmed(checklist: Checklist, msg: ParsedMessage, label: Any, value_text: Any, skip: tuple[str, ...],
              labels_of: Any = None) -> list[dict[str, Any]]:
    """The buyer's yes items other than `skip` (and company/contact), each as {id, label, value, sure}."""
    out = []
    for item, f in checklist.items:
        if f is None or item in skip or item in ("company", "contact"):
            continue
        shown = show(f, msg, value_text(f), labels_of(item) if labels_of else ())
        out.append({"id": item, "label": label(item), "value": shown.text, "sure": shown.sure})
    return out
