"""The products a message body asks for, as line items, in the buyer's own words: the rows of a table in the body
(an HTML table, or text rows split by "|" or tabs under a header line), the lines of a numbered or bulleted list,
"Field: value" cards (a platform's form, "Product Name: ... Quantity: ..."), and the clauses of a sentence that
names several products, each with its own quantity ("500 pcs of A and 200 pcs of B", "A 500个，B 200个").

The pieces are language-neutral: numbers and units of quantity (each language's QTY_UNIT fragment, and the English
one), currencies and prices, technical values and model codes (the shared fragments); the words around them
(sample, lead-in, joiner, connector, per, price words) are in `rules/line_items.toml`. A sample quantity is never
a line's order quantity, and a sentence whose products cannot all be told apart gives none: one product with one
quantity gives one line item or none, never a wrong split.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import regex
from pydantic import BaseModel, ConfigDict, ValidationError

from extractors.core.errors import RulesError
from extractors.core.model import Finding, LineItem, ParsedMessage, Table
from extractors.normalise import CONTAINER, Context, duration, money, quantity
from extractors.rules import RuleSet, _Expander, alternation
from extractors.tables import LANGS, Headers, line_items
from extractors.tables import Words as LanguageWords

CONFIDENCE = 0.8
MAX_ITEMS = 100
MAX_PRODUCT = 120  # characters of a product name; a longer "product" is a sentence, not a name
MAX_TEXT = 20_000  # characters of the body read for its products
MAX_LINE = 400  # a longer list line or sentence is not read for products
WORD_KEYS = ("sample", "lead_in", "joiners", "connectors", "per", "price", "fields", "asides")
_FIELD_ROLES = frozenset({"quantity", "unit", "target_price", "delivery", "amount", "remarks", "material"})
_PRODUCT_ROLES = frozenset({"product", "model", "specification", "item"})
_LIST_MARK = regex.compile(
    r"^[ \t]*(?:[-*•·▪◦●○■□➢►▶✓✔–—][ \t]+|(?:\d{1,2}|[a-hA-H])[.)）][ \t]+|\d{1,2}[、．)）][ \t]*|[(（]\d{1,2}[)）][ \t]*"
    r"|[①-⑳][ \t]*)(?=\S)")
_LABEL = regex.compile(r"^(?P<label>[^\W\d_][^:：\n]{0,38}?)\s?[:：]\s*(?P<value>\S.*)$")
_SENTENCE = regex.compile(r"(?<=[!?。！？])\s*|(?<=[^\d\s]\.)\s+(?=\P{Ll})|\n")
_CLAUSE_MARK = regex.compile(r"[,;，；()（）]")
_PUNCT_JOINER = r"[,;，；、]"
_EDGES = " \t-–—:：,，;；.。/|()（）[]【】*•·"
_LETTERS = regex.compile(r"\p{L}")
_HAN = regex.compile(r"\p{Han}")
_IP = r"IP\s?\d{2}"
_NUMBER_ONLY = regex.compile(r"^[\d\s.,/-]*$")
_CURRENCY = (r"US\$|R\$|USD|EUR|GBP|RMB|CNY|AUD|CAD|JPY|INR|AED|BRL|MXN|RUB|TRY|SAR|[$€£¥₽₺]|美元|美金|欧元|人民币|元"
             r"|d[oó]lares|dollars?|euros?|руб\.?|рублей|долл\.?|TL|dolar|دولار|يورو|ريال|درهم")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sample: LanguageWords = LanguageWords()
    lead_in: LanguageWords = LanguageWords()
    joiners: LanguageWords = LanguageWords()
    connectors: LanguageWords = LanguageWords()
    per: LanguageWords = LanguageWords()
    price: LanguageWords = LanguageWords()
    fields: LanguageWords = LanguageWords()
    asides: LanguageWords = LanguageWords()


@dataclass(frozen=True)
class Words:
    """The words of `rules/line_items.toml`, every language's together, by key."""

    by_key: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self.by_key.get(key, ())

    @classmethod
    def load(cls, path: Path) -> Words:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise RulesError(f"{path}: cannot read the line item words: {e}; fix the file or remove it from the overlay") from e
        try:
            parsed = _File.model_validate(data)
        except ValidationError as e:
            raise RulesError([f"{path} [{' -> '.join(str(x) for x in err['loc'])}] {err['msg']}"
                              f"{'; the keys are ' + ', '.join(WORD_KEYS) + ' and the languages ' + ', '.join(LANGS) if err['type'] == 'extra_forbidden' else ''}"
                              for err in e.errors()]) from e
        empty = [f"{path} [{key}] an empty word; remove it" for key in WORD_KEYS if any(not w.strip() for w in getattr(parsed, key).all())]
        if empty:
            raise RulesError(empty)
        return cls({key: tuple(dict.fromkeys(getattr(parsed, key).all())) for key in WORD_KEYS}, str(path))


