"""Everything a reply template may say, gathered from the message, its assessment and the seller profile.

Nothing internal (clarity, tier, priority, rule ids) is in the context, so it cannot reach a draft. The variables
are documented in reply_templates/README.md.
"""

from __future__ import annotations

import email.utils
from typing import TYPE_CHECKING, Any

import regex

from daemon import answers as answers_mod
from daemon import requirements
from daemon.customer import buyer_address, relay_of
from daemon.draft_html import RTL, Tables
from daemon.greeting import person_of
from daemon.parse.language import detect
from daemon.seller import Product
from extractors.checklist import is_no_reply
from extractors.core.model import Assessment, Checklist, Finding, ParsedMessage

if TYPE_CHECKING:
    from daemon.drafting import Drafter

TEMPLATE_LANGS = ("en", "zh", "es", "fr", "de", "pt", "ru", "ar", "tr", "it")
PLACEHOLDER = "[[{}]]"
_CONTROL = regex.compile(r"[\p{Cc}\p{Zl}\p{Zp}\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+")
_FORM_LINE = regex.compile(r"^\s*[\p{L}][\p{L} /()-]{0,30}\s*[:：]\s*\S")
_ARABIC = regex.compile(r"\p{Arabic}")
_CYRILLIC = regex.compile(r"\p{Cyrillic}")
_LETTER = regex.compile(r"\p{L}")
_SUBJECT_NOISE = regex.compile(
    r"^(?:re|fw|fwd|aw|wg|tr|rv|r)\s*:\s*|\b(?:rfq|request\s+for\s+(?:quotation|quote|price)|inquiry|enquiry|quotation|"
    r"price\s+request|purchase\s+order|order|urgent|new|询价|询盘|报价|cotizaci[oó]n|solicitud|pedido|demande\s+de\s+prix|devis|"
    r"anfrage|angebot|or[çc]amento|pedido|richiesta|preventivo|запрос|заявка|teklif|talep|طلب|عرض\s+سعر)\b\s*(?:for|of|about|de|für|per|на|için|:|-|–|—)?\s*",
    regex.I,
)
# words of a subject that name no product
_GENERIC = {"price", "prices", "pricing", "quote", "quotation", "quotations", "inquiry", "enquiry", "request", "rfq", "order",
            "orders", "purchase", "urgent", "new", "offer", "info", "information", "hello", "hi", "dear", "catalog", "catalogue",
            "list", "demande", "devis", "prix", "anfrage", "angebot", "preis", "solicitud", "cotización", "cotizacion",
            "pedido", "precio", "orçamento", "orcamento", "preço", "richiesta", "preventivo", "prezzo", "запрос", "заявка",
            "цена", "teklif", "talep", "fiyat", "طلب", "سعر", "询价", "报价", "询盘", "the", "for", "of", "and", "your", "our"}
# rules whose finding is stated row by row in the buyer's table: the reply refers to the file instead
_MANY_ROWS = ("ATTACHMENT_TABLE_ROWS", "ATTACHMENT_TABLE_QUANTITY", "ATTACHMENT_TABLE_PRICE")
# the buyer's own question about a topic makes the seller's question on the matching item redundant
_ASKED_ITEM = {"payment": "payment_terms", "lead_time": "lead_time", "certificates": "certification", "samples": "sample",
               "oem": "customization"}
