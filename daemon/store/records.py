"""What was done with each message, and the buyers (customers) it came from."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.engine import Connection

from daemon.store.database import Database
from daemon.store.schema import (
    MESSAGE_ID_MAX,
    Base,
    Customer,
    CustomerEvent,
    DraftText,
    Message,
    SentReply,
    UTCDateTime,
    utcnow,
)
from extractors.core.model import MessageKey, Outcome

log = logging.getLogger(__name__)

DONE_STATUSES = ("drafted", "skipped", "quarantined")
STATUS_CHUNK = 500  # keys per query when reading the statuses of many messages
KEEP_IF_EMPTY = ("message_id", "content_hash", "sender", "subject", "language", "rules_version")
MESSAGES: sa.Table = Message.__table__  # type: ignore[assignment]  # a declarative class's Table
CUSTOMERS: sa.Table = Customer.__table__  # type: ignore[assignment]
EVENTS: sa.Table = CustomerEvent.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Prior:
    """What the store knows before a message is processed: an earlier copy of it, its sender, its thread."""

    duplicate: MessageKey | None = None
    customer: dict[str, Any] | None = None
    thread: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerUpdate:
    """One more inquiry of a buyer, recorded with the message."""

    address: str
    checklist: dict[str, Any]
    clarity: int
    tier: str | None
    change_risk_at: int  # changed requirements that make the buyer a high change risk (decisions.toml [order])
    is_order: bool = False
    change_after_order_at: int = 1  # changed values after an order that make the buyer a high change risk
    priority: str | None = None
    mode: str | None = None
    action: str = ""
    status: str = "drafted"  # of this inquiry: drafted, skipped, lead
    source: str = "mail"  # mail or lead (a trade-show lead)
    message_id: str = ""
    subject: str = ""
    company: str | None = None  # None: keep what is known
    contact: str | None = None
    country: str | None = None
    missing: tuple[str, ...] = ()
    changes: tuple[dict[str, Any], ...] = ()  # values restated since the last order: item, before, now
    reasons: dict[str, str] = field(default_factory=dict)  # the decisions' reasons (tier, follow_up_mode)


def _row(obj: Base | None) -> dict[str, Any] | None:
    """Return the mapped columns of one row as a dict."""
    if obj is None:
        return None
    return {c.key: getattr(obj, c.key) for c in sa.inspect(obj).mapper.column_attrs}


def _norm(value: Any) -> str:
    """Return a comparable form of a checklist value (case and spacing ignored for text)."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    return json.dumps(value, sort_keys=True, default=str)


def count_changes(old: dict[str, Any], new: dict[str, Any]) -> int:
    """Count the items present in both checklists whose values differ."""
    both = [k for k, v in new.items() if v is not None and old.get(k) is not None]
    return sum(_norm(old[k]) != _norm(new[k]) for k in both)