def load_words(overlay: Path | None = None, shipped: Path | None = None) -> Words:
    """The overlay's line_items.toml when it has one, else the shipped file."""
    from extractors.rules import shipped_dir

    name = "line_items.toml"
    if overlay is not None and (overlay / name).is_file():
        return Words.load(overlay / name)
    return Words.load((shipped or shipped_dir()) / name)


def _words_re(words: tuple[str, ...]) -> str:
    """An alternation of words, each bounded by non-letters (a word in a script without spaces, or a mark, is not)."""
    parts = []
    for w in sorted(words, key=len, reverse=True):
        bounded = not _HAN.search(w)
        left = r"(?<![\p{L}\d])" if bounded and _LETTERS.match(w[0]) else ""
        right = r"(?![\p{L}\d])" if bounded and _LETTERS.match(w[-1]) else ""
        parts.append(f"{left}{alternation([w], trie=False)}{right}")
    return "|".join(parts) or r"(?!x)x"


@dataclass(frozen=True)
class _Found:
    """A line item and where its words stand in the part it came from."""

    item: LineItem
    start: int
    end: int


class _Patterns:
    """The compiled pieces for one language."""

    def __init__(self, rs: RuleSet, words: Words, lang: str):
        ex = _Expander(rs, readable=True)
        langs = [x for x in (lang, "en") if x in rs.rules] or ["en"]

        def frag(name: str, fallback: str, every: bool = False) -> str:
            found = [r for x in (dict.fromkeys([*langs, *sorted(rs.rules)]) if every else langs) if (r := ex.regex(x, name))]
            return "|".join(dict.fromkeys(found)) or fallback

        # every language's units: a short message may be taken for another language than its own
        count = frag("COUNT", r"\d{1,7}")
        units = frag("QTY_UNIT", r"pcs|pieces|units|sets", every=True)
        han_end = r"(?:(?<=\p{Han})|(?![\p{L}\d]))"
        container = regex.sub(r"\(\?P<\w+>", "(?:", CONTAINER.pattern)  # 2 x 40HQ
        self.qty = regex.compile(
            rf"(?:(?<![\p{{L}}\d.,/\-x×*])|(?<=(?<!\p{{L}})و))(?P<q>(?:{container})(?![\p{{L}}\d])(?:\s?(?:{units}){han_end})?|(?:{count})(?:\s?(?:k|K|万|千)(?![\p{{L}}]))?\s?(?:{units}){han_end})", regex.I)
        self.bare = regex.compile(rf"(?<![\p{{L}}\d.,/\-x×*])(?P<q>{count})\s?(?=(?:{_words_re(words['connectors'])})\s)", regex.I)
        price = r"\d{1,7}(?:[.,]\d{1,3})?"
        per_unit = r"(?:\s?(?:/|per|por|par|pro|each|cada)\s?[\p{L}.]{1,12})?"
        self.price = regex.compile(
            rf"(?P<p>(?:{_CURRENCY})\s?{price}{per_unit}|(?<![\p{{L}}\d.,]){price}\s?(?:{_CURRENCY})(?![\p{{L}}]){per_unit})",
            regex.I)
        self.price_words = regex.compile(rf"(?:(?:{_words_re(words['price'])})\s?[:：]?\s*)+$", regex.I)
        measure = frag("MEASURE", r"\d[\d.,]*\s?(?:v|w|a|mm|cm|kg)")
        side = frag("SIDE", r"\d{1,5}(?:[.,]\d{1,3})?")
        times = frag("TIMES", r"\s?[x×*]\s?")
        self.param = regex.compile(
            rf"(?<![\p{{L}}\d.,\-])(?:(?:{side})(?:{times})(?:{side})(?:(?:{times})(?:{side}))?|(?:{measure})|{_IP})(?![\p{{L}}\d])", regex.I)
        code = frag("CODE", r"(?=[A-Za-z\d\-/.]{0,24}\d)[A-Za-z\d][A-Za-z\d\-/.]{1,24}")
        self.code = regex.compile(rf"(?<![\p{{L}}\d\-/.])(?:{code})(?<![.\-/])(?![\p{{L}}\d\-/])")
        self.sample = regex.compile(_words_re(words["sample"]), regex.I)
        self.lead_out = regex.compile(rf"(?:\s(?:{_words_re(words['lead_in'])}))+\s*[.!。]?$", regex.I)
        self.lead_in = regex.compile(rf"^(?:(?:please|pls|kindly|dear\s\w+)\s*,?\s*)?(?:{_words_re(words['lead_in'])})\s*[:：,]?\s*", regex.I)
        self.per = regex.compile(rf"^\s?(?:{_words_re(words['per'])})", regex.I)
        self.connector = regex.compile(rf"^\s?(?:{_words_re(words['connectors'])})\s?", regex.I)
        self.joiner = regex.compile(rf"{_PUNCT_JOINER}|(?:{_words_re(words['joiners'])})|(?<![\p{{L}}])و", regex.I)
        self.aside = regex.compile(rf"^(?:{_words_re(words['asides'])})\s", regex.I)
        self.fields = regex.compile(rf"(?:{_words_re(words['fields'])})", regex.I)


