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
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import regex

from daemon import draft_context, mime
from daemon.draft_context import STRINGS, TEMPLATE_LANGS, header_text, placeholder, strings
from daemon.draft_html import Tables, highlight, to_html
from daemon.seller import Seller
from extractors import safe_regex
from extractors.core.errors import ConfigError, RulesError
from extractors.core.model import ITEM_IDS, Assessment, Draft, ParsedMessage

__all__ = ["ACTIONS", "STRINGS", "TEMPLATE_LANGS", "Drafter", "header_text", "placeholder", "reply_subject"]
ACTIONS = (
    "catalogue_reply", "follow_up_questions", "precise_quote", "range_quote", "sample_accept",
    "sample_decline", "nurture", "order_confirmation", "repeat_order",
)
NOTE = "verify_note"  # the note to the salesperson about a mail held back (action "verify")
NURTURE_MAIL = "nurture_mail"  # the mail a tier C buyer gets on the nurture rhythm (daemon/nurture.py)
FORM_TEMPLATE = "sample_confirmation_form.txt.j2"
COMMON = "_common"  # the replies' structure, in each language's words (P, T, F in <lang>/_macros.j2)
WORDS = ("P", "T", "F")
_RE_PREFIX = regex.compile(
    r"^\s*(?:(?:re|aw|sv|vs|rv|ref|antw|r|rif|回复|回覆|答复|ответ|ynt|رد)\s*(?:\[\d+\])?\s*[:：]\s*)+", regex.I
)
_MSG_ID = regex.compile(r"<[^<>\s\p{Cc}]+@[^<>\s\p{Cc}]+>")


def reply_subject(subject: str, lang: str = "en") -> str:
    """`Re: <subject>` with earlier reply prefixes (Re:, RE:, AW:, 回复:) folded into one; one safe line."""
    base = _RE_PREFIX.sub("", header_text(subject)).strip()[:900]
    return f"Re: {base or strings(lang)['fallback_subject']}"


def draft_message_id(key_text: str, rules_version: str, domain: str) -> str:
    """A Message-ID that is the same for the same message key and rules version (so re-runs find the draft)."""
    digest = hashlib.sha256(f"{key_text}|{rules_version}".encode()).hexdigest()[:32]
    return f"<triage.{digest}@{domain}>"


@dataclass(frozen=True)
class Labels:
    items: dict[str, dict[str, str]]
    questions: dict[str, dict[str, str]]
    mentions: dict[str, list[regex.Pattern[str]]] = field(default_factory=dict)

    def mentioned(self, item: str, text: str) -> bool:
        """The buyer's text mentions the item after all ([mentions] in questions.toml): no question for it."""
        return any(p.search(text) for p in self.mentions.get(item, ()))

    def label(self, item: str, lang: str) -> str:
        names = self.items.get(item, {})
        return names.get(lang) or names.get("en") or item

    def question(self, item: str, lang: str, product: str, examples: str = "") -> str:
        """The question for a missing item; its `<item>_examples` form when the catalogue gives examples."""
        bank = self.questions.get(lang) or self.questions["en"]
        if lang not in self.questions:
            lang = "en"
        text = (examples and bank.get(f"{item}_examples")) or bank.get(item) or self.questions["en"].get(item, "")
        return text.replace("{product}", product).replace("{examples}", examples)


