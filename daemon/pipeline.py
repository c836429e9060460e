"""The one straight path of a message: fetch -> parse -> extract -> assess -> draft -> deliver -> record.

This is the only module that calls the stages in order. parse, extract, assess and draft are pure; fetch,
deliver and record do the I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from daemon.assess import History, assess, tags_for
from daemon.customer import buyer_address
from daemon.mailboxes.base import QUARANTINE_TAG, Mailbox
from daemon.metrics import NULL_METRICS, Metrics
from daemon.parse.message import parse
from daemon.store import CustomerUpdate, Store
from daemon.toolkit import Toolkit
from extractors.checklist import is_no_reply, merge_thread
from extractors.core.errors import MessageError, TransientError
from extractors.core.model import Assessment, Checklist, Draft, Outcome, ParsedMessage, RawMessage

log = logging.getLogger(__name__)


NO_HISTORY = History()


def analyse(raw: RawMessage, kit: Toolkit, history: History = NO_HISTORY) -> tuple[ParsedMessage, Assessment]:
    """parse -> extract -> assess, with no side effects (used by `explain` and `eval` too)."""
    parsed = parse(raw, kit.platforms)
    return parsed, assess(_checklist(parsed, kit, history), kit.decisions, history)


def _checklist(parsed: ParsedMessage, kit: Toolkit, history: History, thread: list[dict[str, Any]] | None = None) -> Checklist:
    """The extract stage, with what earlier messages of the thread stated filling the open items."""
    checklist = kit.extractor.extract(parsed, repeat_customer=history.has_order or history.previous_inquiries > 0)
    return merge_thread(checklist, thread or [])


def _history(row: dict[str, Any] | None) -> History:
    """What the customer row says about the buyer's earlier inquiries and orders."""
    if not row:
        return History()
    return History(
        previous_inquiries=int(row.get("inquiries") or 0),
        has_order=row.get("last_order_checklist") is not None,
        high_change_risk=bool(row.get("high_change_risk")),
        last_order=row.get("last_order_checklist"),
    )


def _skip_reason(parsed: ParsedMessage, kit: Toolkit, buyer: str = "") -> str:
    domain = parsed.from_addr.rpartition("@")[2]
    own = kit.extractor.own_domains
    if domain and domain in own and (not buyer or buyer.rpartition("@")[2] in own):  # our own web form: its buyer
        return "from our own domain"
    if is_no_reply(parsed.from_addr) and not parsed.platform:
        return "no-reply sender"
    return ""


def process(raw: RawMessage, kit: Toolkit, mailbox: Mailbox, store: Store, max_bytes: int = 25_000_000) -> Outcome:
    """Process one fetched message to its end: a recorded outcome (drafted, skipped) or a MessageError.

    The store is read once before and written once after: the message's row and its buyer's customer row are
    recorded together, after the draft is saved."""
    if len(raw.data) > max_bytes:
        raise MessageError(f"message of {len(raw.data)} bytes is over the {max_bytes}-byte limit")
    parsed = parse(raw, kit.platforms)
    meta: dict[str, Any] = {"sender": parsed.from_addr, "subject": parsed.subject, "content_hash": parsed.content_hash}
    thread_ids = (*parsed.references, parsed.in_reply_to) if parsed.in_reply_to or parsed.references else ()
    buyer = buyer_address(parsed, kit.platforms, kit.extractor.own_domains)  # never a relay's address
    prior = store.prior(raw.key.account, parsed.message_id, parsed.content_hash, buyer, thread_ids)
    if prior.duplicate is not None:
        outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=f"already processed as {prior.duplicate}")
        store.record(outcome, **meta)
        return outcome
    history = _history(prior.customer)
    checklist = _checklist(parsed, kit, history, prior.thread)
    assessment = assess(checklist, kit.decisions, history)
    skip = _skip_reason(parsed, kit, buyer)
    if skip:
        outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=skip, assessment=assessment)
    else:
        assert kit.drafter is not None, "the daemon loads its toolkit with drafts"
        draft = kit.drafter.draft(parsed, assessment, kit.rules_version)
        if draft is None:
            reason = dict(assessment.reasons).get("action", "no reply")
            outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=reason, assessment=assessment)
        else:
            _deliver_once(raw, parsed, draft, mailbox, store)
            outcome = Outcome(raw.key, parsed.message_id, "drafted", assessment.action, assessment=assessment, draft=draft)
    tags = tags_for(assessment, kit.decisions) if mailbox.tags_supported else []
    mailbox.tag_later(raw.key, tags)
    customer = None
    if outcome.status == "drafted" and buyer:
        customer = CustomerUpdate(
            buyer, {k: (f.as_json() if f else None) for k, f in checklist.items},
            checklist.clarity, assessment.tier, is_order=checklist.signal("is_order"),
        )  # fmt: skip
    store.record(outcome, language=parsed.language, rules_version=kit.rules_version, tags=tags, customer=customer, **meta)
    log.info(
        "mailbox=%s uid=%s clarity=%d/18 priority=%s tier=%s action=%s status=%s",
        raw.key.account, raw.key.uid, checklist.clarity, assessment.priority, assessment.tier, outcome.action, outcome.status,
    )
    return outcome