class BodyItems:
    """Reads the products of a message body with the rules' fragments, the line item words and the table header
    words."""

    def __init__(self, ruleset: RuleSet, headers: Headers, words: Words | None = None):
        self.ruleset = ruleset
        self.headers = headers
        self.words = words or load_words()
        self._certs = frozenset(t.casefold() for t in (
            *(ruleset.vocab_terms("certifications", "en").terms if "certifications" in ruleset.vocab else ()),
            *(ruleset.vocab_terms("certifications", "en").case_sensitive if "certifications" in ruleset.vocab else ())))

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one reader per rule set, kept for the process
    def patterns(self, lang: str) -> _Patterns:
        return _Patterns(self.ruleset, self.words, lang)

    def read(self, msg: ParsedMessage, ctx: Context) -> tuple[tuple[LineItem, ...], dict[str, Finding]]:
        """The body's line items, first of: its tables, the platform's form, its lists, its cards, its sentences;
        and the specs, quantity and target price they state."""
        p = self.patterns(msg.language)
        text, form = msg.text[:MAX_TEXT], msg.form[:MAX_TEXT]
        found: list[_Found] = []
        part = "text"
        tables = [got for t in msg.tables if (got := line_items(t, self.headers, ctx)) is not None and got.items]
        tables += [got for t in text_tables(text) if (got := line_items(t, self.headers, ctx)) is not None and got.items]
        if tables:
            found = [_Found(li, *_locate(text, li.evidence)) for got in tables for li in got.items]
        if not found and form:
            found, part = self._cards(form, p, ctx, "form"), "form"
        if not found:
            found, part = self._lists(text, p, ctx), "text"
        if not found:
            found = self._cards(text, p, ctx, "text")
        if not found:
            found = self._prose(text, p, ctx)
        found = found[:MAX_ITEMS]
        items = tuple(f.item for f in found)
        return items, _findings(found, form if part == "form" else text, part, ctx)

    # -- one product's words ------------------------------------------------------------------------------------

    def _orders(self, text: str, p: _Patterns) -> list[regex.Match[str]]:
        """The quantities of a text that count an order: not a pack size (50 pcs per carton), not in a clause about
        a sample."""
        out = []
        for m in p.qty.finditer(text):
            if p.per.match(text[m.end():]):
                continue
            lo = max((c.end() for c in _CLAUSE_MARK.finditer(text, 0, m.start())), default=0)
            hi = next((c.start() for c in _CLAUSE_MARK.finditer(text, m.end())), len(text))
            if p.sample.search(text[lo:hi]):
                continue
            out.append(m)
        return out

    def _item(self, text: str, qty: tuple[int, int] | None, p: _Patterns, ctx: Context, source: str,
              unit: str = "", side: str = "") -> LineItem | None:
        """A line item of one list line, card or clause: the quantity at `qty`, a price, parameters, a model and
        what is left as the product. `side` ("before"/"after") takes the product from one side of the quantity."""
        if (m := _LABEL.match(text.strip())) is not None:
            role = self.headers.role(m["label"])
            if role in _FIELD_ROLES or p.fields.fullmatch(m["label"].strip()):
                return None
        cut: list[tuple[int, int]] = []
        qty_text = counted = ""
        if qty is not None:
            a, b = qty
            qty_text = text[a:b].strip()
            counted = f"{qty_text} {unit}" if unit and not p.qty.fullmatch(qty_text) else qty_text  # "200 (de B)"
            if (c := p.connector.match(text[b:])) is not None:
                b += c.end()
            if side == "after":
                cut.append((0, a))
            elif side == "before":
                cut.append((b, len(text)))
            cut.append((a, b))
        price = ""
        for m in p.price.finditer(text):
            if any(lo <= m.start() < hi for lo, hi in cut):
                continue
            price = m.group("p").strip()
            lead = p.price_words.search(text[: m.start()])
            cut.append((lead.start() if lead else m.start(), m.end()))
            break
        rest = _without(text, cut)
        rest = p.lead_in.sub("", rest.strip(_EDGES)).strip(_EDGES)
        if (m := _LABEL.match(rest)) is not None:
            role = self.headers.role(m["label"])
            if role in _FIELD_ROLES or p.fields.fullmatch(m["label"].strip()):
                return None
            if role in _PRODUCT_ROLES and _LETTERS.search(m["value"]):
                rest = m["value"]
        params = [m for m in p.param.finditer(rest)]
        if params and len(_LETTERS.findall(rest[: params[0].start()])) >= 2:  # "Ceramic mug 350ml white"
            bare, parameters = rest[: params[0].start()], _tidy(rest[params[0].start():])
            if (code := next((m for m in p.code.finditer(parameters)
                              if _LETTERS.search(m.group()) and not p.param.fullmatch(m.group())), None)) is not None:
                bare, parameters = f"{bare} {code.group()}", _tidy(_without(parameters, [(code.start(), code.end())]))
        else:  # "40W LED panel"
            parameters = " ".join(m.group().strip() for m in params)
            bare = _without(rest, [(m.start(), m.end()) for m in params])
        codes = [m for m in p.code.finditer(bare) if _LETTERS.search(m.group()) and m.group().casefold() not in self._certs
                 and not p.qty.fullmatch(m.group())]
        model = codes[0].group() if codes else ""
        product = _tidy(_without(bare, [(codes[0].start(), codes[0].end())]) if codes else bare)
        product = _tidy(p.lead_out.sub("", p.lead_in.sub("", product)))
        if len(_LETTERS.findall(product)) < 2 or _only_label(product, self.headers):
            if not model:
                return None
            product, model = model, ""
        if not _LETTERS.search(product) or len(product) > MAX_PRODUCT or p.sample.search(product) \
                or p.fields.fullmatch(product):  # "MOQ 500 pcs", "Total 5000 pcs"
            return None
        if product.endswith("?") or "?" in text or "？" in text:
            return None
        value = quantity(counted, ctx) if qty_text else None
        return LineItem(product=product, model=model, parameters=parameters, quantity=qty_text,
                        amount=float(value["amount"]) if value and not value.get("container") else None,
                        unit=str((value or {}).get("unit", "")), target_price=price, evidence=" ".join(text.split()),
                        source=source)

    # -- lists --------------------------------------------------------------------------------------------------

    def _lists(self, text: str, p: _Patterns, ctx: Context) -> list[_Found]:
        """Numbered or bulleted lines that name a product with a quantity; lines with a model code but no quantity
        when at least two lines of the list have one."""
        counted: list[_Found] = []
        coded: list[_Found] = []
        for start, line in _lines(text):
            mark = _LIST_MARK.match(line) if len(line) <= MAX_LINE else None
            if mark is None:
                continue
            body = line[mark.end():]
            kept = _without_samples(body, p)
            if kept is None:
                continue
            orders = self._orders(kept, p)
            at = start + mark.end()
            if orders:
                item = self._item(kept, (orders[0].start(), orders[0].end()), p, ctx, "text")
                if item is not None:
                    counted.append(_Found(item, at, at + len(body)))
            elif not p.qty.search(body) and not p.sample.search(body):
                item = self._item(body, None, p, ctx, "text")
                if item is not None and _part_code(item.model) and len(body) <= 80 and not self._certified(body):
                    coded.append(_Found(item, at, at + len(body)))
        if counted:
            return counted
        return coded if len(coded) >= 2 else []

    def _certified(self, line: str) -> bool:
        return any(w.casefold() in self._certs for w in regex.findall(r"[\p{L}\d/\-]+", line))

    # -- cards --------------------------------------------------------------------------------------------------

    def _cards(self, text: str, p: _Patterns, ctx: Context, source: str) -> list[_Found]:
        """"Product Name: ... / Quantity: ..." fields: one line item per product field with a quantity."""
        cards: list[dict[str, tuple[str, int, int]]] = []
        card: dict[str, tuple[str, int, int]] = {}
        for start, line in _lines(text):
            m = _LABEL.match(line.strip())
            if m is None:
                continue
            role = self.headers.role(m["label"])
            if role == "item":
                role = "product"
            if role not in ("product", "model", "specification", "quantity", "target_price"):
                continue
            if role in card or (role == "product" and "model" in card and "quantity" in card):
                cards.append(card)
                card = {}
            card[role] = (m["value"].strip(), start, start + len(line))
        cards.append(card)
        out = []
        for c in cards:
            if ("product" not in c and "model" not in c) or "quantity" not in c:
                continue
            qty_text = c["quantity"][0]
            if p.sample.search(qty_text) or (value := quantity(qty_text, ctx)) is None:
                continue
            product = c.get("product", c.get("model", ("", 0, 0)))[0]
            model = c["model"][0] if "model" in c and "product" in c else ""
            price = c["target_price"][0] if "target_price" in c and money(c["target_price"][0], ctx) else ""
            spans = [v[1:] for v in c.values()]
            lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
            item = LineItem(product=_tidy(product), model=model, parameters=c.get("specification", ("", 0, 0))[0],
                            quantity=qty_text, amount=float(value["amount"]) if not value.get("container") else None,
                            unit=str(value.get("unit", "")), target_price=price,
                            evidence=" | ".join(text[a:b].strip() for a, b in sorted(spans)), source=source)
            if _LETTERS.search(item.product) and len(item.product) <= MAX_PRODUCT:
                out.append(_Found(item, lo, hi))
        return out

    # -- prose --------------------------------------------------------------------------------------------------

    def _prose(self, text: str, p: _Patterns, ctx: Context) -> list[_Found]:
        """Sentences that name two products or more, each with its own quantity; a sentence any of whose products
        cannot be told apart gives none."""
        out: list[_Found] = []
        for start, sentence in _sentences(text):
            if len(sentence) <= MAX_LINE:
                out += self._sentence(sentence, start, p, ctx)
        return out if len(out) >= 2 else []

    def _sentence(self, s: str, base: int, p: _Patterns, ctx: Context) -> list[_Found]:
        orders = self._orders(s, p)
        if not orders:
            return []
        spans = [(m.start("q"), m.end("q")) for m in orders]
        unit = ""
        if orders:
            first = quantity(orders[0].group("q"), ctx)
            unit = str((first or {}).get("unit", ""))
            for m in p.bare.finditer(s):
                if not any(a <= m.start("q") < b for a, b in spans) and not p.sample.search(_clause_at(s, m.start())):
                    spans.append((m.start("q"), m.end("q")))
        spans.sort()
        if len(spans) < 2:
            return []
        head = p.lead_in.sub("", _after_mark(s[: spans[0][0]]).strip(_EDGES)).strip(_EDGES)
        side = "before" if _LETTERS.search(head) else "after"
        bounds = [0]
        for (_, end), (nxt, _) in zip(spans, spans[1:], strict=False):
            joins = list(p.joiner.finditer(s, end, nxt))
            if not joins:
                return []
            j = joins[0] if side == "before" else joins[-1]
            bounds.append(j.start())
            bounds.append(j.end())
        bounds.append(len(s))
        out = []
        for k, (a, b) in enumerate(spans):
            lo, hi = bounds[2 * k], bounds[2 * k + 1]
            clause = s[lo:hi]
            if p.sample.search(clause):
                return []
            if side == "before":
                clause_text = _after_colon(clause[: b - lo]) if k == 0 else clause[: b - lo]
                shift = lo + (len(clause[: b - lo]) - len(clause_text))
                tail = clause[b - lo:]
                if len(_LETTERS.findall(tail)) > 12:
                    return []
            else:  # the product ends at the first mark after its quantity: "150 Stück Stehlampen, CIF Hamburg"
                end = next((c.start() for c in _CLAUSE_MARK.finditer(clause, b - lo)), len(clause))
                clause_text, shift = clause[:end], lo
            has_unit = p.qty.fullmatch(s[a:b]) is not None
            item = self._item(clause_text, (a - shift, b - shift), p, ctx, "text", "" if has_unit else unit, side)
            if item is None or not item.quantity or p.aside.match(item.product) or duration(item.product, ctx):
                return []  # "500 pcs for Spain and 200 pcs for Italy", "500 pcs now and 200 pcs next month"
            out.append(_Found(item, base + lo, base + hi))
        return out