# Small strings the drafting code itself writes (everything else lives in the templates).
STRINGS: dict[str, dict[str, str]] = {
    "en": {"product_named": "{name}", "verify_subject": "Check before replying: {subject}", "wrote": "On {when}, {who} wrote:", "wrote_nodate": "{who} wrote:", "buyer": "the buyer",
           "form_file": "sample-confirmation-form.txt", "not_stated": "not specified", "days": "{n} days",
           "per_unit": "per unit", "fallback_subject": "your inquiry", "the_product": "product"},
    "zh": {"product_named": "{name}", "verify_subject": "回复前请核实：{subject}", "wrote": "{when}，{who} 写道：", "wrote_nodate": "{who} 写道：", "buyer": "买方",
           "form_file": "sample-confirmation-form-zh.txt", "not_stated": "未注明", "days": "{n}天",
           "per_unit": "每件", "fallback_subject": "您的询价", "the_product": "该产品"},
    "es": {"product_named": "el producto {name}", "verify_subject": "Verificar antes de responder: {subject}", "wrote": "El {when}, {who} escribió:", "wrote_nodate": "{who} escribió:", "buyer": "el comprador",
           "form_file": "formulario-confirmacion-muestra.txt", "not_stated": "sin especificar", "days": "{n} días",
           "per_unit": "por unidad", "fallback_subject": "su consulta", "the_product": "el producto"},
    "fr": {"product_named": "le produit {name}", "verify_subject": "À vérifier avant de répondre : {subject}", "wrote": "Le {when}, {who} a écrit :", "wrote_nodate": "{who} a écrit :", "buyer": "l'acheteur",
           "form_file": "formulaire-confirmation-echantillon.txt", "not_stated": "non précisé", "days": "{n} jours",
           "per_unit": "l'unité", "fallback_subject": "votre demande", "the_product": "le produit"},
    "de": {"product_named": "das Produkt {name}", "verify_subject": "Vor der Antwort prüfen: {subject}", "wrote": "Am {when} schrieb {who}:", "wrote_nodate": "{who} schrieb:", "buyer": "der Käufer",
           "form_file": "musterbestaetigung.txt", "not_stated": "nicht angegeben", "days": "{n} Tage",
           "per_unit": "pro Stück", "fallback_subject": "Ihre Anfrage", "the_product": "das Produkt"},
    "pt": {"product_named": "o produto {name}", "verify_subject": "Verificar antes de responder: {subject}", "wrote": "Em {when}, {who} escreveu:", "wrote_nodate": "{who} escreveu:", "buyer": "o comprador",
           "form_file": "formulario-confirmacao-amostra.txt", "not_stated": "não especificado", "days": "{n} dias",
           "per_unit": "por unidade", "fallback_subject": "sua consulta", "the_product": "o produto"},
    "ru": {"product_named": "{name}", "verify_subject": "Проверить перед ответом: {subject}", "wrote": "{when}, {who} написал(а):", "wrote_nodate": "{who} написал(а):", "buyer": "покупатель",
           "form_file": "podtverzhdenie-obraztsa.txt", "not_stated": "не указано", "days": "{n} дн.",
           "per_unit": "за единицу", "fallback_subject": "ваш запрос", "the_product": "товар"},
    "ar": {"product_named": "{name}", "verify_subject": "للتحقق قبل الرد: {subject}", "wrote": "في {when}، كتب {who}:", "wrote_nodate": "كتب {who}:", "buyer": "المشتري",
           "form_file": "sample-confirmation-form-ar.txt", "not_stated": "غير محدد", "days": "{n} يومًا",
           "per_unit": "للوحدة", "fallback_subject": "استفساركم", "the_product": "المنتج"},
    "tr": {"product_named": "{name}", "verify_subject": "Yanıtlamadan önce kontrol edin: {subject}", "wrote": "{when} tarihinde {who} şunu yazdı:", "wrote_nodate": "{who} şunu yazdı:", "buyer": "alıcı",
           "form_file": "numune-onay-formu.txt", "not_stated": "belirtilmedi", "days": "{n} gün",
           "per_unit": "birim başına", "fallback_subject": "talebiniz", "the_product": "ürün"},
    "it": {"product_named": "il prodotto {name}", "verify_subject": "Da verificare prima di rispondere: {subject}", "wrote": "Il {when}, {who} ha scritto:", "wrote_nodate": "{who} ha scritto:", "buyer": "l'acquirente",
           "form_file": "modulo-conferma-campione.txt", "not_stated": "non specificato", "days": "{n} giorni",
           "per_unit": "al pezzo", "fallback_subject": "la vostra richiesta", "the_product": "il prodotto"},
}
# how numbers are written: (thousands separator, decimal separator)
_NUMBER_STYLE = {"en": (",", "."), "zh": (",", "."), "es": (".", ","), "fr": ("\u202f", ","), "de": (".", ","),
                 "pt": (".", ","), "ru": ("\u00a0", ","), "ar": (",", "."), "tr": (".", ","), "it": (".", ",")}


