"""The extract stage: ParsedMessage -> Checklist (18 items with evidence, buyer signals with reasons, strength)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import regex

from extractors import upstream
from extractors.attached import AttachmentItems
from extractors.body_items import BodyItems, Words
from extractors.core.model import (
    CONTEXT_SIGNALS,
    ITEM_IDS,
    QUESTION_TOPICS,
    RISK_SIGNALS,
    Attachment,
    Checklist,
    Finding,
    ParsedMessage,
    Signal,
)
from extractors.engine import Engine, Result
from extractors.identity import Identity, IdentityReader
from extractors.normalise import Context
from extractors.policy import Condition, Policy, load_policy
from extractors.rules import RuleSet, shipped_dir
from extractors.tables import Headers, load_headers

_NOREPLY = regex.compile(r"^(?:no-?reply|noreply|do-?not-?reply|donotreply)[\w.+-]{0,30}@", regex.I)
_SCHEME = regex.compile(r"^https?://", regex.I)
# risk signs found here rather than by a rule: a dangerous attachment, a large order from free mail, the verdicts
# of the receiving server (extractors/upstream.py)
_COMPUTED_RISKS = ("risk_attachment", "risk_freemail_order", "upstream_spam", "upstream_auth_fail")
_FACT = regex.compile(r"\{([a-z_]+)(\.text)?\}")


class Extractor:
    """Compiled rules plus the identity reader and the playbook's strength points and signal conditions
    (`policy`, by default from the shipped decisions.toml); `extract` is pure (no I/O)."""

    def __init__(self, ruleset: RuleSet, policy: Policy | None = None, own_domains: tuple[str, ...] = (),
                 headers: Headers | None = None, words: Words | None = None):
        self.ruleset = ruleset
        self.engine = Engine(ruleset)
        self.attached = AttachmentItems(self.engine, headers or load_headers())
        self.body = BodyItems(ruleset, self.attached.headers, words)
        self.identity = IdentityReader(ruleset)
        self.policy = policy if policy is not None else load_policy(shipped_dir() / "decisions.toml")
        self.own_domains = tuple(d.lower() for d in own_domains)

    @property
    def version(self) -> str:
        return self.ruleset.version

    def run_rules(self, msg: ParsedMessage) -> Result:
        parts = {
            "text": msg.text, "subject": msg.subject, "form": msg.form, "signature": msg.signature,
            "headers": "\n".join(f"{name}: {value}" for name, value in msg.headers),
            "sender": msg.from_addr,
            "filenames": "\n".join(a.filename for a in msg.attachments if a.filename),
        }  # fmt: skip
        date = msg.date.date() if msg.date else dt.date.today()
        return self.engine.run(parts, msg.language, date)

    def extract(self, msg: ParsedMessage, repeat_customer: bool = False) -> Checklist:
        result = self.run_rules(msg)
        ident = self.identity.read(msg)
        date = msg.date.date() if msg.date else dt.date.today()
        attached = self.attached.read(msg, result.findings, date)
        body_items, from_body = self.body.read(msg, Context(date=date, language=msg.language))
        if attached.line_items:  # an attached table lists the products: the body's lines are not read as them
            body_items, from_body = (), {}
        items: dict[str, Finding | None] = {
            item: result.findings.get(item) or from_body.get(item) or attached.findings.get(item) for item in ITEM_IDS}
        items["company"] = ident.company
        items["contact"] = ident.contact
        signals = self._signals(msg, result, ident, items, attached.signals)
        strength, reasons = self._strength(msg, ident, items, repeat_customer)
        return Checklist(
            key=msg.key,
            language=msg.language,
            items=tuple((item, items[item]) for item in ITEM_IDS),
            signals=tuple(signals),
            strength=strength,
            strength_reasons=tuple(reasons),
            line_items=attached.line_items or body_items,
        )

    def _signals(self, msg: ParsedMessage, result: Result, ident: Identity, items: dict[str, Finding | None],
                 from_attachments: tuple[Signal, ...] = ()) -> list[Signal]:
        """Each buyer signal: the first of its conditions (decisions.toml [signals]) that holds. A condition's
        count of concrete items is checked before its facts, which are found only when asked for. A signal the
        rules give on the attachments' text (an order document, a lure) counts as one given on the body."""
        facts = _Facts(self, msg, result, ident, items, from_attachments)
        counts = self.policy.signals.counts
        out: list[Signal] = []
        for name, conditions in self.policy.signals.conditions():
            for c in conditions:
                if _holds(c, facts, items, counts):
                    out.append(_signal(name, c, facts))
                    break
        return out + self._context_signals(msg, facts, ident, items, any(s.name == "invalid" for s in out))

    def _context_signals(self, msg: ParsedMessage, facts: _Facts, ident: Identity, items: dict[str, Finding | None],
                         invalid: bool) -> list[Signal]:
        """The buyer's questions (asks_*), risk signs of a lure, upstream verdicts and what kind of mail it is: the
        signals the drafts read, beside the buyer signals of decisions.toml."""
        out: list[Signal] = []
        for name in (*(f"asks_{topic}" for topic in QUESTION_TOPICS), *CONTEXT_SIGNALS, *RISK_SIGNALS):
            if name in _COMPUTED_RISKS or (name == "risk_platform_spoof" and msg.platform):
                continue
            found = facts.get(name)
            if found is not None:
                out.append(Signal(name, found[0] or name.upper(), found[1]))
        risky = next((a for a in msg.attachments if a.danger), None)
        if risky is not None and not invalid:
            out.append(Signal("risk_attachment", "RISK_DANGEROUS_ATTACHMENT", f"{risky.danger} attached ({risky.filename})"))
        qty = items["quantity"]
        large = qty is not None and isinstance(qty.value, dict) and bool(
            qty.value.get("container") or (qty.value.get("amount") or 0) >= self.policy.strength.large_quantity)
        if ident.freemail and not msg.platform and "is_order" in facts and large:
            out.append(Signal("risk_freemail_order", "RISK_FREEMAIL_LARGE_ORDER",
                              "a large order from a free-mail address, with no company domain behind it"))
        return out + upstream.verdicts(msg)

    def _reply_to_mismatch(self, msg: ParsedMessage) -> bool:
        """Replies diverted from a corporate sender to a free-mail address, a common scam pattern."""
        if not msg.reply_to or msg.reply_to == msg.from_addr:
            return False
        return self.identity.is_freemail(msg.reply_to.rpartition("@")[2]) and not self.identity.is_freemail(
            msg.from_addr.rpartition("@")[2]
        )

    def _reply_to_numeric_freemail(self, msg: ParsedMessage) -> str:
        """The Reply-To address when it is a free-mail box named only by digits (a phone number, 15270181537@163.com)
        and differs from the sender: the bulk mailer sends from one address, the broker reads another."""
        if not msg.reply_to or msg.reply_to.lower() == msg.from_addr.lower():
            return ""
        local, _, host = msg.reply_to.rpartition("@")
        return msg.reply_to if len(local) >= 6 and local.isdigit() and self.identity.is_freemail(host) else ""

    def _reply_to_look_alike(self, msg: ParsedMessage) -> str:
        """The Reply-To domain when its name is one or two letters away from the sender's (larimasamb.com and
        larimasamba.com): replies go to whoever registered the look-alike. A company's other domain with the same
        name (example.de beside example.com) is not one."""
        if not msg.reply_to or not msg.from_addr:
            return ""
        reply_host, from_host = msg.reply_to.rpartition("@")[2].lower(), msg.from_addr.rpartition("@")[2].lower()
        a, b = _domain_name(reply_host).replace("-", ""), _domain_name(from_host).replace("-", "")
        if a == b or min(len(a), len(b)) < 5 or self.identity.is_freemail(reply_host):
            return ""
        return reply_host if _edits(a, b) <= 2 else ""

    def _sender_look_alike(self, msg: ParsedMessage) -> str:
        """The sender's (or Reply-To) domain, with the name it imitates, when its name is one letter away from a
        company name the mail writes ("bakertiliy.com" in a mail signed Baker Tilly) or up to two from one of
        [signals] look_alike_names ("aIibaba.com": one letter for a name of six to eight letters, two for a longer
        one); a written name of eight letters or more; always a name of the same length."""
        written = {w for w in _written_names(f"{msg.from_name}\n{msg.subject}\n{msg.text}\n{msg.signature}") if len(w) >= 8}
        known = {n.lower() for n in self.policy.signals.look_alike_names}
        for address in (msg.from_addr, msg.reply_to):
            host = address.rpartition("@")[2].lower()
            if not host or self.identity.is_freemail(host) or msg.platform:
                continue
            name = _domain_name(host).replace("-", "")
            for other in known:
                most = 2 if len(other) >= 9 else 1
                if len(other) >= 6 and len(other) == len(name) and 0 < _mismatches(name, other) <= most:
                    return f"{host} (like {other})"
            for other in written:
                if len(other) == len(name) and _mismatches(name, other) == 1:
                    return f"{host} (like {other})"
        return ""

    def _look_alike(self, msg: ParsedMessage) -> str:
        for link in msg.links:
            host = _SCHEME.sub("", link).split("/")[0].split(":")[0].lower()
            for own in self.own_domains:
                stem = own.split(".")[0]
                if len(stem) >= 4 and stem in host and not (host == own or host.endswith("." + own)):
                    return host
        return ""

    def _strength(self, msg: ParsedMessage, ident: Identity, items: dict[str, Finding | None], repeat: bool) -> tuple[str, list[str]]:
        """The buyer's strength: the points of every sign found (decisions.toml [strength])."""
        rules = self.policy.strength
        qty = items["quantity"]
        large = qty is not None and isinstance(qty.value, dict) and bool(
            qty.value.get("container") or (qty.value.get("amount") or 0) >= rules.large_quantity)
        found = {
            "corporate_domain": ident.corporate_domain,
            "freemail": ident.freemail and not msg.platform,
            "website_matches": ident.website_matches,
            "company": items["company"] is not None,
            "title": ident.has_title,
            "phone": ident.has_phone,
            "stated_size": ident.stated_size,
            "large_quantity": large,
            "verified_badge": bool(msg.platform) and "verified" in msg.form.lower(),
            "repeat_customer": repeat,
        }
        score = 0
        reasons: list[str] = []
        for sign, present in found.items():
            if present and (points := rules.signs.get(sign)) is not None:
                score += points.points
                reasons.append(f"{points.reason} ({points.points:+d})")
        level = "high" if score >= rules.high_min else "medium" if score >= rules.medium_min else "low"
        return level, reasons


