"""The draft stage: Assessment + ParsedMessage -> Draft (an RFC 5322 reply, threaded, text and HTML parts).

Nothing internal (scores, tiers, priorities) goes into a draft. Prices, lead times and certifications come from
the seller's catalogue only; what it lacks is a marked placeholder for the salesperson. The variables every
template receives are documented in reply_templates/README.md.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import mimetypes
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import regex

from daemon import mime
from daemon.seller import Product, Seller
from extractors.checklist import is_no_reply
from extractors.core.errors import ConfigError, RulesError
from extractors.core.model import ITEM_IDS, Assessment, Draft, Finding, LineItem, ParsedMessage

TEMPLATE_LANGS = ("en", "zh", "es")
ACTIONS = (
    "catalogue_reply", "follow_up_questions", "precise_quote", "range_quote", "sample_accept",
    "sample_decline", "nurture", "order_confirmation", "repeat_order",
)
FORM_TEMPLATE = "sample_confirmation_form.txt.j2"
PLACEHOLDER = "[[{}]]"
_RE_PREFIX = regex.compile(
    r"^\s*(?:(?:re|aw|sv|vs|rv|ref|antw|r|rif|回复|回覆|答复)\s*(?:\[\d+\])?\s*[:：]\s*)+", regex.I
)
_CONTROL = regex.compile(r"[\p{Cc}\p{Zl}\p{Zp}\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+")
_MSG_ID = regex.compile(r"<[^<>\s\p{Cc}]+@[^<>\s\p{Cc}]+>")
# Small per-language strings the drafting code itself writes (everything else lives in the templates).
_STRINGS: dict[str, dict[str, str]] = {
    "en": {"wrote": "On {when}, {who} wrote:", "wrote_nodate": "{who} wrote:", "buyer": "the buyer",
           "form_file": "sample-confirmation-form.txt", "not_stated": "not specified", "days": "{n} days",
           "per_unit": "per unit", "fallback_subject": "your inquiry", "line": "{what}: {quantity}", "target": "target price {price}",
           "sep": ", ", "as_listed": "as listed in your {file}"},
    "zh": {"wrote": "{when}，{who} 写道：", "wrote_nodate": "{who} 写道：", "buyer": "买方",
           "form_file": "sample-confirmation-form-zh.txt", "not_stated": "未注明", "days": "{n}天",
           "per_unit": "每件", "fallback_subject": "您的询价", "line": "{what}：{quantity}", "target": "目标价 {price}",
           "sep": "，", "as_listed": "详见您的 {file}"},
    "es": {"wrote": "El {when}, {who} escribió:", "wrote_nodate": "{who} escribió:", "buyer": "el comprador",
           "form_file": "formulario-confirmacion-muestra.txt", "not_stated": "sin especificar", "days": "{n} días",
           "per_unit": "por unidad", "fallback_subject": "su consulta", "line": "{what}: {quantity}",
           "target": "precio objetivo {price}", "sep": ", ", "as_listed": "según su {file}"},
}
_THOUSANDS = {"en": ",", "es": ".", "zh": ""}
_MANY_ROWS = ("ATTACHMENT_TABLE_ROWS", "ATTACHMENT_TABLE_QUANTITY", "ATTACHMENT_TABLE_PRICE")  # items stated row by row


def header_text(value: str) -> str:
    """One header-safe line: control characters (CR, LF, NUL, bidi overrides...) become single spaces."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def reply_subject(subject: str, lang: str = "en") -> str:
    """`Re: <subject>` with earlier reply prefixes (Re:, RE:, AW:, 回复:) folded into one; one safe line."""
    base = _RE_PREFIX.sub("", header_text(subject)).strip()[:900]
    return f"Re: {base or _STRINGS.get(lang, _STRINGS['en'])['fallback_subject']}"


def placeholder(text: str) -> str:
    """A marker the salesperson must replace before sending."""
    return PLACEHOLDER.format(text)


