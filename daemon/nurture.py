"""Nurture drafts: a tier C buyer gets one mail a month (the playbook's rhythm, `[nurture] every_days`) that shares a
case study or compliance note of the seller's and asks nothing, put in Drafts for the salesperson to send.

A buyer is due when the latest mail inquiry is tier C, was drafted in this mailbox, nothing since says otherwise
(a later message of the buyer, a message found invalid, a mail held back for verification) and the last contact
(the inquiry, the last nurture draft, the seller's last sent reply in the thread) is at least every_days old. The
draft is threaded to the inquiry, addressed to the buyer's own address, in the language of our reply to it.

Exactly once per period, across crashes: the buyer's n-th nurture draft is noted durably in the store (state
`saving`, its deterministic Message-ID) before it is put in Drafts and marked `saved` after; a noted draft that
never became `saved` is looked for in Drafts by its Message-ID and saved only when it is not there. The n-th draft
of a buyer is unique in the store, so a second pass, a second process or a restart never adds another."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import regex

from daemon import mime
from daemon.draft_context import TEMPLATE_LANGS, header_text
from daemon.draft_html import RTL, Tables
from daemon.drafting import NURTURE_MAIL, reply_subject
from daemon.greeting import Person
from daemon.mailboxes.base import Mailbox
from extractors.core.model import Draft, MessageKey

if TYPE_CHECKING:
    from daemon.drafting import Drafter
    from daemon.store import Store

log = logging.getLogger(__name__)
NURTURE_FOLDER = "nurture"  # the checkpoint row (account, "nurture", 0) holds the last day of a nurture pass, YYYYMMDD
TIER = "C"
_MSG_ID = regex.compile(r"<[^<>\s\p{Cc}]+@[^<>\s\p{Cc}]+>")
GREETING_MAX = 100  # characters of our last reply's first line that can be its greeting


@dataclass(frozen=True, slots=True)
class Sent:
    """One nurture draft noted in the store."""

    seq: int
    created_at: dt.datetime
    state: str  # saving (noted, maybe not in Drafts yet) or saved
    draft_message_id: str
    content: str  # the name of the content item it shares ("": a placeholder)
    language: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tier C buyer and everything the due decision looks at."""

    address: str
    tier: str | None
    action: str  # of our reply to the latest inquiry
    message_id: str  # the latest inquiry's
    subject: str
    inquiry_at: dt.datetime
    language: str  # of our reply to it (a template language)
    greeting: str  # the first line of our reply to it
    nurtures: tuple[Sent, ...] = ()
    sent_at: dt.datetime | None = None  # the seller's latest sent reply in the thread
    later: tuple[str, ...] = ()  # the statuses of the buyer's messages after the inquiry (auto-replies not counted)
    invalid: bool = False  # a message of the buyer was found invalid (spam, phishing, scam)

    @classmethod
    def of(cls, row: dict[str, Any]) -> Candidate:
        """From a row of Store.nurture_candidates."""
        later = tuple(m["status"] for m in row.get("later", ())
                      if "auto_reply" not in (m.get("signals") or []) and m.get("message_id") != row["message_id"])
        language = row.get("language") or row.get("mail_language") or "en"
        return cls(
            address=row["address"], tier=row.get("tier"), action=row.get("action") or "", message_id=row["message_id"],
            subject=row.get("subject") or "", inquiry_at=row["inquiry_at"],
            language=language if language in TEMPLATE_LANGS else "en", greeting=greeting_of(row.get("draft_text") or ""),
            nurtures=tuple(Sent(n["seq"], n["created_at"], n["state"], n["draft_message_id"], n["content"], n["language"])
                           for n in row.get("nurtures", ())),
            sent_at=row.get("sent_at"), later=later, invalid=bool(row.get("invalid")),
        )  # fmt: skip

    @property
    def pending(self) -> Sent | None:
        """A nurture draft noted but not known to be in Drafts (a pass ended before it was saved)."""
        return next((n for n in self.nurtures if n.state == "saving"), None)

    @property
    def last_contact(self) -> dt.datetime:
        """The latest of the inquiry, the last nurture draft and the seller's last sent reply in the thread."""
        return max([self.inquiry_at, *(n.created_at for n in self.nurtures), *([self.sent_at] if self.sent_at else [])])


@dataclass(frozen=True, slots=True)
class Verdict:
    due: bool
    reason: str


def due(c: Candidate, now: dt.datetime, every_days: int) -> Verdict:
    """Whether the buyer gets a nurture draft now, and why (or why not). Pure."""
    if c.pending is not None:
        return Verdict(True, f"nurture draft {c.pending.seq} was noted but not saved")
    if c.tier != TIER:
        return Verdict(False, f"tier {c.tier or '-'}, not {TIER}")
    if c.invalid:
        return Verdict(False, "a message of the buyer was found invalid")
    if c.action == "verify":
        return Verdict(False, "the latest inquiry was held back for verification")
    if c.later:
        return Verdict(False, f"the buyer wrote after the latest inquiry ({', '.join(sorted(set(c.later)))})")
    next_at = c.last_contact + dt.timedelta(days=every_days)
    if now < next_at:
        return Verdict(False, f"not due before {next_at:%Y-%m-%d %H:%M} UTC")
    return Verdict(True, f"{(now - c.last_contact).days} days since the last contact")


def greeting_of(draft_text: str) -> str:
    """The greeting of our reply (its first line), to open the nurture mail the same way; "" when it is no greeting."""
    first = next((line.strip() for line in draft_text.splitlines() if line.strip()), "")
    return first if len(first) <= GREETING_MAX and "[[" not in first and not first.startswith(">") else ""


