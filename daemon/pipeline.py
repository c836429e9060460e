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
from daemon.errors import MessageError, TransientError
from daemon.mailboxes.base import Mailbox
from daemon.metrics import NULL_METRICS, Metrics
from daemon.model import Assessment, Checklist, Draft, Outcome, ParsedMessage, RawMessage
from daemon.store import Store
from daemon.toolkit import Toolkit
from extractors.checklist import is_no_reply, merge_thread
from extractors.prepare import parse

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


def _history(store: Store, address: str) -> History:
    row = store.customer(address) if address else None
    if not row:
        return History()
    return History(
        previous_inquiries=int(row.get("inquiries") or 0),
        has_order=row.get("last_order_checklist") is not None,
        high_change_risk=bool(row.get("high_change_risk")),
        last_order=row.get("last_order_checklist"),
    )


def _skip_reason(parsed: ParsedMessage, kit: Toolkit) -> str:
    domain = parsed.from_addr.rpartition("@")[2]
    if domain and domain in kit.extractor.own_domains:
        return "from our own domain"
    if is_no_reply(parsed.from_addr) and not parsed.platform:
        return "no-reply sender"
    return ""


def process(raw: RawMessage, kit: Toolkit, mailbox: Mailbox, store: Store, max_bytes: int = 25_000_000) -> Outcome:
    """Process one fetched message to its end: a recorded outcome (drafted, skipped) or a MessageError."""
    if len(raw.data) > max_bytes:
        raise MessageError(f"message of {len(raw.data)} bytes is over the {max_bytes}-byte limit")
    parsed = parse(raw, kit.platforms)
    duplicate = store.find_duplicate(raw.key.account, parsed.message_id, parsed.content_hash) if parsed.message_id else None
    if duplicate is not None:
        outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=f"already processed as {duplicate}")
        store.record(outcome, sender=parsed.from_addr, subject=parsed.subject, content_hash=parsed.content_hash)
        return outcome
    history = _history(store, parsed.from_addr)
    thread_ids = (*parsed.references, parsed.in_reply_to) if parsed.in_reply_to or parsed.references else ()
    checklist = _checklist(parsed, kit, history, store.thread_checklists(raw.key.account, thread_ids, parsed.from_addr))
    assessment = assess(checklist, kit.decisions, history)
    skip = _skip_reason(parsed, kit)
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
    if mailbox.tags_supported:
        mailbox.tag(raw.key, tags_for(assessment, kit.decisions))
    store.record(
        outcome, sender=parsed.from_addr, subject=parsed.subject, language=parsed.language,
        rules_version=kit.rules_version, content_hash=parsed.content_hash,
    )
    if outcome.status == "drafted" and parsed.from_addr:
        store.update_customer(
            parsed.from_addr,
            {k: (f.as_json() if f else None) for k, f in checklist.items},
            checklist.clarity, assessment.tier, is_order=checklist.signal("is_order"),
        )
    log.info(
        "mailbox=%s uid=%s clarity=%d/18 priority=%s tier=%s action=%s status=%s",
        raw.key.account, raw.key.uid, checklist.clarity, assessment.priority, assessment.tier, outcome.action, outcome.status,
    )
    return outcome


def _deliver_once(raw: RawMessage, parsed: ParsedMessage, draft: Draft, mailbox: Mailbox, store: Store) -> None:
    """Save the draft exactly once across crashes: the attempt is recorded before the draft is saved, so only a
    message with an earlier attempt needs the (on IMAP, costly) search of Drafts for the draft's Message-ID."""
    if store.get(raw.key) is not None and mailbox.find_draft(draft.message_id):
        return
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
    for raw in mailbox.fetch_new(store.is_done):
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
                store.record(outcome)
                log.warning("mailbox=%s uid=%s quarantined after %d attempts: %s", raw.key.account, raw.key.uid, attempts, error)
                stats.quarantined += 1
            else:
                log.warning("mailbox=%s uid=%s failed (attempt %d of %d): %s", raw.key.account, raw.key.uid, attempts, max_attempts, error)
                stats.failed += 1
            continue
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
