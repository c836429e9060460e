"""The nurture drafts of tier C buyers: who may get one, and each one noted before and after it is saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func

from daemon.store.database import Database
from daemon.store.schema import MESSAGE_ID_MAX, Customer, CustomerEvent, DraftText, Message, Nurture, SentReply

CHUNK = 500  # addresses or Message-IDs per query
NURTURE_ACTION = "nurture_mail"  # the action of a nurture draft's text in draft_texts (what a sent one is compared with)
NURTURES: sa.Table = Nurture.__table__  # type: ignore[assignment]  # a declarative class's Table
_M: sa.Table = Message.__table__  # type: ignore[assignment]
_C: sa.Table = Customer.__table__  # type: ignore[assignment]
_E: sa.Table = CustomerEvent.__table__  # type: ignore[assignment]
_T: sa.Table = DraftText.__table__  # type: ignore[assignment]
_S: sa.Table = SentReply.__table__  # type: ignore[assignment]


class NurtureBook(Database):
    """The tier C buyers of a mailbox and their nurture drafts."""

    def nurture_candidates(self, account: str, tier: str = "C") -> list[dict[str, Any]]:
        """The customers of this tier whose latest mail inquiry was drafted in this mailbox, each with what decides
        whether a nurture draft is due: the inquiry (`message_id`, `subject`, `inquiry_at`, `action`, `language`,
        `draft_text`), the buyer's nurture drafts (`nurtures`: rows, oldest first), the latest sent reply of the
        seller in the thread (`sent_at`), and the buyer's messages recorded after the inquiry (`later`: each with
        `status` and `signals`) and whether any message of the buyer was found invalid (`invalid`)."""
        m, c, e, t = _M.c, _C.c, _E.c, _T.c
        latest = (sa.select(e.customer_id, func.max(e.id).label("event_id"))
                  .where(e.source == "mail", e.message_id != "").group_by(e.customer_id).subquery())
        query = (sa.select(c.address, c.last_tier.label("tier"), e.action, m.id.label("row_id"), m.message_id,
                           m.subject, m.created_at.label("inquiry_at"), m.language.label("mail_language"),
                           t.language, t.text.label("draft_text"))
                 .join(latest, latest.c.customer_id == c.id).join(_E, e.id == latest.c.event_id)
                 .join(_M, sa.and_(m.message_id == e.message_id, m.account == account, m.status == "drafted",
                                   m.draft_message_id.is_not(None)))
                 .outerjoin(_T, t.draft_message_id == m.draft_message_id)
                 .where(c.last_tier == tier).order_by(c.address, m.id))  # fmt: skip
        with self._conn() as conn:
            found: dict[str, dict[str, Any]] = {}
            for hit in conn.execute(query).mappings():
                found[hit["address"]] = dict(hit)  # the newest row of a Message-ID recorded twice wins
            rows = list(found.values())
            for row in rows:
                row.update(nurtures=[], sent_at=None, later=[], invalid=False)
            by_address = {r["address"]: r for r in rows}
            by_inquiry: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                by_inquiry.setdefault(r["message_id"], []).append(r)
            for chunk in _chunks(list(by_address)):
                for n in conn.execute(sa.select(NURTURES).where(NURTURES.c.address.in_(chunk))
                                      .order_by(NURTURES.c.seq)).mappings():
                    by_address[n["address"]]["nurtures"].append(dict(n))
                for mail in conn.execute(sa.select(func.lower(m.sender).label("sender"), m.id, m.message_id, m.status,
                                                   m.signals)
                                         .where(func.lower(m.sender).in_(chunk))).mappings():
                    r = by_address[mail["sender"]]
                    r["invalid"] = r["invalid"] or "invalid" in (mail["signals"] or [])
                    if mail["id"] > r["row_id"]:
                        r["later"].append({"message_id": mail["message_id"], "status": mail["status"],
                                           "signals": list(mail["signals"] or [])})
            for chunk in _chunks(list(by_inquiry)):
                sent = (sa.select(_S.c.inquiry_message_id, func.max(_S.c.sent_at))
                        .where(_S.c.account == account, _S.c.inquiry_message_id.in_(chunk))
                        .group_by(_S.c.inquiry_message_id))
                for inquiry, at in conn.execute(sent):
                    for r in by_inquiry[inquiry]:
                        r["sent_at"] = _utc(at)
        for r in rows:
            r["inquiry_at"] = _utc(r["inquiry_at"])
        return rows

    def begin_nurture(self, *, account: str, address: str, seq: int, inquiry_message_id: str, draft_message_id: str,
                      language: str, content: str, now: dt.datetime) -> bool:
        """Note, durably, that the buyer's seq-th nurture draft is about to be saved; False when it was noted
        before (by an earlier pass or another process)."""
        statement = self._insert(Nurture).values(
            account=account, address=address, seq=seq, inquiry_message_id=inquiry_message_id[:MESSAGE_ID_MAX],
            draft_message_id=draft_message_id[:MESSAGE_ID_MAX], language=language, content=content[:255],
            state="saving", created_at=now,
        ).on_conflict_do_nothing().returning(NURTURES.c.id)  # fmt: skip
        with self._durable() as conn:
            return conn.execute(statement).first() is not None

    def nurture_saved(self, draft_message_id: str, now: dt.datetime, *, account: str, inquiry_message_id: str,
                      language: str, text: str) -> None:
        """Note that the nurture draft is in Drafts, with its text (what a sent reply made from it is compared
        with)."""
        with self._conn() as conn:
            conn.execute(NURTURES.update().where(NURTURES.c.draft_message_id == draft_message_id[:MESSAGE_ID_MAX])
                         .values(state="saved", saved_at=now))
            conn.execute(self._insert(DraftText).values(
                account=account, draft_message_id=draft_message_id[:MESSAGE_ID_MAX],
                inquiry_message_id=inquiry_message_id[:MESSAGE_ID_MAX], action=NURTURE_ACTION, language=language,
                text=text, created_at=now,
            ).on_conflict_do_nothing(index_elements=["draft_message_id"]))  # fmt: skip

    def nurtures(self, account: str | None = None) -> list[dict[str, Any]]:
        """The nurture drafts, oldest first."""
        query = sa.select(NURTURES).order_by(NURTURES.c.id)
        if account is not None:
            query = query.where(NURTURES.c.account == account)
        with self._conn() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


def _chunks(values: Sequence[str]) -> list[list[str]]:
    return [list(values[i:i + CHUNK]) for i in range(0, len(values), CHUNK)]


def _utc(value: Any) -> Any:
    """A datetime from a raw (not type-decorated) column, in UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value