# -- text tables ---------------------------------------------------------------------------------------------------

def text_tables(text: str) -> list[Table]:
    """Runs of two lines or more split into cells by "|" or tabs: each run a grid (its header row is found by the
    header words, `extractors.tables`)."""
    out: list[Table] = []
    run: list[tuple[str, ...]] = []
    places: list[str] = []
    n = 0
    for n, line in enumerate(text.splitlines(), 1):
        cells = _cells(line)
        if cells is not None:
            run.append(cells)
            places.append(f"line {n}")
            continue
        if line.strip() and _RULE_LINE.match(line):
            continue  # a ruling under a header: |---|---|
        if len(run) >= 2:
            out.append(Table("", f"table {len(out) + 1}", tuple(run), tuple(places)))
        run, places = [], []
    if len(run) >= 2:
        out.append(Table("", f"table {len(out) + 1}", tuple(run), tuple(places)))
    return out


_RULE_LINE = regex.compile(r"^\s*\|?(?:\s*:?-{2,}:?\s*\|?)+\s*$|^\s*[-=+]{5,}\s*$")


def _cells(line: str) -> tuple[str, ...] | None:
    if _RULE_LINE.match(line):
        return None
    if "\t" in line.strip():
        cells = [c.strip() for c in line.strip().split("\t")]
    elif line.count("|") >= 2 or (line.count("|") == 1 and not line.strip().startswith("|")):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
    else:
        return None
    return tuple(cells) if sum(1 for c in cells if c) >= 2 else None


