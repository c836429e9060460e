"""Checkpoints of each folder generation and the state of each mailbox (for `status` and the health check)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from daemon.store.database import Database
from daemon.store.records import _row
from daemon.store.schema import Checkpoint, MailboxState, utcnow


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

    def mailbox_states(self) -> list[dict[str, Any]]:
        """Return the state rows of all mailboxes."""
        with self._tx() as s:
            return [_row(m) or {} for m in s.execute(sa.select(MailboxState).order_by(MailboxState.account)).scalars()]