def draft_message_id(key_text: str, rules_version: str, domain: str) -> str:
    """A Message-ID that is the same for the same message key and rules version (so re-runs find the draft)."""
    digest = hashlib.sha256(f"{key_text}|{rules_version}".encode()).hexdigest()[:32]
    return f"<triage.{digest}@{domain}>"


@dataclass(frozen=True)
class Labels:
    items: dict[str, dict[str, str]]
    questions: dict[str, dict[str, str]]

    def label(self, item: str, lang: str) -> str:
        names = self.items.get(item, {})
        return names.get(lang) or names.get("en") or item

    def question(self, item: str, lang: str, product: str) -> str:
        bank = self.questions.get(lang) or self.questions["en"]
        text = bank.get(item) or self.questions["en"].get(item, "")
        return text.replace("{product}", product)


def load_labels(rules_dir: Path) -> Labels:
    problems = []
    try:
        items = tomllib.loads((rules_dir / "items.toml").read_text(encoding="utf-8")).get("items", {})
        questions = tomllib.loads((rules_dir / "questions.toml").read_text(encoding="utf-8")).get("questions", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"{rules_dir}: cannot read items.toml or questions.toml: {e}") from e
    for item in ITEM_IDS:
        if item not in items:
            problems.append(f"{rules_dir / 'items.toml'} [items -> {item}] missing; add its labels")
        for lang in TEMPLATE_LANGS:
            if lang in questions and item not in questions[lang]:
                problems.append(f"{rules_dir / 'questions.toml'} [questions -> {lang} -> {item}] missing; add the question")
    if "en" not in questions:
        problems.append(f"{rules_dir / 'questions.toml'} [questions -> en] missing; the English questions are the fallback")
    if problems:
        raise RulesError(problems)
    return Labels(items, questions)


def templates_dir() -> Path:
    return Path(str(resources.files("reply_templates")))