# -- the findings of the line items --------------------------------------------------------------------------------

def _findings(found: list[_Found], source: str, part: str, ctx: Context) -> dict[str, Finding]:
    """Specs, quantity and target price as the body's line items state them (the rules' own findings win)."""
    if not found:
        return {}
    out: dict[str, Finding] = {}

    def add(item: str, value: object, rule: str, rows: list[_Found]) -> None:
        if value is None or not rows:
            return
        lo, hi = min(r.start for r in rows), max(r.end for r in rows)
        evidence = source[lo:hi] if 0 <= lo < hi <= len(source) else " | ".join(r.item.evidence for r in rows)
        out[item] = Finding(item, value, evidence[:500], lo, hi, rule, CONFIDENCE, part)

    described = [f for f in found if f.item.model or f.item.parameters]
    if described or len(found) >= 2:
        specs = " | ".join(" ".join(x for x in (f.item.product, f.item.model, f.item.parameters) if x) for f in found)[:500]
        add("specs", specs, "BODY_LINE_ITEMS", found)
    counted = [f for f in found if f.item.quantity]
    if counted and (value := quantity(counted[0].item.quantity, ctx)) is not None:
        add("quantity", value, "BODY_LINE_QUANTITY", counted)
    priced = [f for f in found if f.item.target_price]
    if priced and (price := money(priced[0].item.target_price, ctx)) is not None:
        price.setdefault("per", "unit")
        add("target_price", price, "BODY_LINE_PRICE", priced)
    return out


