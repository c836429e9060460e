"""The one straight path of a message: fetch -> parse -> extract -> assess -> draft -> deliver -> record.

This is the only module that calls the stages in order. parse, extract, assess and draft are pure; fetch,
deliver and record do the I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daemon.assess import History, assess, tags_for
from daemon.customer import buyer_address, company_name, country_of
from daemon.draft_context import reply_language
from daemon.limits import DEFAULT_LIMITS, Limits
from daemon.mailboxes.base import QUARANTINE_TAG, Mailbox
from daemon.metrics import NULL_METRICS, Metrics
from daemon.parse.message import parse
from daemon.parse.screen import screen
from daemon.toolkit import Toolkit
from extractors.checklist import is_no_reply, merge_thread
from extractors.core.errors import MessageError, TransientError, TriageError
from extractors.core.model import Assessment, Checklist, Draft, MessageKey, Outcome, ParsedMessage, RawMessage

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by the stages that write: `explain` and `eval` do not
    from daemon.store import Store

log = logging.getLogger(__name__)


NO_HISTORY = History()
NO_SENDER = "no usable sender address"
ERROR_CHARS = 1000  # of a technical error kept in the store's error column


def analyse(raw: RawMessage, kit: Toolkit, history: History = NO_HISTORY,
            limits: Limits = DEFAULT_LIMITS) -> tuple[ParsedMessage, Assessment]:
    """parse -> extract -> assess, with no side effects (used by `explain` and `eval` too)."""
    parsed = parse(raw, kit.platforms, limits=limits)
    return parsed, assess(_checklist(parsed, kit, history), kit.decisions, history)


class _Budget:
    """The per-message time budget, checked between stages: a message over it is quarantined at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    def check(self, stage: str) -> None:
        spent = time.monotonic() - self.started
        if spent > self.seconds:
            raise MessageError(f"it took {spent:.1f} s up to the end of the {stage} stage, over the "
                               f"{self.seconds:g}-second budget ([daemon] message_seconds)")


