"""Which mailboxes this process works on.

With SQLite one process owns them all (`Sole`: the store's lock file says which). With PostgreSQL any number of
replicas share them (`Replicas`): each replica's session (daemon/store/locks.py) is its membership, and it holds an
advisory lock on each mailbox it owns. At each claim round a replica counts the live replicas, works out its fair
share (an even spread: the first `M mod N` replicas by backend pid take one more), lets go of its surplus and takes
free mailboxes up to its share, preferring those that hash highest with its own name (rendezvous hashing: replicas
rarely reach for the same mailbox). The caller stops a surplus mailbox's work before it lets its lock go, and starts
a claimed mailbox's work only once the lock is taken: two replicas never work on one mailbox."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.store.locks import ONCE, REPLICA, Session, StoreLock, mailbox_key, replica_name
from extractors.core.errors import ConfigError

if TYPE_CHECKING:
    from daemon.store import Store

log = logging.getLogger(__name__)

RESCAN_SECONDS = 60.0  # a replica at its share still looks for free mailboxes this often (views may disagree)


@dataclass
class Round:
    """What a claim round decided: mailboxes now locked for this process (start them), mailboxes over its share
    (stop them, then release), mailboxes it believed it held but does not (stop them at once)."""

    claimed: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    replicas: int = 1
    share: int = 0
    trouble: str = ""  # why fewer were claimed than the share allowed
    others: set[str] = field(default_factory=set)  # held by other replicas (known when the round looked at them all)


class Ownership:
    """One process owns every mailbox; the base for the coordinated kinds."""

    coordinated = False
    name = "this process"

    def join(self) -> None:
        """Become an owner (raise ConfigError or TransientError when this process may not)."""

    def leave(self) -> None:
        """Stop being an owner (every lock is let go)."""

    def round(self, names: Sequence[str], held: set[str], busy: set[str]) -> Round:
        """Claim what is this process's to take (not `held` already, not `busy` still stopping)."""
        return Round(claimed=[n for n in names if n not in held and n not in busy], share=len(names))

    def release(self, name: str) -> None:
        """Let go of a mailbox whose work has stopped."""

    def fileno(self) -> int | None:
        """A socket that turns readable when ownership may have been lost (None: it cannot be)."""
        return None

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        """For one pass of `run --once`: whether the mailbox may be worked on now (held for the block)."""
        yield True


class Sole(Ownership):
    """The only process on a SQLite store: the lock file beside the database is held while it runs."""

    def __init__(self, database: Path | None) -> None:
        self._lock = StoreLock(database) if database is not None else None
        self._joined = False

    def join(self) -> None:
        if self._lock is not None and not self._joined:
            self._lock.acquire()
            self._joined = True

    def leave(self) -> None:
        if self._lock is not None and self._joined:
            self._lock.release()
            self._joined = False


class Replicas(Ownership):
    """One of several replicas on a PostgreSQL store."""

    coordinated = True

    def __init__(self, session: Session, clock: Callable[[], float] = time.monotonic) -> None:
        self.session = session
        self.name = session.name.removeprefix(REPLICA).strip()
        self._clock = clock
        self._scanned = float("-inf")

    def join(self) -> None:
        if not self.session.open_:
            self.session.open()

    def leave(self) -> None:
        self.session.close()

    def fileno(self) -> int | None:
        return self.session.fileno()

    def round(self, names: Sequence[str], held: set[str], busy: set[str]) -> Round:
        """One claim round; TransientError when the session is lost (then this process holds nothing). The first
        round on a new session after a lost one claims nothing: when the database comes back, every replica gets
        one round to reconnect before the shares are worked out (else the first back would claim them all)."""
        if not self.session.open_:
            self.session.open()
            pids = sorted({pid for pid, _ in self.session.members()} | {self.session.pid})
            return Round(replicas=len(pids), share=0)
        pids = sorted({pid for pid, _ in self.session.members()} | {self.session.pid})
        rank = pids.index(self.session.pid)
        share = len(names) // len(pids) + (1 if rank < len(names) % len(pids) else 0)
        decided = Round(replicas=len(pids), share=share)
        if len(held) > share:
            decided.release = sorted(held, key=self._preference)[: len(held) - share]
        elif len(held) < share or self._clock() - self._scanned > RESCAN_SECONDS:
            self._scanned = self._clock()
            holders = self.session.held()
            decided.lost = sorted(n for n in held if holders.get(mailbox_key(n)) != self.session.pid)
            decided.others = {n for n in names if holders.get(mailbox_key(n), self.session.pid) != self.session.pid}
            mine = {mailbox_key(n) for n in held | busy}  # (two names of one key share its lock, and its owner)
            for name in names:  # held by this session from before its mailboxes were stopped: let go, then claim
                key = mailbox_key(name)
                if name not in held and name not in busy and holders.get(key) == self.session.pid and key not in mine:
                    while self.session.unlock(key):
                        pass
                    del holders[key]
            free = [n for n in names if n not in held and n not in busy
                    and (mailbox_key(n) not in holders or mailbox_key(n) in mine)]
            room = share - (len(held) - len(decided.lost))
            if room > self.session.budget - len(holders):
                room = max(0, self.session.budget - len(holders))
                decided.trouble = (f"database {self.session.url_for_display}: its lock table has room for "
                                   f"{self.session.budget:,} mailbox locks (half of max_locks_per_transaction x "
                                   "connections), all taken; raise max_locks_per_transaction (docs/operations.md)")
            for name in sorted(free, key=self._preference, reverse=True):
                if len(decided.claimed) >= room:
                    break
                try:
                    if self.session.try_lock(mailbox_key(name)):
                        decided.claimed.append(name)
                except ConfigError as e:  # the database's lock table is full: keep what was claimed
                    decided.trouble = str(e)
                    break
        return decided

    def release(self, name: str) -> None:
        if not self.session.unlock(mailbox_key(name)):
            log.warning("mailbox=%s was not locked by this replica when released", name)

    def _preference(self, name: str) -> int:
        digest = hashlib.blake2b(f"{name}\0{self.name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")


class Visitor(Ownership):
    """`run --once` beside running replicas: each mailbox is locked for its pass; one a replica owns is left to it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def join(self) -> None:
        self.session.open()

    def leave(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        key = mailbox_key(name)
        if not self.session.try_lock(key):
            log.info("mailbox=%s is owned by a running replica; left to it", name)
            yield False
            return
        try:
            yield True
        finally:
            self.session.unlock(key)


def for_store(store: Store, *, claim_seconds: float, once: bool = False) -> Ownership:
    """The ownership a store allows: replicas on PostgreSQL, one process on SQLite (`run --once` included)."""
    if store.engine.dialect.name != "postgresql":
        return Sole(store.sqlite_path)
    session = Session(store.engine, replica_name(ONCE if once else REPLICA), claim_seconds=claim_seconds)
    return Visitor(session) if once else Replicas(session)