def header_text(value: str) -> str:
    """One header-safe line: control characters (CR, LF, NUL, bidi overrides...) become single spaces."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def placeholder(text: str) -> str:
    """A marker the salesperson must replace before sending."""
    return PLACEHOLDER.format(text)


def strings(lang: str) -> dict[str, str]:
    return STRINGS.get(lang, STRINGS["en"])


def number(amount: float, lang: str, decimals: int | None = None) -> str:
    """1200.5 -> "1,200.50" (en), "1.200,50" (es, de...), "1 200,50" (fr)."""
    places = decimals if decimals is not None else (0 if float(amount).is_integer() else 2)
    text = f"{amount:,.{places}f}"
    thousands, decimal = _NUMBER_STYLE.get(lang, (",", "."))
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def money(amount: float, lang: str) -> str:
    return number(amount, lang, 2)


def reply_language(msg: ParsedMessage, extracted: str) -> str:
    """The language to answer in: the buyer's prose (not the platform's "Field: value" lines) decides; a
    language without templates is answered in English."""
    prose = "\n".join(line for line in msg.text.splitlines() if line.strip() and not _FORM_LINE.match(line))
    sample = prose if len(_LETTER.findall(prose)) >= 12 else f"{msg.subject}\n{prose}"
    letters = len(_LETTER.findall(sample)) or 1
    if len(_ARABIC.findall(sample)) / letters > 0.3:
        return "ar"
    if len(_CYRILLIC.findall(sample)) / letters > 0.3:
        return "ru"
    lang, known = detect(sample)
    if known:
        return lang if lang in TEMPLATE_LANGS else "en"
    return extracted if extracted in TEMPLATE_LANGS else "en"


def value_text(finding: Finding | dict[str, Any] | None, lang: str) -> str:
    """A finding (or its stored form) as the short text a buyer recognises."""
    s = strings(lang)
    if finding is None:
        return s["not_stated"]
    f = finding.as_json() if isinstance(finding, Finding) else finding
    value, evidence = f.get("value"), str(f.get("evidence") or "").strip()
    if isinstance(value, str) and value.strip():
        return header_text(value)
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(str(v) for v in value)
    if isinstance(value, dict):
        if "amount" in value and "currency" in value:
            amount = value["amount"]
            return f"{value['currency']} {money(amount, lang)} {s['per_unit']}" if isinstance(amount, (int, float)) else evidence
        if "amount" in value and "unit" in value and isinstance(value["amount"], (int, float)):
            if value.get("container"):
                return f"{number(value['amount'], lang)} x {value['unit']}"
            return f"{number(value['amount'], lang)} {value['unit']}".strip()
        if "term" in value:
            return " ".join(str(value[k]) for k in ("term", "place") if value.get(k))
        if value.get("terms"):
            return str(value["terms"])
        if isinstance(value.get("days"), (int, float)) and not evidence:
            return s["days"].format(n=value["days"])
    return header_text(evidence) or (str(value) if value is not None else s["not_stated"])


def _quantity(f: Finding | None) -> float | None:
    if f is not None and isinstance(f.value, dict) and not f.value.get("container"):
        amount = f.value.get("amount")
        return float(amount) if isinstance(amount, (int, float)) else None
    return None


def price_text(p: Product, qty: float | None, currency: str, lang: str) -> str:
    band = p.band(qty)
    cur = p.currency or currency
    return f"{cur} {money(band.min, lang)}-{money(band.max, lang)}" if band else ""


def product_view(p: Product, qty: float | None, currency: str, lang: str) -> dict[str, Any]:
    band = p.band(qty)
    return {
        "name": p.label(lang), "model": p.models[0] if p.models else "", "moq": p.moq,
        "lead_time_days": p.lead_time_days, "material": p.material_in(lang), "certifications": list(p.certifications),
        "currency": p.currency or currency, "price_min": band.min if band else None, "price_max": band.max if band else None,
        "price_text": price_text(p, qty, currency, lang) or placeholder("unit price"),
    }


def subject_product(subject: str) -> str:
    """The product a subject names, in the buyer's words ("RFQ: stainless steel hinges" -> "stainless steel hinges")."""
    text = header_text(subject)
    for _ in range(3):
        text = _SUBJECT_NOISE.sub("", text, count=1).strip(" :-–—,.!?#")
    words = [w.strip(".,:;!?()[]").casefold() for w in text.split()]
    if not words or len(text) > 60 or not _LETTER.search(text) or len(_LETTER.findall(text)) < 3:
        return ""
    if all(w in _GENERIC or len(w) < 3 for w in words):  # "price", "Demande de", "Urgent order"
        return ""
    return requirements.shorten(text, 60)


