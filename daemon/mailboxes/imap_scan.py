"""Which inbox messages are new: a checkpoint per (mailbox, folder, UIDVALIDITY), a backfill window on the first
start, size checks before any body is fetched, and BODY.PEEK fetches in batches (never setting \\Seen)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from daemon.limits import over
from daemon.mailboxes.imap_connect import guard
from extractors.core.model import MessageKey, Outcome

if TYPE_CHECKING:
    from daemon.store import Store

log = logging.getLogger(__name__)

FETCH_BYTES = 32_000_000  # at most this many message bytes held in memory per body fetch
BACKLOG_EVERY = 25  # update the mailbox's backlog in the store every this many messages


class Checkpoints:
    """Per folder generation, the highest UID done (get/set) and the highest UID handed to the pipeline
    (attempted/set_attempted): in the store, or in memory without one. Neither ever moves back."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self._memory: dict[tuple[str, str, str, int], int] = {}

    def get(self, account: str, folder: str, uidvalidity: int) -> int:
        if self.store is not None:
            return self.store.checkpoint(account, folder, uidvalidity)
        return self._memory.get(("done", account, folder, uidvalidity), 0)

    def set(self, account: str, folder: str, uidvalidity: int, uid: int) -> None:
        if self.store is not None:
            self.store.set_checkpoint(account, folder, uidvalidity, uid)
        else:
            self._raise(("done", account, folder, uidvalidity), uid)

    def attempted(self, account: str, folder: str, uidvalidity: int) -> int:
        if self.store is not None:
            return self.store.attempted(account, folder, uidvalidity)
        return self._memory.get(("attempted", account, folder, uidvalidity), 0)

    def set_attempted(self, account: str, folder: str, uidvalidity: int, uid: int) -> None:
        if self.store is not None:
            self.store.set_attempted(account, folder, uidvalidity, uid)
        else:
            self._raise(("attempted", account, folder, uidvalidity), uid)

    def _raise(self, key: tuple[str, str, str, int], uid: int) -> None:
        self._memory[key] = max(uid, self._memory.get(key, 0))


def candidate_uids(client: Any, name: str, last_uid: int, backfill_days: int) -> list[int]:
    """UIDs above the checkpoint; with no checkpoint yet, those that arrived within the backfill window."""
    with guard(name, "searching the inbox"):
        if last_uid == 0:
            since = dt.date.today() - dt.timedelta(days=backfill_days)
            return sorted(client.search(["SINCE", since]))
        return sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)


def size_batches(sizes: dict[int, int], uids: list[int], count: int) -> Iterator[list[int]]:
    """Split uids into batches of at most count messages and about FETCH_BYTES bytes."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (len(batch) >= count or total + sizes[uid] > FETCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


class _NoProgress:
    def advance(self) -> None:
        pass


@contextmanager
def progress(name: str, total: int, backfill: bool) -> Iterator[Any]:
    """A progress bar on stderr for a backfill, only when stderr is a terminal."""
    if not (backfill and total and sys.stderr.isatty()):
        yield _NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(f"backfill {name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    with bar:
        task = bar.add_task("backfill", total=total)

        class _Bar:
            def advance(self) -> None:
                bar.advance(task)

        yield _Bar()


def skip_oversized(store: Store | None, key: MessageKey, size: int, limit: int) -> None:
    """Record a message over [daemon] max_message_bytes as skipped without fetching its body."""
    reason = over("message", size, limit, "byte", "max_message_bytes")
    log.warning("mailbox=%s uid=%s skipped: %s", key.account, key.uid, reason)
    if store is not None:
        store.record(Outcome(key, "", "skipped", "none", reason=reason))


def status_of(key: MessageKey, statuses: Callable[[Sequence[MessageKey]], dict[MessageKey, str]]) -> str:
    """The stored status of a message the consumer did not report on ('' when unknown)."""
    return statuses([key]).get(key, "")
