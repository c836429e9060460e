"""The extract stage: ParsedMessage -> Checklist (18 items with evidence, buyer signals with reasons, strength)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import regex

from extractors import upstream
from extractors.core.model import CONTEXT_SIGNALS, ITEM_IDS, RISK_SIGNALS, Checklist, Finding, ParsedMessage, Signal
from extractors.engine import Engine, Result
from extractors.identity import Identity, IdentityReader
from extractors.rules import RuleSet

_RISKY_ATTACHMENT = regex.compile(
    r"\.(?:zip|rar|7z|gz|tgz|ace|arj|cab|iso|img|r\d\d|html?|shtml|xhtml|svg|exe|scr|com|pif|bat|cmd|js|jse|vbs|vbe|wsf|jar|lnk|hta|msi|ps1|xll|one)$",
    regex.I,
)
_ORDER_WORDS = regex.compile(r"\b(?:p\.?\s?o\.?|purchase order|order|rfq|quotation|invoice|payment|remittance)\b|订单|采购单|pedido|orden", regex.I)
_AUTO_SUBJECT = regex.compile(
    r"^(?:auto(?:matic)?[ -]?reply|autoreply|auto-response|out of (?:the )?office|ooo\b|abwesenheit|"
    r"respuesta autom[aá]tica|fuera de la oficina|自动回复|undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery failed|returned mail|failure notice)",
    regex.I,
)
_BOUNCE_SENDER = regex.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|bounce[s]?)[@+]", regex.I)
_NOREPLY = regex.compile(r"^(?:no-?reply|noreply|do-?not-?reply|donotreply)[\w.+-]{0,30}@", regex.I)
_SCHEME = regex.compile(r"^https?://", regex.I)
_LARGE_QTY = 1000


@dataclass(frozen=True, slots=True)
class StrengthWeights:
    corporate_domain: int = 2
    website_matches: int = 2
    company: int = 1
    title: int = 1
    phone: int = 1
    stated_size: int = 1
    large_quantity: int = 1
    verified_badge: int = 1
    repeat_customer: int = 2
    freemail: int = -1
    high_min: int = 6
    medium_min: int = 3


class Extractor:
    """Compiled rules plus the identity reader; `extract` is pure (no I/O)."""

    def __init__(self, ruleset: RuleSet, weights: StrengthWeights | None = None, own_domains: tuple[str, ...] = ()):
        self.ruleset = ruleset
        self.engine = Engine(ruleset)
        self.identity = IdentityReader(ruleset)
        self.weights = weights or StrengthWeights()
        self.own_domains = tuple(d.lower() for d in own_domains)

    @property
    def version(self) -> str:
        return self.ruleset.version

    def run_rules(self, msg: ParsedMessage) -> Result:
        parts = {"text": msg.text, "subject": msg.subject, "form": msg.form, "signature": msg.signature}
        date = msg.date.date() if msg.date else dt.date.today()
        return self.engine.run(parts, msg.language, date)

    def extract(self, msg: ParsedMessage, repeat_customer: bool = False) -> Checklist:
        result = self.run_rules(msg)
        ident = self.identity.read(msg)
        items: dict[str, Finding | None] = {item: result.findings.get(item) for item in ITEM_IDS}
        items["company"] = ident.company
        items["contact"] = ident.contact
        signals = self._signals(msg, result, ident, items)
        strength, reasons = self._strength(msg, ident, items, repeat_customer)
        return Checklist(
            key=msg.key,
            language=msg.language,
            items=tuple((item, items[item]) for item in ITEM_IDS),
            signals=tuple(signals),
            strength=strength,
            strength_reasons=tuple(reasons),
        )

    def _signals(self, msg: ParsedMessage, result: Result, ident: Identity, items: dict[str, Finding | None]) -> list[Signal]:
        fired = {s.name: s for s in result.signals}
        out: list[Signal] = []
        auto = _auto_reply(msg) or (
            Signal("auto_reply", fired["out_of_office"].rule, fired["out_of_office"].reason) if "out_of_office" in fired else None
        )
        if auto is not None:
            out.append(auto)
        invalid = self._invalid(msg, fired, items)
        if invalid is not None:
            out.append(invalid)
        for name in ("sample_requested", "is_order", "declines_to_clarify"):
            if name in fired:
                out.append(fired[name])
            elif name == "sample_requested" and items["sample"] is not None:
                out.append(Signal(name, items["sample"].rule, f"the buyer states a sample need: {items['sample'].evidence!r}"))
        price_only = self._price_only(msg, fired, ident, items)
        if price_only is not None:
            out.append(price_only)
        return out + self._context_signals(msg, fired, ident, items, invalid is not None)

    def _context_signals(self, msg: ParsedMessage, fired: dict[str, Signal], ident: Identity,
                         items: dict[str, Finding | None], invalid: bool) -> list[Signal]:
        """The buyer's questions (asks_*), risk signs of a lure and upstream verdicts, and what kind of mail it is."""
        out = [s for name, s in fired.items() if name.startswith("asks_") or name in CONTEXT_SIGNALS
               or (name in RISK_SIGNALS and not (name == "risk_platform_spoof" and msg.platform))]
        risky = [a.filename for a in msg.attachments if _RISKY_ATTACHMENT.search(a.filename or "")]
        if risky and not invalid:
            out.append(Signal("risk_attachment", "RISK_ARCHIVE_OR_HTML_ATTACHMENT",
                              f"an archive, HTML, disk-image or executable attachment ({risky[0]})"))
        qty = items["quantity"]
        large = qty is not None and isinstance(qty.value, dict) and (qty.value.get("container") or (qty.value.get("amount") or 0) >= _LARGE_QTY)
        if ident.freemail and not msg.platform and "is_order" in fired and large:
            out.append(Signal("risk_freemail_order", "RISK_FREEMAIL_LARGE_ORDER",
                              "a large order from a free-mail address, with no company domain behind it"))
        return out + upstream.verdicts(msg)

    def _invalid(self, msg: ParsedMessage, fired: dict[str, Signal], items: dict[str, Finding | None]) -> Signal | None:
        """Spam and scams: lure wording, risky attachments on an order, look-alike links, mass-mailed generic asks."""
        concrete = _concrete(items, ("specs", "quantity", "lead_time", "material", "target_price", "customization"))
        if "lure" in fired and concrete <= 1:
            return Signal("invalid", fired["lure"].rule, f"scam or phishing wording: {fired['lure'].reason}")
        risky = [a.filename for a in msg.attachments if _RISKY_ATTACHMENT.search(a.filename or "")]
        if risky and (_ORDER_WORDS.search(msg.subject) or _ORDER_WORDS.search(msg.text)):
            return Signal("invalid", "INVALID_RISKY_ATTACHMENT", f"an order-style mail carries an archive, HTML or executable attachment ({risky[0]})")
        look_alike = self._look_alike(msg)
        if look_alike:
            return Signal("invalid", "INVALID_LOOK_ALIKE_LINK", f"a link points to a look-alike of our domain ({look_alike})")
        if concrete == 0 and "generic_interest" in fired:
            return Signal("invalid", fired["generic_interest"].rule,
                          f"mass-mailed generic inquiry naming no product ({fired['generic_interest'].reason})")
        if concrete == 0 and "generic_greeting" in fired and (len(msg.to) + len(msg.cc) >= 5 or self._reply_to_mismatch(msg)):
            return Signal("invalid", "INVALID_MASS_GENERIC", "generic greeting, no product named, mass-mailed or replies diverted to free mail")
        return None

    def _reply_to_mismatch(self, msg: ParsedMessage) -> bool:
        """Replies diverted from a corporate sender to a free-mail address, a common scam pattern."""
        if not msg.reply_to or msg.reply_to == msg.from_addr:
            return False
        return self.identity.is_freemail(msg.reply_to.rpartition("@")[2]) and not self.identity.is_freemail(
            msg.from_addr.rpartition("@")[2]
        )

    def _look_alike(self, msg: ParsedMessage) -> str:
        for link in msg.links:
            host = _SCHEME.sub("", link).split("/")[0].split(":")[0].lower()
            for own in self.own_domains:
                stem = own.split(".")[0]
                if len(stem) >= 4 and stem in host and not (host == own or host.endswith("." + own)):
                    return host
        return ""

    def _price_only(self, msg: ParsedMessage, fired: dict[str, Signal], ident: Identity, items: dict[str, Finding | None]) -> Signal | None:
        """Only a price, price list or catalogue is asked: no two concrete requirements stated."""
        if _concrete(items, tuple(i for i in ITEM_IDS if i not in ("company", "contact", "sample"))) > 1:
            return None
        if "price_only" in fired:
            return fired["price_only"]
        if "generic_interest" in fired:
            return Signal("price_only", fired["generic_interest"].rule, "generic interest in our products, nothing concrete")
        if ident.freemail and items["company"] is None and "generic_greeting" in fired:
            return Signal("price_only", "PRICE_ONLY_ANONYMOUS_GENERIC", "free-mail sender, no company, generic greeting, no product named")
        return None

    def _strength(self, msg: ParsedMessage, ident: Identity, items: dict[str, Finding | None], repeat: bool) -> tuple[str, list[str]]:
        w = self.weights
        score = 0
        reasons: list[str] = []

        def add(cond: bool, points: int, why: str) -> None:
            nonlocal score
            if cond:
                score += points
                reasons.append(f"{why} ({points:+d})")

        add(ident.corporate_domain, w.corporate_domain, "corporate sender domain")
        add(ident.freemail and not msg.platform, w.freemail, "free-mail sender")
        add(ident.website_matches, w.website_matches, "website matches the sender domain")
        add(items["company"] is not None, w.company, "company named")
        add(ident.has_title, w.title, "job title given")
        add(ident.has_phone, w.phone, "phone given")
        add(ident.stated_size, w.stated_size, "size of business stated")
        qty = items["quantity"]
        large = qty is not None and isinstance(qty.value, dict) and (qty.value.get("container") or (qty.value.get("amount") or 0) >= _LARGE_QTY)
        add(bool(large), w.large_quantity, "large quantity")
        add(bool(msg.platform) and "verified" in msg.form.lower(), w.verified_badge, "platform verified buyer")
        add(repeat, w.repeat_customer, "repeat customer")
        level = "high" if score >= w.high_min else "medium" if score >= w.medium_min else "low"
        return level, reasons