class Records(Database):
    """What was done with each message, and the buyers it came from (written together, in one transaction)."""

    def statuses(self, keys: Sequence[MessageKey]) -> dict[MessageKey, str]:
        """The stored status of each of these keys that has a row (one query per 500 keys)."""
        return {key: status for key, (status, _tags) in self._of_keys(keys).items()}

    def tags_of(self, keys: Sequence[MessageKey]) -> dict[MessageKey, list[str]]:
        """The tags recorded for each of these keys that has some."""
        return {key: list(tags) for key, (_status, tags) in self._of_keys(keys).items() if tags}

    def _of_keys(self, keys: Sequence[MessageKey]) -> dict[MessageKey, tuple[str, list[str] | None]]:
        """(status, tags) of each of these keys that has a row, one query per folder generation and 500 keys."""
        groups: dict[tuple[str, str, int], list[int]] = {}
        for key in keys:
            groups.setdefault((key.account, key.folder, key.uidvalidity), []).append(key.uid)
        found: dict[MessageKey, tuple[str, list[str] | None]] = {}
        with self._conn() as c:
            for (account, folder, uidvalidity), uids in groups.items():
                for start in range(0, len(uids), STATUS_CHUNK):
                    params = {"account": account, "folder": folder, "uidvalidity": uidvalidity,
                              "uids": uids[start:start + STATUS_CHUNK]}
                    for uid, status, tags in c.execute(_OF_KEYS, params):
                        found[MessageKey(account, folder, uidvalidity, uid)] = (status, tags)
        return found

    def is_done(self, key: MessageKey) -> bool:
        """Tell whether the message was drafted, skipped or quarantined already."""
        return self.statuses([key]).get(key) in DONE_STATUSES

    def prior(self, account: str, message_id: str, content_hash: str, sender: str, thread_ids: Sequence[str]) -> Prior:
        """What the store knows before a message is processed, read in one transaction."""
        with self._conn() as c:
            return Prior(
                duplicate=_duplicate(c, account, message_id, content_hash),
                customer=_customer(c, sender) if sender else None,
                thread=_thread(c, account, thread_ids, sender),
            )

    def find_duplicate(self, account: str, message_id: str, content_hash: str) -> MessageKey | None:
        """Find a done message with the same Message-ID and content (after a UIDVALIDITY change)."""
        with self._conn() as c:
            return _duplicate(c, account, message_id, content_hash)

    def thread_checklists(self, account: str, ids: Sequence[str], sender: str) -> list[dict[str, Any]]:
        """Checklists (oldest first) of this sender's earlier messages in a thread: those whose Message-ID,
        or whose reply draft's Message-ID, is among `ids` (the References and In-Reply-To of a new message)."""
        with self._conn() as c:
            return _thread(c, account, ids, sender)

    def customer(self, address: str) -> dict[str, Any] | None:
        """Return what is known about one buyer address."""
        with self._conn() as c:
            return _customer(c, address)

    def record(
        self,
        outcome: Outcome,
        *,
        sender: str = "",
        subject: str = "",
        language: str = "",
        rules_version: str = "",
        content_hash: str = "",
        tags: Sequence[str] | None = None,
        customer: CustomerUpdate | None = None,
        draft_language: str = "",
    ) -> None:
        """Store what processing one message came to, and with it the buyer's customer row, in one transaction;
        recording the same key again updates it (empty texts keep what was stored)."""
        values: dict[str, Any] = {
            "message_id": outcome.message_id[:MESSAGE_ID_MAX],
            "content_hash": content_hash,
            "sender": sender,
            "subject": subject,
            "language": language,
            "rules_version": rules_version,
            "status": outcome.status,
            "action": outcome.action,
            "reason": outcome.reason,
            "error": outcome.error,
            "draft_message_id": outcome.draft.message_id[:MESSAGE_ID_MAX] if outcome.draft else None,
            "tags": list(tags) if tags else None,
            "due_at": _due_at(outcome),
            **_decision_columns(outcome),
        }
        draft = outcome.draft if outcome.status == "drafted" else None
        with self._conn() as c:
            _write_message(c, outcome.key, values)
            if customer is not None:
                _bump_customer(c, customer)
            if draft is not None:
                from daemon.edits import plain_text

                c.execute(self._insert(DraftText).values(
                    account=outcome.key.account, draft_message_id=draft.message_id[:MESSAGE_ID_MAX],
                    inquiry_message_id=outcome.message_id[:MESSAGE_ID_MAX], action=draft.action,
                    language=draft_language or language, text=plain_text(draft.data), created_at=utcnow(),
                ).on_conflict_do_nothing(index_elements=["draft_message_id"]))  # fmt: skip

    def update_customer(
        self, address: str, checklist_json: dict[str, Any], clarity: int, tier: str | None, *, is_order: bool,
        change_risk_at: int,
    ) -> dict[str, Any]:
        """Count one more inquiry of a buyer and the checklist values the buyer changed."""
        with self._conn() as c:
            return _bump_customer(c, CustomerUpdate(address, checklist_json, clarity, tier, change_risk_at, is_order))

    def _upsert_message(
        self, key: MessageKey, values: dict[str, Any], keep_if_empty: tuple[str, ...]
    ) -> tuple[Any, dict[str, Any]]:
        """Insert or update the row of one key; empty strings in keep_if_empty keep the stored value."""
        now = utcnow()
        insert = self._insert(Message).values(
            account=key.account, folder=key.folder, uidvalidity=key.uidvalidity, uid=key.uid,
            created_at=now, updated_at=now, **values,
        )  # fmt: skip
        update: dict[str, Any] = {name: insert.excluded[name] for name in values if name != "attempts"}
        for name in keep_if_empty:
            update[name] = func.coalesce(func.nullif(insert.excluded[name], ""), Message.__table__.c[name])
        update["updated_at"] = now
        return insert, update

    def record_failure(
        self, key: MessageKey, error: str, *, message_id: str = "", sender: str = "", subject: str = ""
    ) -> int:
        """Count one more failed attempt at a message and return the attempts so far."""
        values = {
            "message_id": message_id[:MESSAGE_ID_MAX],
            "sender": sender,
            "subject": subject,
            "status": "failed",
            "error": error,
            "attempts": 1,
        }
        insert, update = self._upsert_message(key, values, ("message_id", "sender", "subject"))
        update["attempts"] = Message.attempts + 1
        statement = insert.on_conflict_do_update(index_elements=_KEY_COLUMNS, set_=update)
        with self._tx() as s:
            return int(s.execute(statement.returning(Message.attempts)).scalar_one())

    def attempts(self, key: MessageKey) -> int:
        """Return how often processing the message failed."""
        row = self.get(key)
        return int(row["attempts"]) if row else 0

    def get(self, key: MessageKey) -> dict[str, Any] | None:
        """Return the row of one message as a dict."""
        with self._conn() as c:
            row = c.execute(_ONE, _key_params(key)).mappings().first()
        return None if row is None else dict(row)

    def messages(self, account: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest message rows first."""
        query = sa.select(Message).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        if account is not None:
            query = query.where(Message.account == account)
        with self._tx() as s:
            return [_row(m) or {} for m in s.execute(query).scalars()]

    def customers(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The customers, the most recently seen first."""
        query = sa.select(CUSTOMERS).order_by(C.last_seen.desc(), C.id.desc()).limit(limit)
        with self._conn() as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def customer_by_id(self, customer_id: int) -> dict[str, Any] | None:
        """One customer by its id."""
        with self._conn() as c:
            row = c.execute(sa.select(CUSTOMERS).where(C.id == customer_id)).mappings().first()
        return None if row is None else dict(row)

    def customer_events(self, customer_id: int) -> list[dict[str, Any]]:
        """A customer's inquiries and leads, oldest first."""
        query = sa.select(EVENTS).where(EVENTS.c.customer_id == customer_id).order_by(EVENTS.c.at, EVENTS.c.id)
        with self._conn() as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def add_customer(self, update: CustomerUpdate) -> dict[str, Any]:
        """Record one inquiry or lead of a buyer without a message (a trade-show lead); return the customer row."""
        with self._conn() as c:
            return _bump_customer(c, update)

    def known_sent(self, account: str, keys: Sequence[str]) -> set[str]:
        """The keys of these Sent messages that are recorded already."""
        table: sa.Table = SentReply.__table__  # type: ignore[assignment]
        found: set[str] = set()
        with self._conn() as c:
            for start in range(0, len(keys), STATUS_CHUNK):
                query = sa.select(table.c.sent_key).where(table.c.account == account,
                                                          table.c.sent_key.in_(list(keys[start:start + STATUS_CHUNK])))
                found.update(c.execute(query).scalars())
        return found

    def answered_inquiry(self, account: str, ids: Sequence[str], message_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The inquiry a sent message answers (named in its In-Reply-To/References, or whose draft kept its
        Message-ID) and the text of our draft for it, if any: the draft whose Message-ID the sent message kept (a
        nurture draft of the thread too), else our reply to the inquiry."""
        ids = [i[:MESSAGE_ID_MAX] for i in ids if i]
        mid = message_id[:MESSAGE_ID_MAX]
        texts: sa.Table = DraftText.__table__  # type: ignore[assignment]
        with self._conn() as c:
            conds: list[sa.ColumnElement[bool]] = [M.message_id.in_(ids)] if ids else []
            if mid:
                conds.append(M.draft_message_id == mid)
            if not conds:
                return None, None
            query = sa.select(MESSAGES).where(sa.or_(*conds), M.account == account, M.draft_message_id.is_not(None))
            rows = [dict(r) for r in c.execute(query.order_by(M.id)).mappings()]
            if not rows:
                return None, None
            inquiry = next((r for r in rows if r["draft_message_id"] == mid), rows[-1])
            text = c.execute(sa.select(texts).where(texts.c.draft_message_id == mid)).mappings().first() if mid else None
            if text is None or text["inquiry_message_id"] != inquiry["message_id"][:MESSAGE_ID_MAX]:
                text = c.execute(sa.select(texts).where(texts.c.draft_message_id == inquiry["draft_message_id"])).mappings().first()
        return inquiry, None if text is None else dict(text)

    def add_sent(self, account: str, sent_key: str, **values: Any) -> None:
        """Record one message of the Sent folder (a second time: nothing)."""
        with self._conn() as c:
            c.execute(self._insert(SentReply).values(account=account, sent_key=sent_key[:255], **values)
                      .on_conflict_do_nothing(index_elements=["account", "sent_key"]))

    def sent_replies(self, account: str | None = None) -> list[dict[str, Any]]:
        """The recorded Sent messages, oldest first."""
        table: sa.Table = SentReply.__table__  # type: ignore[assignment]
        query = sa.select(table).order_by(table.c.sent_at, table.c.id)
        if account is not None:
            query = query.where(table.c.account == account)
        with self._conn() as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def overdue(self, account: str, now: Any, priorities: Sequence[str] = ("high",)) -> list[dict[str, Any]]:
        """Drafted inquiries of these priorities past their due time, not answered from the Sent folder and not
        reminded of yet, oldest due first."""
        sent: sa.Table = SentReply.__table__  # type: ignore[assignment]
        answered = sa.exists().where(sent.c.account == M.account, sent.c.inquiry_message_id == M.message_id)
        query = (sa.select(MESSAGES).where(M.account == account, M.status == "drafted", M.priority.in_(list(priorities)),
                                           M.due_at.is_not(None), M.due_at < now, M.reminded_at.is_(None), ~answered)
                 .order_by(M.due_at, M.id))  # fmt: skip
        with self._conn() as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def day_inquiries(self, account: str, start: Any, end: Any) -> list[dict[str, Any]]:
        """The inquiries processed between start and end (those with decisions), each with `answered`."""
        sent: sa.Table = SentReply.__table__  # type: ignore[assignment]
        answered = sa.exists().where(sent.c.account == M.account, sent.c.inquiry_message_id == M.message_id)
        query = (sa.select(MESSAGES, answered.label("answered"))
                 .where(M.account == account, M.created_at >= start, M.created_at < end, M.clarity.is_not(None),
                        M.action != "none")
                 .order_by(M.id))  # fmt: skip
        with self._conn() as c:
            return [dict(r) for r in c.execute(query).mappings()]

    def mark_reminded(self, row_id: int, now: Any) -> None:
        """Note that a reminder about this inquiry went to the INBOX."""
        with self._conn() as c:
            c.execute(MESSAGES.update().where(M.id == row_id).values(reminded_at=now))

    def counts(self, account: str | None = None) -> dict[str, int]:
        """Count the messages by status."""
        query = sa.select(Message.status, func.count()).group_by(Message.status)
        if account is not None:
            query = query.where(Message.account == account)
        with self._tx() as s:
            return {status: int(n) for status, n in s.execute(query).all()}


_KEY_COLUMNS = ["account", "folder", "uidvalidity", "uid"]
# A new buyer's row; a concurrent first inquiry of the same buyer (another mailbox's thread) inserts nothing.
_SEED_CUSTOMER = sa.text(
    "INSERT INTO customers (address, domain, first_seen, last_seen, inquiries, change_count, high_change_risk, source) "
    "VALUES (:address, :domain, :now, :now, 0, 0, :risk, :source) ON CONFLICT (address) DO NOTHING"
).bindparams(sa.bindparam("now", type_=UTCDateTime()), sa.bindparam("risk", type_=sa.Boolean()))


def _p(name: str, column: sa.ColumnElement[Any] | None = None, **kw: Any) -> sa.BindParameter[Any]:
    """A named parameter typed like its column (names differ from the columns': SET clauses reserve those)."""
    return sa.bindparam(name, type_=None if column is None else column.type, **kw)


M, C = MESSAGES.c, CUSTOMERS.c
# The per-message statements are built once: building SQLAlchemy expressions costs more than running them.
_BY_KEY = sa.and_(M.account == _p("k_account"), M.folder == _p("k_folder"), M.uidvalidity == _p("k_uidvalidity"),
                  M.uid == _p("k_uid"))
_RECORDED = (
    "message_id", "content_hash", "sender", "subject", "language", "rules_version", "status", "action", "reason",
    "error", "draft_message_id", "clarity", "priority", "tier", "follow_up_mode", "quote", "sample", "strength",
    "checklist", "signals", "reasons", "tags", "due_at",
)  # fmt: skip
_UPDATE_MESSAGE = MESSAGES.update().where(_BY_KEY).values(
    {
        name: func.coalesce(func.nullif(_p(f"v_{name}", M[name]), ""), M[name]) if name in KEEP_IF_EMPTY
        else _p(f"v_{name}", M[name])
        for name in _RECORDED
    }
    | {"updated_at": _p("v_now", M.updated_at)}
)
_INSERT_MESSAGE = MESSAGES.insert().values(
    {name: _p(f"v_{name}", M[name]) for name in _RECORDED}
    | {"account": _p("k_account"), "folder": _p("k_folder"), "uidvalidity": _p("k_uidvalidity"), "uid": _p("k_uid"),
       "created_at": _p("v_now", M.created_at), "updated_at": _p("v_now", M.updated_at)}
)  # fmt: skip
# Looked up by Message-ID alone, the rest filtered here: the planner then always takes the Message-ID index (SQLite
# without statistics would otherwise pick the content-hash or account index and scan a mass mailing's rows).
_SAME_MESSAGE_ID = (
    sa.select(M.account, M.folder, M.uidvalidity, M.uid, M.content_hash, M.status)
    .where(M.message_id == _p("message_id"))
    .order_by(M.id)
)
_IN_THREAD = (
    sa.select(M.account, M.sender, M.checklist)
    .where(sa.or_(M.message_id.in_(_p("ids", expanding=True)), M.draft_message_id.in_(_p("ids", expanding=True))))
    .order_by(M.id)
)
_OF_KEYS = sa.select(M.uid, M.status, M.tags).where(
    M.account == _p("account"), M.folder == _p("folder"), M.uidvalidity == _p("uidvalidity"),
    M.uid.in_(_p("uids", expanding=True)),
)
_ONE = sa.select(MESSAGES).where(_BY_KEY)
_CUSTOMER = sa.select(CUSTOMERS).where(C.address == _p("address"))
_CUSTOMER_LOCKED = _CUSTOMER.with_for_update()
_CUSTOMER_FIELDS = ("change_count", "high_change_risk", "change_risk_reason", "last_checklist", "inquiries", "last_seen",
                    "last_clarity", "last_tier", "last_priority", "last_mode", "status", "company", "contact", "country",
                    "last_order_checklist")
E = EVENTS.c
_INSERT_EVENT = EVENTS.insert().values({name: _p(name, E[name]) for name in (
    "customer_id", "at", "source", "message_id", "subject", "clarity", "priority", "tier", "follow_up_mode", "action",
    "missing", "changes", "moves")})
_UPDATE_CUSTOMER = CUSTOMERS.update().where(C.id == _p("c_id")).values(
    {name: _p(f"v_{name}", C[name]) for name in _CUSTOMER_FIELDS}
)


def _key_params(key: MessageKey) -> dict[str, Any]:
    return {"k_account": key.account, "k_folder": key.folder, "k_uidvalidity": key.uidvalidity, "k_uid": key.uid}


def _duplicate(c: Connection, account: str, message_id: str, content_hash: str) -> MessageKey | None:
    """A done message with the same Message-ID and content (the same mail under a new key)."""
    if not message_id or not content_hash:
        return None
    for row in c.execute(_SAME_MESSAGE_ID, {"message_id": message_id[:MESSAGE_ID_MAX]}):
        if row.account == account and row.content_hash == content_hash and row.status in DONE_STATUSES:
            return MessageKey(row.account, row.folder, row.uidvalidity, row.uid)
    return None


def _customer(c: Connection, address: str, *, lock: bool = False) -> dict[str, Any] | None:
    row = c.execute(_CUSTOMER_LOCKED if lock else _CUSTOMER, {"address": address.strip().lower()}).mappings().first()
    return None if row is None else dict(row)


def _thread(c: Connection, account: str, ids: Sequence[str], sender: str) -> list[dict[str, Any]]:
    ids = [i[:MESSAGE_ID_MAX] for i in ids if i]
    if not ids or not sender:
        return []
    rows = c.execute(_IN_THREAD, {"ids": ids})
    return [row.checklist for row in rows if row.account == account and row.sender == sender and row.checklist]


def _write_message(c: Connection, key: MessageKey, values: dict[str, Any]) -> None:
    """Update the row of one key, or insert it (one mailbox's messages are written by one thread only)."""
    params = {**_key_params(key), **{f"v_{name}": values[name] for name in _RECORDED}, "v_now": utcnow()}
    if c.execute(_UPDATE_MESSAGE, params).rowcount == 0:
        c.execute(_INSERT_MESSAGE, params)


def _bump_customer(c: Connection, update: CustomerUpdate) -> dict[str, Any]:
    """Count one more inquiry of a buyer and the checklist values the buyer changed, note its tier and mode (and
    why they moved) as a customer event; return the new row."""
    address = update.address.strip().lower()
    now = utcnow()
    row = _customer(c, address, lock=True)
    if row is None:
        c.execute(_SEED_CUSTOMER, {"address": address, "domain": address.rpartition("@")[2], "now": now, "risk": False,
                                   "source": update.source})
        row = _customer(c, address, lock=True)
        assert row is not None, "the customer row was just inserted"
    old = row["last_checklist"] or {}
    change_count = row["change_count"] + count_changes(old, update.checklist)
    risk, risk_reason = _change_risk(row, update, change_count)
    values: dict[str, Any] = {
        "change_count": change_count,
        "high_change_risk": risk,
        "change_risk_reason": risk_reason,
        "last_checklist": {**old, **{k: v for k, v in update.checklist.items() if v is not None}},
        "inquiries": row["inquiries"] + 1,
        "last_seen": now,
        "last_clarity": update.clarity,
        "last_tier": update.tier,
        "last_priority": update.priority,
        "last_mode": update.mode,
        "status": update.status,
        "company": update.company or row["company"],
        "contact": update.contact or row["contact"],
        "country": update.country or row["country"],
        "last_order_checklist": update.checklist if update.is_order else row["last_order_checklist"],
    }
    c.execute(_UPDATE_CUSTOMER, {"c_id": row["id"], **{f"v_{k}": v for k, v in values.items()}})
    c.execute(_INSERT_EVENT, {
        "customer_id": row["id"], "at": now, "source": update.source, "message_id": update.message_id[:MESSAGE_ID_MAX],
        "subject": update.subject, "clarity": update.clarity, "priority": update.priority, "tier": update.tier,
        "follow_up_mode": update.mode, "action": update.action, "missing": list(update.missing),
        "changes": list(update.changes) or None, "moves": _moves(row, update) or None,
    })  # fmt: skip
    return {**row, **values}


def _moves(row: dict[str, Any], update: CustomerUpdate) -> list[dict[str, str]]:
    """The tier and mode moves since the buyer's previous inquiry, each with the reason of the new decision."""
    if not row["inquiries"]:
        return []
    out = []
    for what, before, now, reason in (("tier", row["last_tier"], update.tier, update.reasons.get("tier", "")),
                                      ("mode", row["last_mode"], update.mode, update.reasons.get("follow_up_mode", ""))):
        if before and now and before != now:
            out.append({"what": what, "from": before, "to": now, "reason": reason})
    return out


def _change_risk(row: dict[str, Any], update: CustomerUpdate, change_count: int) -> tuple[bool, str | None]:
    """Whether the buyer is a high change risk now, and why: values restated differently after an order, or
    requirements changed repeatedly (the thresholds of decisions.toml [order])."""
    if row["high_change_risk"]:
        return True, row["change_risk_reason"]
    order = row["last_order_checklist"]
    if order and not update.is_order:
        changed = sorted(k for k, v in update.checklist.items()
                         if v is not None and order.get(k) is not None and _norm(order[k]) != _norm(v))
        if len(changed) >= update.change_after_order_at:
            return True, f"changed {', '.join(changed)} after an order (from {update.change_after_order_at} change)"
    if change_count >= update.change_risk_at:
        return True, f"changed stated requirements {change_count} times (from {update.change_risk_at})"
    return False, None


def _due_at(outcome: Outcome) -> Any:
    """When the reply to a drafted inquiry is due (now + the decisions' response due hours), else None."""
    a = outcome.assessment
    if outcome.status != "drafted" or a is None or a.response_due_hours is None:
        return None
    import datetime as dt

    return utcnow() + dt.timedelta(hours=a.response_due_hours)


def _decision_columns(outcome: Outcome) -> dict[str, Any]:
    """Return the decision columns filled from the outcome's assessment (all empty without one)."""
    a = outcome.assessment
    if a is None:
        names = ("clarity", "priority", "tier", "follow_up_mode", "quote", "sample", "strength")
        return {**dict.fromkeys(names), "checklist": None, "signals": None, "reasons": None}
    checklist = a.checklist
    return {
        "clarity": a.clarity,
        "priority": a.priority,
        "tier": a.tier,
        "follow_up_mode": a.follow_up_mode,
        "quote": a.quote,
        "sample": a.sample,
        "strength": checklist.strength,
        "checklist": {item: f.as_json() if f else None for item, f in checklist.items},
        "signals": [sig.name for sig in checklist.signals],
        "reasons": dict(a.reasons),
    }