def make_environment(folders: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["placeholder"] = placeholder
    return env


def check_templates(env: jinja2.Environment) -> None:
    """Every action has an English text and HTML template that compiles; raise RulesError listing what fails."""
    problems = []
    for lang in TEMPLATE_LANGS:
        names = [f"{lang}/{action}.{ext}.j2" for action in ACTIONS for ext in ("txt", "html")] + [f"{lang}/{FORM_TEMPLATE}"]
        for name in names:
            try:
                env.get_template(name)
            except jinja2.TemplateNotFound:
                if lang == "en":
                    problems.append(f"reply_templates/{name}: missing; every action needs an English template")
            except jinja2.TemplateSyntaxError as e:
                problems.append(f"reply_templates/{name}:{e.lineno} {e.message}")
    if problems:
        raise RulesError(problems)


def _number(amount: float, lang: str) -> str:
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    if lang == "es":  # 1.200,50
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text.replace(",", _THOUSANDS.get(lang, ","))


def value_text(finding: dict[str, Any] | None, lang: str) -> str:
    """A finding (as stored: {"value": ..., "evidence": ...}) as the short text a buyer recognises."""
    s = _STRINGS.get(lang, _STRINGS["en"])
    if not finding:
        return s["not_stated"]
    value, evidence = finding.get("value"), str(finding.get("evidence") or "").strip()
    if isinstance(value, str) and value.strip():
        return header_text(value)
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(str(v) for v in value)
    if isinstance(value, dict):
        if "amount" in value and "currency" in value:
            amount = value["amount"]
            return f"{value['currency']} {_money(amount, lang)} {s['per_unit']}" if isinstance(amount, (int, float)) else evidence
        if "amount" in value and "unit" in value and isinstance(value["amount"], (int, float)):
            if value.get("container"):
                return f"{_number(value['amount'], lang)} x {value['unit']}"
            return f"{_number(value['amount'], lang)} {value['unit']}".strip()
        if "term" in value:
            return " ".join(str(value[k]) for k in ("term", "place") if value.get(k))
        if value.get("terms"):
            return str(value["terms"])
        if isinstance(value.get("days"), (int, float)) and not evidence:
            return s["days"].format(n=value["days"])
    return header_text(evidence) or (str(value) if value is not None else s["not_stated"])


def _quantity(assessment: Assessment) -> float | None:
    q = assessment.checklist.get("quantity")
    if q is not None and isinstance(q.value, dict) and not q.value.get("container"):
        amount = q.value.get("amount")
        return float(amount) if isinstance(amount, (int, float)) else None
    return None


def _money(amount: float, lang: str = "en") -> str:
    text = f"{amount:.2f}"
    return text.replace(".", ",") if lang == "es" else text


def _product_view(p: Product, qty: float | None, currency: str, lang: str) -> dict[str, Any]:
    band = p.band(qty)
    currency = p.currency or currency
    return {
        "name": p.label(lang),
        "model": p.models[0] if p.models else "",
        "moq": p.moq,
        "lead_time_days": p.lead_time_days,
        "material": p.material_in(lang),
        "certifications": list(p.certifications),
        "currency": currency,
        "price_min": band.min if band else None,
        "price_max": band.max if band else None,
        "price_text": f"{currency} {_money(band.min, lang)}-{_money(band.max, lang)}" if band else placeholder("unit price"),
    }


def _file_of(source: str, msg: ParsedMessage) -> str:
    """The attachment a source ("RFQ_2026.xlsx, Sheet1!A5:F5") names, or ""."""
    return next((a.filename for a in msg.attachments if source == a.filename or source.startswith(a.filename + ", ")), "")


def _line_item_view(li: LineItem, lang: str, msg: ParsedMessage) -> dict[str, Any]:
    """A line item as the buyer wrote it, and as one line of a reply: product (model), parameters: quantity, target."""
    s = _STRINGS.get(lang, _STRINGS["en"])
    what = header_text(li.product) + (f" ({header_text(li.model)})" if li.model else "")
    what += s["sep"] + header_text(li.parameters) if li.parameters else ""
    text = s["line"].format(what=what, quantity=header_text(li.quantity)) if li.quantity else what
    if li.target_price:
        text += s["sep"] + s["target"].format(price=header_text(li.target_price))
    file = _file_of(li.source, msg)
    place = li.source[len(file) + 2:] if file else li.source
    return {"product": li.product, "model": li.model, "parameters": li.parameters, "quantity": li.quantity,
            "unit": li.unit, "amount": li.amount, "target_price": li.target_price, "file": file, "place": place,
            "text": text}


def _buyer_files(a: Assessment, msg: ParsedMessage) -> list[str]:
    """The buyer's files that stated requirements (line items or checklist items), in order."""
    files: list[str] = []
    sources = [li.source for li in a.checklist.line_items]
    sources += [f.source for _, f in a.checklist.items if f is not None and f.part == "attachment"]
    for source in sources:
        for one in source.split("; "):
            file = header_text(_file_of(one, msg))
            if file and file not in files:
                files.append(file)
    return files


class Drafter:
    """Renders the reply for an assessment; pure except for reading templates and the catalogue files."""

    def __init__(self, seller: Seller, labels: Labels, env: jinja2.Environment, identity: str | None = None):
        self.seller = seller
        self.labels = labels
        self.env = env
        name, addr = email.utils.parseaddr(identity) if identity else (seller.sender.name, seller.sender.address)
        self.from_name, self.from_addr = header_text(name or seller.sender.name), addr or seller.sender.address
        try:
            mime.address(self.from_name, self.from_addr)
        except ValueError as e:
            raise ConfigError(f"the drafts' sender {self.from_addr!r} is not a usable address; fix the mailbox's "
                             "identity or [sender] address in the seller profile") from e

    def language_of(self, lang: str) -> str:
        return lang if lang in TEMPLATE_LANGS else "en"

    def context(self, msg: ParsedMessage, a: Assessment) -> dict[str, Any]:
        """Every variable a template may use (see reply_templates/README.md); nothing internal."""
        lang = self.language_of(a.checklist.language)
        catalogue = self.seller.data.catalogue
        rows = a.checklist.line_items
        matched = self.seller.match(" ".join((msg.subject, msg.text, msg.form, *(f"{li.product} {li.model} {li.parameters}" for li in rows))))
        qty = _quantity(a)
        shown = matched[:3] if matched or a.action != "catalogue_reply" else self.seller.products
        products = [_product_view(p, qty, catalogue.currency, lang) for p in shown]
        specs = a.checklist.get("specs")
        product_name = matched[0].label(lang) if matched else (value_text(specs.as_json(), lang) if specs else "")
        confirmed = [
            {"id": item, "label": self.labels.label(item, lang), "value": self._value(f, lang, msg, len(rows))}
            for item, f in a.checklist.items
            if f is not None and item not in ("company", "contact")
        ]
        risk = dict(a.order_risk)
        fee = catalogue.sample_fee
        return {
            "lang": lang,
            "subject": header_text(msg.subject),
            "buyer": {"name": self._buyer_name(msg), "address": self._recipient(msg)},
            "seller": {
                "company": self.seller.company.name,
                "name": self.from_name,
                "title": self.seller.sender.title,
                "phone": self.seller.sender.phone,
                "website": self.seller.company.website,
                "email": self.from_addr,
                "signature": self.seller.signature(lang),
            },
            "platform": msg.platform,
            "products": products,
            "product_name": product_name,
            "confirmed": confirmed,
            "missing": [{"id": i, "label": self.labels.label(i, lang)} for i in a.checklist.missing],
            "questions": [self.labels.question(i, lang, product_name or "") for i in a.questions],
            "fast_track": a.follow_up_mode == "fast_track",
            "sample": {
                "fee": f"{catalogue.currency} {_money(fee, lang)}" if fee is not None else placeholder("sample fee"),
                "form_file": _STRINGS[lang]["form_file"],
            },
            "order": {
                "accept": bool(risk.get("accept", False)),
                "missing_required": [self.labels.label(i, lang) for i in risk.get("missing_required", [])],
                "unclear_core": [self.labels.label(i, lang) for i in risk.get("unclear_core", [])],
                "change_clause": bool(risk.get("change_clause", False)),
                "deposit_pct": risk.get("deposit_pct", 30),
            },
            "changes": [
                {"id": item, "label": self.labels.label(item, lang), "before": value_text(before, lang),
                 "after": value_text(after, lang)}
                for item, before, after in a.changes
            ],
            "content": self.seller.content(lang),
            "has_catalogue": self.seller.catalogue_pdf() is not None,
            "line_items": [_line_item_view(li, lang, msg) for li in a.checklist.line_items],
            "buyer_files": _buyer_files(a, msg),
        }

    @staticmethod
    def _value(f: Finding, lang: str, msg: ParsedMessage, rows: int) -> str:
        """A confirmed value; one that several rows of the buyer's table state refers to the file by name."""
        if f.part == "attachment" and rows > 1 and f.rule in _MANY_ROWS and (file := _file_of(f.source.split("; ")[0], msg)):
            return _STRINGS.get(lang, _STRINGS["en"])["as_listed"].format(file=header_text(file))
        return value_text(f.as_json(), lang)

    @staticmethod
    def _buyer_name(msg: ParsedMessage) -> str:
        name = header_text(msg.from_name)
        return "" if msg.platform or "@" in name else name

    @staticmethod
    def _recipient(msg: ParsedMessage) -> str:
        """Reply-To when usable, else From (both as the parse stage's strict address parse found them, never from a
        display name); never a no-reply address, never a platform's notifier."""
        if msg.platform:
            return ""
        for addr in (msg.reply_to, msg.from_addr):
            if addr and addr == header_text(addr) and addr.count("@") == 1 and not is_no_reply(addr):
                return addr
        return ""

    def render(self, action: str, ctx: dict[str, Any]) -> tuple[str, str]:
        return self._render(f"{action}.txt.j2", ctx), self._render(f"{action}.html.j2", ctx)

    def _render(self, name: str, ctx: dict[str, Any]) -> str:
        try:
            template = self.env.get_template(f"{ctx['lang']}/{name}")
        except jinja2.TemplateNotFound:
            template = self.env.get_template(f"en/{name}")
        return template.render(ctx)

    def attachments(self, action: str, ctx: dict[str, Any]) -> list[tuple[str, str, bytes]]:
        """(filename, content type, bytes) of the files the reply carries."""
        if action == "catalogue_reply":
            pdf = self.seller.catalogue_pdf()
            if pdf is not None:
                return [(pdf.name, mimetypes.guess_type(pdf.name)[0] or "application/octet-stream", pdf.read_bytes())]
        if action == "sample_accept":
            form = self._render(FORM_TEMPLATE, ctx)
            return [(ctx["sample"]["form_file"], "text/plain", form.encode("utf-8"))]
        return []

    def draft(self, msg: ParsedMessage, a: Assessment, rules_version: str, now: dt.datetime | None = None) -> Draft | None:
        if not a.drafts_reply:
            return None
        ctx = self.context(msg, a)
        text, html = self.render(a.action, ctx)
        text, html = _with_quote(text, html, msg, ctx["lang"])
        domain = self.from_addr.rpartition("@")[2] or "localhost"
        message_id = draft_message_id(str(msg.key), rules_version, domain)
        subject = reply_subject(msg.subject, ctx["lang"])
        to = ctx["buyer"]["address"]
        headers = [("From", mime.address(self.from_name, self.from_addr))]
        if to:
            headers.append(("To", mime.address(ctx["buyer"]["name"], to)))
        headers += [
            ("Subject", mime.unstructured(subject, "Subject")),
            ("Date", email.utils.format_datetime(now or dt.datetime.now(dt.UTC))),
            ("Message-ID", message_id),
        ]
        parent = _MSG_ID.search(msg.message_id or "")
        if parent:
            refs = [m.group(0) for r in msg.references for m in [_MSG_ID.search(r)] if m and m.group(0) != parent.group(0)]
            headers += [("In-Reply-To", parent.group(0)), ("References", " ".join(refs[-10:] + [parent.group(0)]))]
        data = mime.message(headers, text, html, self.attachments(a.action, ctx))
        return Draft(msg.key, message_id, a.action, to, subject, data)


def _with_quote(text: str, html: str, msg: ParsedMessage, lang: str = "en") -> tuple[str, str]:
    """The buyer's message quoted below the reply (text: "> " lines; HTML: a blockquote, escaped)."""
    original = msg.text.strip()
    if not original:
        return text, html
    s = _STRINGS.get(lang, _STRINGS["en"])
    who = header_text(msg.from_name) or header_text(msg.from_addr) or s["buyer"]
    header = s["wrote"].format(when=msg.date.strftime("%Y-%m-%d %H:%M"), who=who) if msg.date else s["wrote_nodate"].format(who=who)
    quoted = "\n".join("> " + line if line else ">" for line in original.splitlines())
    text = f"{text.rstrip()}\n\n{header}\n{quoted}\n"
    body = markupsafe.Markup("<br>\n").join(markupsafe.escape(line) for line in original.splitlines())
    block = markupsafe.Markup(
        '<p>{}</p>\n<blockquote style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">{}</blockquote>\n'
    ).format(header, body)
    if "</body>" in html:
        html = html.replace("</body>", str(block) + "</body>", 1)
    else:
        html = html + str(block)
    return text, html