def choose_content(items: list[tuple[str, str]], c: Candidate) -> tuple[str, str]:
    """The first of the seller's content items this buyer has not been sent (our nurture reply to an inquiry shares
    the first one); ("", "") when none is left: the draft then holds a placeholder for the salesperson."""
    shared = {n.content for n in c.nurtures if n.content}
    if c.action == "nurture" and items:
        shared.add(items[0][0])
    return next(((name, text) for name, text in items if name not in shared), ("", ""))


def nurture_message_id(account: str, address: str, inquiry_message_id: str, seq: int, domain: str) -> str:
    """The same Message-ID for the same buyer, inquiry and n-th nurture draft (so a later pass finds the draft)."""
    digest = hashlib.sha256(f"{account}|{address}|{inquiry_message_id}|{seq}".encode()).hexdigest()[:32]
    return f"<triage-nurture.{digest}@{domain}>"


def compose(drafter: Drafter, account: str, c: Candidate, seq: int, content: str, language: str,
            now: dt.datetime) -> tuple[Draft, str]:
    """The nurture draft (threaded to the inquiry, to the buyer's address) and its text."""
    lang = drafter.language_of(language)
    seller = drafter.seller
    ctx: dict[str, Any] = {
        "lang": lang, "dir": "rtl" if lang in RTL else "ltr", "subject": header_text(c.subject), "platform": "",
        "buyer": {"name": "", "address": c.address, **Person().as_dict()}, "greeting": c.greeting,
        "seller": {"company": seller.company.name, "name": drafter.from_name, "title": seller.sender.title,
                   "phone": seller.sender.phone, "website": seller.company.website, "email": drafter.from_addr,
                   "signature": seller.signature(lang)},
        "content": content, "tables": Tables(),
    }  # fmt: skip
    text, html = drafter.render(NURTURE_MAIL, ctx)
    domain = drafter.from_addr.rpartition("@")[2] or "localhost"
    message_id = nurture_message_id(account, c.address, c.message_id, seq, domain)
    subject = reply_subject(c.subject, lang)
    headers = [("From", mime.address(drafter.from_name, drafter.from_addr)), ("To", mime.address("", c.address)),
               ("Subject", mime.unstructured(subject, "Subject")), ("Date", email.utils.format_datetime(now)),
               ("Message-ID", message_id)]
    parent = _MSG_ID.search(c.message_id)
    if parent:
        headers += [("In-Reply-To", parent.group(0)), ("References", parent.group(0))]
    data = mime.message(headers, text, html)
    return Draft(MessageKey(account, NURTURE_FOLDER, 0, seq), message_id, NURTURE_MAIL, c.address, subject, data), text


def send_nurtures(mailbox: Mailbox, store: Store, drafter: Drafter, every_days: int,
                  now: dt.datetime | None = None) -> int:
    """Put a nurture draft in Drafts for every tier C buyer of this mailbox that is due (once per period); return
    how many were put."""
    now = now or dt.datetime.now(dt.UTC)
    n = 0
    for row in store.nurture_candidates(mailbox.name, TIER):
        c = Candidate.of(row)
        verdict = due(c, now, every_days)
        if not verdict.due:
            log.debug("mailbox=%s nurture: none for %s: %s", mailbox.name, c.address, verdict.reason)
            continue
        mailbox.check_held()
        if _put(mailbox, store, drafter, c, now):
            n += 1
            log.info("mailbox=%s nurture draft for a tier %s buyer: %s", mailbox.name, TIER, verdict.reason)
    return n


def _put(mailbox: Mailbox, store: Store, drafter: Drafter, c: Candidate, now: dt.datetime) -> bool:
    """Note, save and mark one nurture draft (or finish one noted before); False when there was nothing to do."""
    items = drafter.seller.content_items(c.language)
    pending = c.pending
    if pending is not None:
        seq, language, name = pending.seq, pending.language, pending.content
        content = dict(items).get(name, "") if name else ""
    else:
        seq, language = max((x.seq for x in c.nurtures), default=0) + 1, c.language
        name, content = choose_content(items, c)
    draft, text = compose(drafter, mailbox.name, c, seq, content, language, now)
    if pending is None:
        noted = store.begin_nurture(account=mailbox.name, address=c.address, seq=seq, inquiry_message_id=c.message_id,
                                    draft_message_id=draft.message_id, language=language, content=name, now=now)
        if not noted:
            return False
    elif mailbox.find_draft(pending.draft_message_id):
        store.nurture_saved(pending.draft_message_id, now, account=mailbox.name, inquiry_message_id=c.message_id,
                            language=language, text=text)
        log.info("mailbox=%s nurture draft %s is in Drafts already", mailbox.name, pending.draft_message_id)
        return False
    mailbox.check_held()
    mailbox.save_draft(draft)
    store.nurture_saved(draft.message_id, now, account=mailbox.name, inquiry_message_id=c.message_id,
                        language=language, text=text)
    return True


def nurture_pass(mailbox: Mailbox, store: Store, drafter: Drafter, every_days: int, at: str,
                 now: dt.datetime | None = None) -> int:
    """The daemon's nurture pass: once a day per mailbox, at its first pass after `at` ("HH:MM", UTC)."""
    now = now or dt.datetime.now(dt.UTC)
    today = int(f"{now:%Y%m%d}")
    if f"{now:%H:%M}" < at or store.checkpoint(mailbox.name, NURTURE_FOLDER, 0) >= today:
        return 0
    n = send_nurtures(mailbox, store, drafter, every_days, now)
    store.set_checkpoint(mailbox.name, NURTURE_FOLDER, 0, today)
    log.info("mailbox=%s nurture pass: %d draft(s) for tier %s buyers", mailbox.name, n, TIER)
    return n