def _stage(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one pure stage; an error in it is the message's (the same input fails the same way again), so it becomes
    MessageError naming the stage, the library's own words kept only in the error column. Memory and I/O errors
    are not the message's doing: they are raised as they are and the message is tried again."""
    try:
        return call(*args, **kwargs)
    except (TriageError, MemoryError, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - any other failure of a pure stage is deterministic
        raise MessageError(f"the {name} stage failed on it ({type(e).__name__})") from e


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
    from daemon.reminders import NOTE_PREFIX  # noqa: PLC0415

    sender = kit.drafter.from_addr.lower() if kit.drafter is not None else ""
    if parsed.message_id.startswith(NOTE_PREFIX) and sender and parsed.from_addr.lower() == sender:
        return "our own note"
    domain = parsed.from_addr.rpartition("@")[2]
    own = kit.extractor.own_domains
    if domain and domain in own and (not buyer or buyer.rpartition("@")[2] in own):  # our own web form: its buyer
        return "from our own domain"
    if is_no_reply(parsed.from_addr) and not parsed.platform:
        return "no-reply sender"
    return ""


def process(raw: RawMessage, kit: Toolkit, mailbox: Mailbox, store: Store, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """Process one fetched message to its end: a recorded outcome (drafted, skipped) or a MessageError.

    The store is read once before and written once after: the message's row and its buyer's customer row are
    recorded together, after the draft is saved."""
    budget = _Budget(limits.message_seconds)
    rejected = screen(raw.data, limits)
    if rejected:
        return _skip(raw, store, rejected)
    parsed = _stage("parse", parse, raw, kit.platforms, limits=limits)
    if not parsed.from_addr:
        return _skip(raw, store, NO_SENDER, parsed)
    meta: dict[str, Any] = {"sender": parsed.from_addr, "subject": parsed.subject, "content_hash": parsed.content_hash}
    thread_ids = (*parsed.references, parsed.in_reply_to) if parsed.in_reply_to or parsed.references else ()
    buyer = buyer_address(parsed, kit.platforms, kit.extractor.own_domains)  # never a relay's address
    prior = store.prior(raw.key.account, parsed.message_id, parsed.content_hash, buyer, thread_ids)
    if prior.duplicate is not None:
        outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=f"already processed as {prior.duplicate}")
        store.record(outcome, **meta)
        return outcome
    history = _history(prior.customer)
    budget.check("parse")
    checklist = _stage("extract", _checklist, parsed, kit, history, prior.thread)
    budget.check("extract")
    assessment = _stage("assess", assess, checklist, kit.decisions, history)
    skip = _skip_reason(parsed, kit, buyer)
    notes = "; ".join(parsed.notes)
    if skip:
        outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=_joined(skip, notes), assessment=assessment)
    else:
        assert kit.drafter is not None, "the daemon loads its toolkit with drafts"
        draft = _stage("draft", kit.drafter.draft, parsed, assessment, kit.rules_version)
        budget.check("draft")
        if draft is None:
            reason = dict(assessment.reasons).get("action", "no reply")
            outcome = Outcome(raw.key, parsed.message_id, "skipped", "none", reason=_joined(reason, notes),
                              assessment=assessment)
        else:
            _deliver_once(raw, parsed, draft, mailbox, store)
            outcome = Outcome(raw.key, parsed.message_id, "drafted", assessment.action, reason=notes,
                              assessment=assessment, draft=draft)
    tags = tags_for(assessment, kit.decisions) if mailbox.tags_supported else []
    mailbox.tag_later(raw.key, tags)
    customer = None
    if outcome.status == "drafted" and buyer:

        customer = _customer_update(buyer, parsed, checklist, assessment, kit)
    draft_language = kit.drafter.language_of(reply_language(parsed, checklist.language)) if outcome.draft and kit.drafter else ""
    store.record(outcome, language=parsed.language, rules_version=kit.rules_version, tags=tags, customer=customer,
                 draft_language=draft_language, **meta)
    log.info(
        "mailbox=%s uid=%s clarity=%d/18 priority=%s tier=%s action=%s status=%s",
        raw.key.account, raw.key.uid, checklist.clarity, assessment.priority, assessment.tier, outcome.action, outcome.status,
    )
    return outcome


def _customer_update(buyer: str, parsed: ParsedMessage, checklist: Checklist, assessment: Assessment,
                     kit: Toolkit) -> Any:
    """The buyer's customer row after this inquiry: its values, decisions and what the CRM columns take."""
    from daemon.store import CustomerUpdate  # noqa: PLC0415 - see the import of Store above

    items = dict(checklist.items)
    order = kit.decisions.order

    def value(item: str) -> Any:
        f = items.get(item)
        return f.value if f is not None else None

    changes = tuple({"item": item, "before": (before or {}).get("value"), "now": now.get("value")}
                    for item, before, now in assessment.changes)
    return CustomerUpdate(
        buyer, {k: (f.as_json() if f else None) for k, f in checklist.items}, checklist.clarity, assessment.tier,
        order.high_change_risk_changes, is_order=checklist.signal("is_order"),
        change_after_order_at=order.high_change_risk_after_order, priority=assessment.priority,
        mode=assessment.follow_up_mode, action=assessment.action, message_id=parsed.message_id, subject=parsed.subject,
        company=company_name(value("company")) or None,
        contact=(str(value("contact")) if value("contact") else None),
        country=country_of(buyer, value("destination")) or None,
        missing=tuple(checklist.missing), changes=changes, reasons=dict(assessment.reasons),
    )  # fmt: skip


def _joined(*reasons: str) -> str:
    return "; ".join(r for r in reasons if r)


def _skip(raw: RawMessage, store: Store, reason: str, parsed: ParsedMessage | None = None) -> Outcome:
    """Record a message that is not processed as an inquiry (not mail, over a limit, no sender) with its reason."""
    outcome = Outcome(raw.key, parsed.message_id if parsed else "", "skipped", "none", reason=reason)
    store.record(outcome, subject=parsed.subject if parsed else "", content_hash=parsed.content_hash if parsed else "")
    log.info("mailbox=%s uid=%s status=skipped reason=%s", raw.key.account, raw.key.uid, reason)
    return outcome


def _deliver_once(raw: RawMessage, parsed: ParsedMessage, draft: Draft, mailbox: Mailbox, store: Store) -> None:
    """Save the draft exactly once across crashes. Every attempt is noted durably before the draft is saved: by
    an IMAP mailbox once per batch it hands over, else here per message. So the mailbox knows which messages an
    earlier pass may have saved a draft for, and only those need the (on IMAP, costly) search of Drafts for the
    draft's deterministic Message-ID."""
    mailbox.check_held()
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
    seen: int = 0  # messages handed over by the mailbox
    cut: bool = False  # the pass stopped at its limit: more may be waiting
    sent: int = 0  # messages of the Sent folder recorded
    reminders: int = 0  # notes put in the inbox about overdue inquiries
    nurtures: int = 0  # nurture drafts put in Drafts for tier C buyers
    outcomes: deque[Outcome] = field(default_factory=lambda: deque(maxlen=100))  # the latest only: a pass can be long


def run_mailbox(mailbox: Mailbox, kit_ref: KitRef, store: Store, max_attempts: int = 3,
                limits: Limits = DEFAULT_LIMITS, stop: threading.Event | None = None,
                metrics: Metrics = NULL_METRICS, progress: Callable[[MessageKey | None], None] | None = None,
                limit: int | None = None) -> RunStats:
    """Process every new message of one mailbox (at most `limit`: the rest waits for the next pass, and the stats
    say it was cut), oldest first; one bad message never blocks the rest.

    A message that cannot succeed (MessageError: its input fails the same way each time) is quarantined at the
    first attempt; any other failure is tried again, up to max_attempts. TransientError (the mailbox or the store
    is unreachable) ends the pass; nothing of the message is recorded and it is processed again later.
    `progress` hears the key of each message as it starts and None as it ends."""
    stats = RunStats()
    for raw in mailbox.fetch_new(store.statuses, limit):
        if stop is not None and stop.is_set():
            break
        stats.seen += 1
        stats.cut = limit is not None and stats.seen >= limit
        kit = kit_ref.get()
        started = time.monotonic()
        if progress is not None:
            progress(raw.key)
        try:
            outcome = process(raw, kit, mailbox, store, limits)
        except TransientError:
            raise
        except Exception as e:  # one bad message: record; quarantine now or after max_attempts
            _failed(raw, e, mailbox, store, max_attempts, metrics, stats)
            continue
        finally:
            if progress is not None:
                progress(None)
        mailbox.finished(raw.key, outcome.status)
        stats.processed += 1
        stats.outcomes.append(outcome)
        metrics.message_done(raw.key.account, outcome.action, outcome.status, time.monotonic() - started)
        if outcome.status == "drafted":
            stats.drafted += 1
        else:
            stats.skipped += 1
        log.debug("mailbox=%s uid=%s took %.1f ms", raw.key.account, raw.key.uid, (time.monotonic() - started) * 1000)
    if not (stop is not None and stop.is_set()) and not stats.cut:
        from daemon.sent import read_sent  # noqa: PLC0415 - see the import of Store above

        stats.sent = read_sent(mailbox, store)
        kit = kit_ref.get()
        if kit.drafter is not None:
            from daemon.reminders import send_reminders  # noqa: PLC0415

            stats.reminders = send_reminders(mailbox, store, (kit.drafter.from_name, kit.drafter.from_addr))
            if mailbox.digest_at is not None and time.strftime("%H:%M", time.gmtime()) >= mailbox.digest_at:
                import datetime as dt  # noqa: PLC0415

                from daemon.digest import send_digest  # noqa: PLC0415

                send_digest(mailbox, store, (kit.drafter.from_name, kit.drafter.from_addr), dt.datetime.now(dt.UTC))
            if mailbox.nurture_at is not None:
                from daemon.nurture import nurture_pass  # noqa: PLC0415

                stats.nurtures = nurture_pass(mailbox, store, kit.drafter, mailbox.nurture_every_days, mailbox.nurture_at)
    return stats


def _failed(raw: RawMessage, e: Exception, mailbox: Mailbox, store: Store, max_attempts: int, metrics: Metrics,
            stats: RunStats) -> None:
    """Record a failed attempt; quarantine the message when it cannot succeed or has used up its attempts. The
    reason is the product's own words; the error column keeps the technical cause."""
    cause = e.__cause__ if isinstance(e, MessageError) and e.__cause__ is not None else e
    error = f"{type(cause).__name__}: {cause}"[:ERROR_CHARS]
    attempts = store.record_failure(raw.key, error)
    metrics.error(raw.key.account, type(e).__name__)
    if isinstance(e, MessageError) or attempts >= max_attempts:
        why = str(e) if isinstance(e, MessageError) else f"it failed {attempts} times ({type(e).__name__})"
        outcome = Outcome(raw.key, "", "quarantined", "none", reason=f"could not be processed: {why}", error=error)
        tags = [QUARANTINE_TAG] if mailbox.tags_supported else []
        mailbox.tag_later(raw.key, tags)
        store.record(outcome, tags=tags)
        mailbox.finished(raw.key, "quarantined")
        log.warning("mailbox=%s uid=%s quarantined at attempt %d: %s", raw.key.account, raw.key.uid, attempts,
                    outcome.reason)
        stats.quarantined += 1
    else:
        mailbox.finished(raw.key, "failed")
        log.warning("mailbox=%s uid=%s failed (attempt %d of %d): %s", raw.key.account, raw.key.uid, attempts,
                    max_attempts, error)
        stats.failed += 1


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
