"""Checkpoints of each folder generation and the state of each mailbox (for `status` and the health check)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from daemon.store.database import Database
from daemon.store.records import _row
from daemon.store.schema import Checkpoint, MailboxState, utcnow

_STATES: sa.Table = MailboxState.__table__  # type: ignore[assignment]  # a declarative class's Table
_TOUCH = _STATES.update().where(_STATES.c.account.in_(sa.bindparam("accounts", expanding=True))).values(
    updated_at=sa.bindparam("now"))


class MailboxBook(Database):
    """Checkpoints of each folder generation and the state of each mailbox."""

    def checkpoint(self, account: str, folder: str, uidvalidity: int) -> int:
        """Return the last UID handled in a folder generation, or 0."""
        with self._tx() as s:
            cp = s.get(Checkpoint, (account, folder, uidvalidity))
            return cp.last_uid if cp else 0

    def set_checkpoint(self, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        """Move the checkpoint forward; an older UID leaves it unchanged."""
        insert = self._insert(Checkpoint).values(
            account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=utcnow()
        )
        statement = insert.on_conflict_do_update(
            index_elements=["account", "folder", "uidvalidity"],
            set_={"last_uid": insert.excluded.last_uid, "updated_at": insert.excluded.updated_at},
            where=Checkpoint.__table__.c.last_uid < insert.excluded.last_uid,
        )
        with self._tx() as s:
            s.execute(statement)

    def attempted(self, account: str, folder: str, uidvalidity: int) -> int:
        """Return the highest UID of a folder generation handed to the pipeline, or 0."""
        with self._tx() as s:
            cp = s.get(Checkpoint, (account, folder, uidvalidity))
            return cp.attempted_uid if cp else 0

    def set_attempted(self, account: str, folder: str, uidvalidity: int, uid: int) -> None:
        """Note, before a batch is processed, the highest UID in it; an older UID leaves the mark unchanged."""
        insert = self._insert(Checkpoint).values(
            account=account, folder=folder, uidvalidity=uidvalidity, last_uid=0, attempted_uid=uid, updated_at=utcnow()
        )
        statement = insert.on_conflict_do_update(
            index_elements=["account", "folder", "uidvalidity"],
            set_={"attempted_uid": insert.excluded.attempted_uid, "updated_at": insert.excluded.updated_at},
            where=Checkpoint.__table__.c.attempted_uid < insert.excluded.attempted_uid,
        )
        with self._durable() as c:
            c.execute(statement)

    def set_mailbox_state(
        self, account: str, state: str, *, error: str = "", backlog: int | None = None, polled: bool = False,
        polled_at: dt.datetime | None = None,
    ) -> None:
        """Record the state of one mailbox; backlog and last poll (now with `polled`, or `polled_at`) change only
        when given."""
        now = utcnow()
        values: dict[str, Any] = {"state": state, "last_error": error, "updated_at": now}
        if backlog is not None:
            values["backlog"] = backlog
        if polled or polled_at is not None:
            values["last_poll"] = polled_at or now
        insert = self._insert(MailboxState).values(account=account, **{"backlog": 0, **values})
        statement = insert.on_conflict_do_update(index_elements=["account"], set_=values)
        with self._tx() as s:
            s.execute(statement)

    def set_mailbox_states(self, rows: list[dict[str, Any]], touch: Sequence[str] = ()) -> None:
        """Record the states of several mailboxes in one transaction: each row as set_mailbox_state takes it
        (account, state, error, backlog, polled_at), and for the accounts in `touch` only the time of writing (a
        heartbeat: `status` tells a row no daemon writes any more by it), with one statement for all of them."""
        if not rows and not touch:
            return
        now = utcnow()
        with self._tx() as s:
            for row in rows:
                values: dict[str, Any] = {"state": row["state"], "last_error": row.get("error", ""), "updated_at": now}
                if row.get("backlog") is not None:
                    values["backlog"] = row["backlog"]
                if row.get("polled_at") is not None:
                    values["last_poll"] = row["polled_at"]
                insert = self._insert(MailboxState).values(account=row["account"], **{"backlog": 0, **values})
                s.execute(insert.on_conflict_do_update(index_elements=["account"], set_=values))
            if touch:
                s.execute(_TOUCH, {"now": now, "accounts": list(touch)})

    def mailbox_states(self) -> list[dict[str, Any]]:
        """Return the state rows of all mailboxes."""
        with self._tx() as s:
            return [_row(m) or {} for m in s.execute(sa.select(MailboxState).order_by(MailboxState.account)).scalars()]