def load_labels(rules_dir: Path) -> Labels:
    problems = []
    try:
        items = tomllib.loads((rules_dir / "items.toml").read_text(encoding="utf-8")).get("items", {})
        bank = tomllib.loads((rules_dir / "questions.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"{rules_dir}: cannot read items.toml or questions.toml: {e}") from e
    questions = bank.get("questions", {})
    mentions: dict[str, list[regex.Pattern[str]]] = {}
    for item, patterns in bank.get("mentions", {}).items():
        if item not in ITEM_IDS:
            problems.append(f"{rules_dir / 'questions.toml'} [mentions -> {item}] unknown item; use one of the 18 item ids")
            continue
        for i, pattern in enumerate(patterns):
            try:
                mentions.setdefault(item, []).append(safe_regex.compile_bounded(pattern, regex.I | regex.V0))
            except safe_regex.UnsafePattern as e:
                problems.append(f"{rules_dir / 'questions.toml'} [mentions -> {item} -> {i}] {e}")
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
    return Labels(items, questions, mentions)


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
    env.globals["num"] = _num
    env.globals["fill"] = fill
    return env


def fill(text: str, **values: Any) -> str:
    """A phrase with its {name} slots filled: fill("MOQ for {name}: {n} pcs.", name="X", n=200)."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", "" if value is None else str(value))
    return text


@jinja2.pass_context
def _num(ctx: Any, value: Any, decimals: int | None = None) -> str:
    """A number as the reply's language writes it (1,000 / 1.000 / 1 000); text is passed through."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return draft_context.number(value, ctx.get("lang", "en"), decimals)
    return "" if value is None else str(value)


def check_templates(env: jinja2.Environment) -> None:
    """Every action has a template (the language's own, or the common one) that compiles, and every language's
    words (P, T, F in <lang>/_macros.j2) have every key the English ones have; raise RulesError listing what
    fails. An HTML template is optional (the HTML part is otherwise built from the text)."""
    problems: list[str] = []
    for name in [f"{COMMON}/{a}.txt.j2" for a in (*ACTIONS, NURTURE_MAIL)] + [f"{COMMON}/{FORM_TEMPLATE}", f"en/{NOTE}.txt.j2"]:
        _compiles(env, name, problems, required=True)
    english = _words(env, "en", problems)
    for lang in TEMPLATE_LANGS:
        for name in [f"{lang}/{a}.{ext}.j2" for a in (*ACTIONS, NOTE, NURTURE_MAIL) for ext in ("txt", "html")] + [f"{lang}/{FORM_TEMPLATE}"]:
            _compiles(env, name, problems, required=False)
        words = _words(env, lang, problems) if lang != "en" else english
        for table in WORDS:
            missing = sorted(set(english.get(table, {})) - set(words.get(table, {})))
            if missing and words:
                problems.append(f"reply_templates/{lang}/_macros.j2 [{table}] missing {', '.join(missing)}; add them (see en/_macros.j2)")
    if problems:
        raise RulesError(problems)


def _compiles(env: jinja2.Environment, name: str, problems: list[str], required: bool) -> None:
    try:
        env.get_template(name)
    except jinja2.TemplateNotFound:
        if required:
            problems.append(f"reply_templates/{name}: missing; every action needs a template")
    except jinja2.TemplateSyntaxError as e:
        problems.append(f"reply_templates/{name}:{e.lineno} {e.message}")


def _words(env: jinja2.Environment, lang: str, problems: list[str]) -> dict[str, dict[str, str]]:
    """The P, T and F tables of a language's _macros.j2 ({} when the language has none)."""
    try:
        module = env.get_template(f"{lang}/_macros.j2").module  # type: ignore[attr-defined]
    except jinja2.TemplateNotFound:
        return {}
    except (jinja2.TemplateError, TypeError) as e:
        problems.append(f"reply_templates/{lang}/_macros.j2: {e}")
        return {}
    return {t: dict(getattr(module, t, {}) or {}) for t in WORDS}


class Drafter:
    """Renders the reply for an assessment; pure except for reading templates and the catalogue files."""

    def __init__(self, seller: Seller, labels: Labels, env: jinja2.Environment, identity: str | None = None,
                 note_on_verify: bool = False, risk_signs: tuple[str, ...] = ()):
        self.seller = seller
        self.labels = labels
        self.env = env
        self.note_on_verify = note_on_verify  # a mail held back gets a note to the salesperson in Drafts
        self.platforms: Any = None  # relay senders (platforms.toml [[relay]]), set by the toolkit
        self.own_domains: tuple[str, ...] = ()
        self.risk_signs = risk_signs  # the signal names that count as risk signs (decisions.toml [risk] signs)
        name, addr = email.utils.parseaddr(identity) if identity else (seller.sender.name, seller.sender.address)
        self.from_name, self.from_addr = header_text(name or seller.sender.name), addr or seller.sender.address
        try:
            mime.address(self.from_name, self.from_addr)
        except ValueError as e:
            raise ConfigError(f"the drafts' sender {self.from_addr!r} is not a usable address; fix the mailbox's "
                             "identity or [sender] address in the seller profile") from e

    def words(self, lang: str) -> dict[str, dict[str, str]]:
        """The word tables (P, T, F) of a language's _macros.j2."""
        return _words(self.env, lang, [])

    def language_of(self, lang: str) -> str:
        return lang if lang in TEMPLATE_LANGS else "en"

    def context(self, msg: ParsedMessage, a: Assessment) -> dict[str, Any]:
        """Every variable a template may use (see reply_templates/README.md); nothing internal."""
        return draft_context.build(self, msg, a)

    def render(self, action: str, ctx: dict[str, Any]) -> tuple[str, str]:
        """(text, HTML) of a reply: the language's text template (English when the language has none); its HTML
        template when the same folder has one, else the HTML built from the text."""
        name, template = self._template(ctx["lang"], f"{action}.txt.j2")
        ctx = {**ctx, "tables": Tables()}
        text = _tidy(template.render(ctx))
        try:
            html = highlight(self.env.get_template(f"{name}/{action}.html.j2").render(ctx))
        except jinja2.TemplateNotFound:
            html = to_html(text, ctx["lang"], ctx["tables"])
        return text, html

    def _template(self, lang: str, name: str) -> tuple[str, jinja2.Template]:
        """The language's own template, else the common one (in the language's words), else English."""
        try:
            return lang, self.env.get_template(f"{lang}/{name}")
        except jinja2.TemplateNotFound:
            pass
        try:
            return lang, self.env.get_template(f"{COMMON}/{name}")
        except jinja2.TemplateNotFound:
            return "en", self.env.get_template(f"en/{name}")

    def _render(self, name: str, ctx: dict[str, Any]) -> str:
        return _tidy(self._template(ctx["lang"], name)[1].render(ctx))

    def attachments(self, action: str, ctx: dict[str, Any]) -> list[tuple[str, str, bytes]]:
        """(filename, content type, bytes) of the files the reply carries."""
        if action == "catalogue_reply":
            pdf = self.seller.catalogue_pdf()
            if pdf is not None:
                return [(pdf.name, mimetypes.guess_type(pdf.name)[0] or "application/octet-stream", pdf.read_bytes())]
        if action == "sample_accept":
            form = self._render(FORM_TEMPLATE, {**ctx, "tables": Tables()})
            return [(ctx["sample"]["form_file"], "text/plain", form.encode("utf-8"))]
        return []

    def draft(self, msg: ParsedMessage, a: Assessment, rules_version: str, now: dt.datetime | None = None, *,
              subject: str | None = None) -> Draft | None:
        """The reply to an inquiry; with `subject`, a first mail of ours under that subject that quotes nothing (a
        follow-up of a trade-show lead)."""
        if a.action == "verify":
            return self.note(msg, a, rules_version, now) if self.note_on_verify else None
        if not a.drafts_reply:
            return None
        ctx = self.context(msg, a)
        text, html = self.render(a.action, ctx)
        if subject is None:
            text, html = _with_quote(text, html, msg, ctx["lang"])
        domain = self.from_addr.rpartition("@")[2] or "localhost"
        message_id = draft_message_id(str(msg.key), rules_version, domain)
        subject = reply_subject(msg.subject, ctx["lang"]) if subject is None else header_text(subject)
        to = ctx["buyer"]["address"]
        headers = [("From", mime.address(self.from_name, self.from_addr))]
        if to:
            headers.append(("To", mime.address(ctx["buyer"]["name"], to)))
        headers += [
            ("Subject", mime.unstructured(subject, "Subject")),
            ("Date", email.utils.format_datetime(now or dt.datetime.now(dt.UTC))),
            ("Message-ID", message_id),
        ]
        headers += _thread_headers(msg)
        data = mime.message(headers, text, html, self.attachments(a.action, ctx))
        return Draft(msg.key, message_id, a.action, to, subject, data)

    def note(self, msg: ParsedMessage, a: Assessment, rules_version: str, now: dt.datetime | None = None) -> Draft:
        """A note to the salesperson (from and to the seller's own address, in Drafts beside the inquiry): what to
        verify before anyone answers, and why. It never goes to the buyer."""
        lang = self.language_of(self.seller.sender.language)
        signs = [s for s in a.checklist.signals if s.name in self.risk_signs]
        ctx: dict[str, Any] = {"lang": lang, "subject": header_text(msg.subject), "sender": header_text(msg.from_addr),
               "sender_name": header_text(msg.from_name), "reply_to": header_text(msg.reply_to),
               "signs": [{"name": s.name, "rule": s.rule, "reason": s.reason} for s in signs],
               "attachments": [header_text(x.filename) for x in msg.attachments if x.filename],
               "links": [header_text(u)[:120] for u in msg.links[:5]], "seller": {"signature": self.seller.signature(lang)},
               "tables": Tables()}
        text = self._render(f"{NOTE}.txt.j2", ctx)
        html = to_html(text, lang, ctx["tables"])
        domain = self.from_addr.rpartition("@")[2] or "localhost"
        message_id = draft_message_id(str(msg.key), rules_version, domain)
        subject = strings(lang)["verify_subject"].format(subject=header_text(msg.subject) or "-")
        headers = [("From", mime.address(self.from_name, self.from_addr)), ("To", mime.address(self.from_name, self.from_addr)),
                   ("Subject", mime.unstructured(subject[:900], "Subject")),
                   ("Date", email.utils.format_datetime(now or dt.datetime.now(dt.UTC))), ("Message-ID", message_id)]
        headers += _thread_headers(msg)
        return Draft(msg.key, message_id, "verify", self.from_addr, subject, mime.message(headers, text, html))


def _thread_headers(msg: ParsedMessage) -> list[tuple[str, str]]:
    """In-Reply-To and References that thread the draft to the inquiry."""
    parent = _MSG_ID.search(msg.message_id or "")
    if not parent:
        return []
    refs = [m.group(0) for r in msg.references for m in [_MSG_ID.search(r)] if m and m.group(0) != parent.group(0)]
    return [("In-Reply-To", parent.group(0)), ("References", " ".join(refs[-10:] + [parent.group(0)]))]


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _with_quote(text: str, html: str, msg: ParsedMessage, lang: str = "en") -> tuple[str, str]:
    """The buyer's message quoted below the reply (text: "> " lines; HTML: a blockquote, escaped)."""
    original = msg.text.strip()
    if not original:
        return text, html
    s = strings(lang)
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