# -- text helpers --------------------------------------------------------------------------------------------------

def _lines(text: str) -> Iterator[tuple[int, str]]:
    at = 0
    for line in text.splitlines(keepends=True):
        yield at, line.rstrip("\r\n")
        at += len(line)


def _sentences(text: str) -> Iterator[tuple[int, str]]:
    at = 0
    for m in _SENTENCE.finditer(text):
        if m.start() > at:
            yield at, text[at:m.start()]
        at = m.end()
    if at < len(text):
        yield at, text[at:]


def _locate(text: str, evidence: str) -> tuple[int, int]:
    first = evidence.split(" | ")[0]
    at = text.find(first) if first else -1
    return (at, at + len(first)) if at >= 0 else (0, 0)


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for a, b in sorted(spans):
        if a > at:
            out.append(text[at:a])
        at = max(at, b)
    out.append(text[at:])
    return " ".join(" ".join(out).split())


def _tidy(text: str) -> str:
    text = " ".join(text.split()).strip(_EDGES)
    text = re.sub(r"\s+([,，;；])", r"\1", text)
    text = re.sub(r"[,，;；]\s*[,，;；]", ",", text)
    text = re.sub(r"\(\s*\)|（\s*）", "", text)
    return " ".join(text.split()).strip(_EDGES)