def recipient(msg: ParsedMessage, relay: bool = False) -> str:
    """Reply-To when usable, else From; never a no-reply address, never a platform's notifier or another relay
    (a web form): then the form's e-mail field."""
    if msg.platform or relay:
        return buyer_address(msg, None, (), relay=True)
    for raw in (msg.reply_to, msg.from_addr):
        addr = header_text(email.utils.parseaddr(raw or "")[1])
        if addr.count("@") == 1 and not is_no_reply(addr):
            return addr
    return ""


def build(d: Drafter, msg: ParsedMessage, a: Assessment) -> dict[str, Any]:
    """Every variable a template may use (see reply_templates/README.md); nothing internal."""
    c = a.checklist
    lang = d.language_of(reply_language(msg, c.language))
    seller, catalogue, terms = d.seller, d.seller.data.catalogue, d.seller.terms
    matched = seller.match(" ".join((msg.subject, msg.text, msg.form,
                                     *(f"{li.product} {li.model} {li.parameters}" for li in c.line_items))))
    qty = _quantity(c.get("quantity"))
    files = buyer_files(c, msg)
    hint = subject_product(msg.subject)
    named = bool(hint or c.get("specs") is not None or c.line_items)
    # a catalogue reply to a buyer who names no product shows the whole range; one who names a product we do not
    # make gets no unrelated price list
    shown = matched[:3] if matched or a.action != "catalogue_reply" or named else seller.products
    products = [product_view(p, qty, catalogue.currency, lang) for p in shown]

    def label(item: str) -> str:
        return d.labels.label(item, lang)

    def vtext(f: Finding | None) -> str:
        if f is not None and f.part == "attachment" and len(c.line_items) > 1 and f.rule in _MANY_ROWS \
                and (file := file_of(f.source.split("; ")[0], msg)):
            return as_listed(d, lang, header_text(file))
        return value_text(f, lang)

    def labels_of(item: str) -> tuple[str, ...]:
        """The item's labels in every language, as the words of a "Label: value" line that names it."""
        return tuple(w for w in d.labels.items.get(item, {}).values() if len(w) >= 2)

    def words(f: Finding) -> str:
        return requirements.show(f, msg, vtext(f), labels_of(f.item)).text

    product_name = matched[0].label(lang) if matched else ""
    rows = requirements.line_items(c, msg, product_name or hint, vtext, labels_of)
    lines = [_line(row, matched, catalogue.currency, lang, qty, len(rows)) for row in rows]
    if not product_name and rows:
        product_name = rows[0]["product"] if "[[" not in rows[0]["product"] else ""
    skip = ("specs", "quantity", "target_price", "trade_terms") if lines else ()
    confirmed = requirements.confirmed(c, msg, label, vtext, skip, labels_of)
    risk = dict(a.order_risk)
    fee = catalogue.sample_fee
    s = strings(lang)
    asked = answers_mod.asked(c)
    destination = c.get("destination")
    person = person_of(msg)
    deposit = int(risk.get("deposit_pct") or terms.deposit_pct or 30)
    payment = c.get("payment_terms")
    examples = _examples(matched, lang)
    asked = answers_mod.asked(c)
    said = "\n".join((msg.subject, msg.text, msg.form))
    theirs = {_ASKED_ITEM[t] for t in asked if t in _ASKED_ITEM}  # the buyer asked us about these: we answer
    asked_items = [i for i in a.questions if not d.labels.mentioned(i, said) and i not in theirs]
    if len(asked_items) < len(a.questions):  # ask the next missing items instead of what the buyer mentioned
        spare = [i for i in c.missing if i not in a.questions and i not in ("company", "contact", "sample")
                 and not d.labels.mentioned(i, said) and i not in theirs]
        asked_items += spare[: len(a.questions) - len(asked_items)]
    return {
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "subject": header_text(msg.subject),
        "buyer": {"name": _display(msg), "address": recipient(msg, bool(relay_of(msg, d.platforms, d.own_domains))),
                  **person.as_dict()},
        "seller": {
            "company": seller.company.name, "name": d.from_name, "title": seller.sender.title,
            "phone": seller.sender.phone, "website": seller.company.website, "email": d.from_addr,
            "signature": seller.signature(lang),
        },
        "terms": {"payment": terms.payment_in(lang), "deposit_pct": terms.deposit_pct, "incoterm": terms.incoterm,
                  "port": terms.port, "basis": " ".join(x for x in (terms.incoterm, terms.port) if x),
                  "validity_days": terms.quote_validity_days, "accepted_payment": list(terms.accepted_payment)},
        "platform": msg.platform,
        "products": products,
        "product_name": product_name,
        "product_known": bool(matched),
        "lines": lines,
        "buyer_files": files,
        "confirmed": confirmed,
        "understood": understood(c, msg, label, vtext, labels_of),
        "unsure": any(not x["sure"] for x in confirmed) or any("[[check:" in str(v) for row in lines for v in row.values()),
        "missing": [{"id": i, "label": label(i)} for i in c.missing],
        "questions": [d.labels.question(i, lang, s["product_named"].replace("{name}", product_name) if product_name else s["the_product"],
                                        examples.get(i, "")) for i in asked_items],
        "asked": asked,
        "asked_items": asked_items,
        "answers": answers_mod.answers(asked, seller, matched, lang, seller.catalogue_pdf() is not None,
                                       words(destination) if destination else ""),
        "fast_track": a.follow_up_mode == "fast_track",
        "quote": {"validity_days": terms.quote_validity_days,
                  "lead_time_days": max((p.lead_time_days for p in matched[:3] if p.lead_time_days), default=None),
                  "basis": words(trade) if (trade := c.get("trade_terms")) else " ".join(x for x in (terms.incoterm, terms.port) if x)},
        "sample": {
            "fee": f"{catalogue.currency} {money(fee, lang)}" if fee is not None else placeholder("sample fee"),
            "form_file": s["form_file"], "requested": c.signal("sample_requested"), "send": a.sample == "send",
            "days": terms.sample_lead_days,
        },
        "order": {
            "accept": bool(risk.get("accept", False)),
            "missing_required": [label(i) for i in risk.get("missing_required", [])],
            "unclear_core": [label(i) for i in risk.get("unclear_core", [])],
            "change_clause": bool(risk.get("change_clause", False)),
            "deposit_pct": deposit,
            "payment": words(payment) if payment else "",
            "differences": answers_mod.term_differences(
                c, seller, lang, deposit, words, label, matched,
                lambda band: f"{band[2] or catalogue.currency} {money(band[0], lang)}-{money(band[1], lang)}") if c.signal("is_order") else [],
        },
        "changes": [
            {"id": item, "label": label(item), "before": value_text(before, lang), "after": value_text(after, lang)}
            for item, before, after in a.changes
        ],
        "repeat": {"known": a.last_order_known, "reference": c.signal("refers_to_earlier_order")},
        "content": seller.content(lang),
        "has_catalogue": seller.catalogue_pdf() is not None,
        "tables": Tables(),
    }