def _deliver_once(raw: RawMessage, parsed: ParsedMessage, draft: Draft, mailbox: Mailbox, store: Store) -> None:
    """Save the draft exactly once across crashes. Every attempt is noted durably before the draft is saved: by
    an IMAP mailbox once per batch it hands over, else here per message. So the mailbox knows which messages an
    earlier pass may have saved a draft for, and only those need the (on IMAP, costly) search of Drafts for the
    draft's deterministic Message-ID."""
    if raw.may_have_draft and mailbox.find_draft(draft.message_id):
        log.info("mailbox=%s uid=%s draft %s is in Drafts already", raw.key.account, raw.key.uid, draft.message_id)
        return
    if not mailbox.notes_attempts:
        store.record(Outcome(raw.key, parsed.message_id, "failed", draft.action, reason="drafting",
                             error="interrupted while saving the draft"), sender=parsed.from_addr, subject=parsed.subject)
    mailbox.save_draft(draft)


@dataclass
class RunStats:
    processed: int = 0
    drafted: int = 0
    skipped: int = 0
    quarantined: int = 0
    failed: int = 0
    outcomes: deque[Outcome] = field(default_factory=lambda: deque(maxlen=100))  # the latest only: a pass can be long


def run_mailbox(mailbox: Mailbox, kit_ref: KitRef, store: Store, max_attempts: int = 3,
                max_bytes: int = 25_000_000, stop: threading.Event | None = None,
                metrics: Metrics = NULL_METRICS) -> RunStats:
    """Process every new message of one mailbox, oldest first; one bad message never blocks the rest."""
    stats = RunStats()
    for raw in mailbox.fetch_new(store.statuses):
        if stop is not None and stop.is_set():
            break
        kit = kit_ref.get()
        started = time.monotonic()
        try:
            outcome = process(raw, kit, mailbox, store, max_bytes)
        except TransientError:
            raise
        except Exception as e:  # one bad message: record, retry a bounded number of times, then quarantine
            error = f"{type(e).__name__}: {e}"
            attempts = store.record_failure(raw.key, error)
            metrics.error(raw.key.account, type(e).__name__)
            if attempts >= max_attempts or isinstance(e, MessageError):
                outcome = Outcome(raw.key, "", "quarantined", "none", reason="could not be processed", error=error)
                tags = [QUARANTINE_TAG] if mailbox.tags_supported else []
                mailbox.tag_later(raw.key, tags)
                store.record(outcome, tags=tags)
                mailbox.finished(raw.key, "quarantined")
                log.warning("mailbox=%s uid=%s quarantined after %d attempts: %s", raw.key.account, raw.key.uid, attempts, error)
                stats.quarantined += 1
            else:
                mailbox.finished(raw.key, "failed")
                log.warning("mailbox=%s uid=%s failed (attempt %d of %d): %s", raw.key.account, raw.key.uid, attempts, max_attempts, error)
                stats.failed += 1
            continue
        mailbox.finished(raw.key, outcome.status)
        stats.processed += 1
        stats.outcomes.append(outcome)
        metrics.message_done(raw.key.account, outcome.action, outcome.status, time.monotonic() - started)
        if outcome.status == "drafted":
            stats.drafted += 1
        else:
            stats.skipped += 1
        log.debug("mailbox=%s uid=%s took %.1f ms", raw.key.account, raw.key.uid, (time.monotonic() - started) * 1000)
    return stats


class KitRef:
    """A reference to the current toolkit, swapped atomically on reload."""

    def __init__(self, kit: Toolkit):
        self._kit = kit
        self._lock = threading.Lock()

    def get(self) -> Toolkit:
        with self._lock:
            return self._kit

    def set(self, kit: Toolkit) -> None:
        with self._lock:
            self._kit = kit