def _only_label(text: str, headers: Headers) -> bool:
    """A product that is only a header word ("Model", "型号"): the model code is the product."""
    return headers.role(text) in ("model", "item", "quantity") and len(text.split()) <= 2


def _after_colon(text: str) -> str:
    at = max(text.rfind(":"), text.rfind("："))
    return text[at + 1:] if at >= 0 else text


def _part_code(code: str) -> bool:
    """A model or part code that names a product by itself (6204-2RS, B-42), not a room or a block (12A, B3)."""
    return len(code) >= 4 and sum(ch.isdigit() for ch in code) >= 2


def _after_mark(text: str) -> str:
    """The words after the last colon or clause mark: "Hello, we need " -> " we need "."""
    at = max((m.end() for m in regex.finditer(r"[:：,;，；]", text)), default=0)
    return text[at:]


def _clause_at(text: str, at: int) -> str:
    lo = max((c.end() for c in _CLAUSE_MARK.finditer(text, 0, at)), default=0)
    hi = next((c.start() for c in _CLAUSE_MARK.finditer(text, at)), len(text))
    return text[lo:hi]


def _without_samples(body: str, p: _Patterns) -> str | None:
    """A list line without its clauses about a sample ("LED panel 500 pcs, 2 samples first"); None when its first
    clause is about one (the line asks for a sample)."""
    parts = regex.split(r"(?<=[,;，；(（])", body)
    if p.sample.search(parts[0]):
        return None
    return "".join(x for x in parts if not p.sample.search(x)).rstrip(",;，；(（ ")