class _Facts:
    """What holds of a message, each fact found when first asked for: fact -> (rule id, reason, what it found),
    for the rules' signals and the facts of `policy.FACTS`."""

    def __init__(self, extractor: Extractor, msg: ParsedMessage, result: Result, ident: Identity,
                 items: dict[str, Finding | None], from_attachments: tuple[Signal, ...] = ()):
        self.extractor, self.msg, self.result, self.ident, self.items = extractor, msg, result, ident, items
        self.from_attachments = {s.name: s for s in from_attachments}
        self._found: dict[str, tuple[str, str, str] | None] = {}

    def get(self, name: str) -> tuple[str, str, str] | None:
        if name not in self._found:
            self._found[name] = self._find(name)
        return self._found[name]

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def _find(self, name: str) -> tuple[str, str, str] | None:
        msg, ext = self.msg, self.extractor
        if name == "look_alike_link":
            host = ext._look_alike(msg)
            return ("", "a link to a look-alike of our domain", host) if host else None
        if name == "mass_mailed":
            recipients = len(msg.to) + len(msg.cc)
            return ("", "mass-mailed", f"{recipients} recipients") if recipients >= ext.policy.signals.mass_recipients else None
        if name == "reply_to_freemail":
            return ("", "replies diverted to free mail", msg.reply_to.rpartition("@")[2]) if ext._reply_to_mismatch(msg) else None
        if name == "reply_to_numeric_freemail":
            found = ext._reply_to_numeric_freemail(msg)
            return ("", "replies go to a free-mail box named by digits", found) if found else None
        if name == "freemail":
            return ("", "free-mail sender", msg.from_addr.rpartition("@")[2]) if self.ident.freemail else None
        if name == "no_company":
            return ("", "no company named", "") if self.items["company"] is None else None
        if name == "risky_attachment":  # decided by the attachment's content (daemon/parse/filetype.py), not its name
            risky = next((a for a in msg.attachments if a.danger and not _plain_archive(a)), None)
            return None if risky is None else ("", risky.danger, risky.filename)
        if name in ("upstream_spam", "upstream_auth_fail"):
            verdict = upstream.spam_verdict(msg) if name == "upstream_spam" else upstream.auth_verdict(msg)
            return None if verdict is None else (verdict.rule, verdict.reason, verdict.reason)
        if name == "sender_look_alike":
            found = ext._sender_look_alike(msg)
            return ("", "the sender's domain imitates a name", found) if found else None
        if name == "upstream_dmarc_fail":  # DKIM or SPF alone also fail on forwarded and mailing-list mail
            verdict = upstream.auth_verdict(msg) if "dmarc" in upstream.failed_checks(msg) else None
            return None if verdict is None else (verdict.rule, verdict.reason, verdict.reason)
        if name == "reply_to_look_alike":
            host = ext._reply_to_look_alike(msg)
            return ("", "replies diverted to a look-alike of the sender's domain", host) if host else None
        if name == "sample_item":
            sample = self.items["sample"]
            return None if sample is None else (sample.rule, "the buyer states a sample need", repr(sample.evidence))
        signal = self.result.signal(name)
        if signal is None and name in self.from_attachments:
            given = self.from_attachments[name]
            return given.rule, given.reason, ""
        return None if signal is None else (signal.rule, signal.reason, self.result.evidence(name))