def merge_thread(checklist: Checklist, prior: list[dict[str, Any]]) -> Checklist:
    """The checklist of a thread: what earlier buyer messages stated (oldest first) fills the items this message
    leaves open; this message's own statements win. Inherited findings carry part="thread"."""
    if not prior:
        return checklist
    inherited: dict[str, Finding] = {}
    for old in prior:
        for item, f in old.items():
            if item in ITEM_IDS and isinstance(f, dict) and f.get("rule"):
                span = f.get("span") or [0, 0]
                inherited[item] = Finding(item, f.get("value"), str(f.get("evidence", "")), int(span[0]), int(span[1]),
                                          str(f["rule"]), float(f.get("confidence", 0.5)), "thread")
    items = tuple((item, f if f is not None else inherited.get(item)) for item, f in checklist.items)
    return replace(checklist, items=items)


def _concrete(items: dict[str, Finding | None], names: tuple[str, ...]) -> int:
    return sum(1 for i in names if items.get(i) is not None)


def _auto_reply(msg: ParsedMessage) -> Signal | None:
    auto = msg.header("auto-submitted").lower()
    if auto and not auto.startswith("no"):
        return Signal("auto_reply", "AUTO_SUBMITTED_HEADER", f"Auto-Submitted: {auto} (RFC 3834)")
    for name in ("x-autoreply", "x-autorespond"):
        if msg.header(name):
            return Signal("auto_reply", "AUTO_X_AUTOREPLY_HEADER", f"{name} header")
    precedence = msg.header("precedence").lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return Signal("auto_reply", "AUTO_PRECEDENCE_HEADER", f"Precedence: {precedence}")
    if msg.header("list-id") or msg.header("list-unsubscribe"):
        return Signal("auto_reply", "AUTO_MAILING_LIST", "mailing-list or newsletter headers (List-Id / List-Unsubscribe)")
    if _BOUNCE_SENDER.match(msg.from_addr) or "report-type=delivery-status" in msg.header("content-type").lower():
        return Signal("auto_reply", "AUTO_BOUNCE", "delivery status notification (bounce)")
    if _AUTO_SUBJECT.match(msg.subject):
        return Signal("auto_reply", "AUTO_SUBJECT", "auto-reply or bounce subject")
    return None


def is_no_reply(address: str) -> bool:
    return bool(_NOREPLY.match(address))