def understood(c: Checklist, msg: ParsedMessage, label: Any, vtext: Any, labels_of: Any) -> list[dict[str, Any]]:
    """In a buyer's reply within a thread: the items this message states that the thread had left open, each as
    {id, label, value, sure} (empty outside a thread)."""
    if not c.thread_items:
        return []
    new = tuple(i for i, f in c.items if f is not None and f.part != "thread" and i not in c.thread_items)
    return [x for x in requirements.confirmed(c, msg, label, vtext, (), labels_of) if x["id"] in new]


def file_of(source: str, msg: ParsedMessage) -> str:
    """The attachment a source ("RFQ_2026.xlsx, Sheet1!A5:F5") names, or ""."""
    return next((a.filename for a in msg.attachments if source == a.filename or source.startswith(a.filename + ", ")), "")


def buyer_files(c: Checklist, msg: ParsedMessage) -> list[str]:
    """The buyer's files that stated requirements (line items or checklist items), in order."""
    files: list[str] = []
    sources = [li.source for li in c.line_items]
    sources += [f.source for _, f in c.items if f is not None and f.part == "attachment"]
    for source in sources:
        for one in source.split("; "):
            file = header_text(file_of(one, msg))
            if file and file not in files:
                files.append(file)
    return files


def as_listed(d: Drafter, lang: str, file: str) -> str:
    """'as listed in your RFQ.xlsx' in the reply's language (the `as_listed` words of <lang>/_macros.j2)."""
    words = d.words(lang).get("P", {}).get("as_listed") or "as listed in your {file}"
    return words.replace("{file}", file)