# files a buyer zips up for a quotation: drawings, documents, sheets, pictures (an archive of only these, without a
# password, is no lure by itself; it still shows as a risk sign to verify)
_ORDINARY_FILES = {"pdf", "dwg", "dxf", "dwf", "step", "stp", "igs", "iges", "stl", "x_t", "sldprt", "sldasm", "ai", "eps",
                   "cdr", "psd", "jpg", "jpeg", "png", "gif", "tif", "tiff", "bmp", "heic", "webp", "txt", "csv", "xlsx",
                   "docx", "pptx", "ods", "odt"}


def _plain_archive(a: Attachment) -> bool:
    """An archive without a password whose files (all of them listed) are ordinary drawings, documents or pictures."""
    if a.kind != "archive" or "password-protected" in a.reason or ", ..." in a.reason or ": " not in a.reason:
        return False
    names = [n.strip() for n in a.reason.split(": ", 1)[1].split(", ") if n.strip()]
    return bool(names) and all(n.rpartition(".")[2].lower() in _ORDINARY_FILES for n in names if not n.endswith("/"))


_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "edu", "ac", "ne", "or"}


def _domain_name(host: str) -> str:
    """The registered name of a host: "larimasamba" of mail.larimasamba.com, "example" of example.co.uk."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else host


_NAME_WORD = regex.compile(r"[A-Za-z][A-Za-z0-9]*")


def _written_names(text: str) -> set[str]:
    """Words and pairs of neighbouring words as a domain would write them ("Baker Tilly" -> "bakertilly")."""
    words = [w.lower() for w in _NAME_WORD.findall(text)]
    return set(words) | {a + b for a, b in zip(words, words[1:], strict=False)}


def _mismatches(a: str, b: str) -> int:
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _holds(c: Condition, facts: _Facts, items: dict[str, Finding | None], counts: dict[str, list[str]]) -> bool:
    if c.concrete_max is not None and sum(1 for i in counts[c.counted] if items.get(i) is not None) > c.concrete_max:
        return False
    if not all(f in facts for f in c.when):
        return False
    return not c.when_any or any(f in facts for f in c.when_any)


def _signal(name: str, c: Condition, facts: _Facts) -> Signal:
    first = facts.get(c.when[0]) if c.when else None
    rule = c.id or (first[0] if first is not None else "") or name.upper()
    if not c.reason:
        return Signal(name, rule, first[1] if first is not None else name)

    def fill(m: regex.Match[str]) -> str:
        fact = facts.get(m.group(1))
        return m.group(0) if fact is None else fact[2] if m.group(2) else fact[1]

    return Signal(name, rule, _FACT.sub(fill, c.reason))


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
    return replace(checklist, items=items, thread_items=tuple(i for i in ITEM_IDS if i in inherited))


def is_no_reply(address: str) -> bool:
    return bool(_NOREPLY.match(address))