def _line(row: dict[str, Any], matched: list[Product], currency: str, lang: str, qty: float | None, n: int) -> dict[str, Any]:
    """A requirement row with the catalogue facts of its product: the product of the row's own words when the
    catalogue has it, else (for a single row) the product the whole inquiry matched."""
    p = matched[0] if matched and n == 1 else None
    if p is not None and row["product"] and p.label(lang) != row["product"] and "[[" not in row["product"]:
        row = {**row, "product": p.label(lang)}
    if p is None and not row["product"] and matched:
        p = matched[0]
    return {**row, "known": p is not None, "model": row.get("model") or (p.models[0] if p and p.models else ""),
            "price_text": price_text(p, qty, currency, lang) if p else "", "moq": p.moq if p else None,
            "lead_time_days": p.lead_time_days if p else None, "certifications": list(p.certifications) if p else [],
            "product": row["product"] or (p.label(lang) if p else "")}


def _examples(products: list[Product], lang: str) -> dict[str, str]:
    """Examples for the follow-up questions, taken from the catalogue products the inquiry matched."""
    if not products:
        return {}
    models = [m for p in products[:3] for m in p.models[:1]]
    certs = list(dict.fromkeys(c for p in products[:3] for c in p.certifications))
    sep = "、" if lang == "zh" else "، " if lang == "ar" else ", "
    out = {"specs": sep.join(models), "certification": sep.join(certs[:4]), "material": products[0].material_in(lang)}
    return {k: v for k, v in out.items() if v}


def _display(msg: ParsedMessage) -> str:
    """The display name for the To header: the sender's, unless a platform or an address."""
    name = header_text(msg.from_name)
    return "" if msg.platform or "@" in name else name
