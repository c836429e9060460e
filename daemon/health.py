"""Each mailbox's health, kept in memory and written to the store when it can be: the state, the last error and
since when, the backlog and whether it moves. A mailbox that cannot make progress (mailbox or store unreachable,
a backlog that does not move, a message that does not end) is unhealthy; /healthz, the metrics and `status` say so.

Nothing here raises into a mailbox's job: when the store cannot be written, the state stays in memory and is
written (with the outage's start and end) once the store answers again."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from extractors.core.model import MessageKey

if TYPE_CHECKING:
    from daemon.metrics import Metrics
    from daemon.store import Store

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0  # the states are written at least this often ([daemon] heartbeat_seconds): a store that
# fails is noticed while idle too, and `status` can tell a row no daemon writes any more


def _utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hms(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass
class _Box:
    state: str = "connecting"  # connecting | ok | error | stalled (as written to the store)
    error: str = ""  # the last error, as it was said
    failing_since: float | None = None  # monotonic; None while the mailbox makes progress
    failing_wall: dt.datetime | None = None
    last_error_note: str = ""  # the last error with its time span, for the store and `status`
    backlog: int | None = None
    last_progress: float = field(default_factory=time.monotonic)  # a message ended, or nothing was waiting
    busy: tuple[MessageKey, float] | None = None  # the message being processed and since when
    polled: dt.datetime | None = None
    dirty: bool = True


class Health:
    """The health of every mailbox of the daemon and of its store; thread-safe, never raising."""

    def __init__(self, names: list[str], *, unhealthy_after: float = 120, stalled_after: float = 900,
                 busy_after: float = 60, heartbeat: float = HEARTBEAT_SECONDS, metrics: Metrics | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], dt.datetime] = _utc) -> None:
        self.unhealthy_after, self.stalled_after, self.busy_after = unhealthy_after, stalled_after, busy_after
        self.heartbeat = heartbeat
        self._clock, self._wall = clock, wall
        self._metrics = metrics
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._boxes = {name: _Box(last_progress=clock()) for name in names}
        self._store_down: tuple[float, dt.datetime, str] | None = None
        self._written = 0.0
        self._replica = ""  # what this replica owns, when replicas share the mailboxes
        self._replica_trouble: tuple[float, str] | None = None

    # -- which mailboxes: those this process owns ---------------------------------------------------------------
    def add(self, name: str) -> None:
        """A mailbox this process now owns (it starts connecting)."""
        self._update(name, state="connecting")

    def forget(self, name: str) -> None:
        """A mailbox this process no longer owns: its row in the store is left to its new owner."""
        with self._lock:
            self._boxes.pop(name, None)
        if self._metrics is not None:
            self._metrics.forget(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._boxes)

    def replica(self, line: str, trouble: str | None = None) -> None:
        """What this replica owns (one line for /healthz) and, while it cannot reach the database to confirm its
        ownership, why: unhealthy once that lasts unhealthy_after seconds."""
        with self._lock:
            self._replica = line
            if trouble is None:
                self._replica_trouble = None
            elif self._replica_trouble is None:
                self._replica_trouble = (self._clock(), trouble)
            else:
                self._replica_trouble = (self._replica_trouble[0], trouble)

    # -- what the mailbox jobs report -------------------------------------------------------------------------
    def connecting(self, name: str) -> None:
        self._update(name, state="connecting")

    def connected(self, name: str) -> None:
        """The mailbox is connected; it makes progress again only once a pass ends (ok with polled)."""
        with self._lock:
            failing = self._boxes.setdefault(name, _Box(last_progress=self._clock())).failing_since is not None
        self._update(name, state="error" if failing else "ok")

    def ok(self, name: str, *, backlog: int | None = None, polled: bool = False) -> None:
        """The mailbox is connected and (polled) a pass over it ended; it makes progress again."""
        with self._lock:
            box = self._boxes.setdefault(name, _Box(last_progress=self._clock()))
            if box.failing_since is not None:
                assert box.failing_wall is not None
                now = self._wall()
                seconds = (now - box.failing_wall).total_seconds()
                box.last_error_note = f"{_hms(box.failing_wall)} to {_hms(now)} ({seconds:.0f} s): {box.error}"
                log.info("mailbox=%s works again after %.0f s", name, seconds)
                box.failing_since = box.failing_wall = None
            box.state = "ok"
            if backlog is not None:
                box.backlog = backlog
                if backlog == 0:
                    box.last_progress = self._clock()
            if polled:
                box.polled = self._wall()
            box.dirty = True
        self._publish(name)

    def error(self, name: str, error: str, *, polled: bool = False) -> None:
        """The mailbox or the store failed; the mailbox cannot make progress until ok() is heard."""
        with self._lock:
            box = self._boxes.setdefault(name, _Box(last_progress=self._clock()))
            if box.failing_since is None:
                box.failing_since, box.failing_wall = self._clock(), self._wall()
            box.state, box.error, box.busy = "error", error, None
            assert box.failing_wall is not None
            box.last_error_note = f"since {_hms(box.failing_wall)}: {error}"
            if polled:
                box.polled = self._wall()
            box.dirty = True
        self._publish(name)

    def backlog(self, name: str, waiting: int) -> None:
        """How many messages wait in the mailbox (reported during a pass)."""
        self._update(name, backlog=waiting)

    def busy(self, name: str, key: MessageKey | None) -> None:
        """A message started (its key) or ended (None): an ended message is progress."""
        with self._lock:
            box = self._boxes.setdefault(name, _Box(last_progress=self._clock()))
            now = self._clock()
            if key is None:
                box.busy = None
                box.last_progress = now
            else:
                box.busy = (key, now)

    def _update(self, name: str, **values: Any) -> None:
        with self._lock:
            box = self._boxes.setdefault(name, _Box(last_progress=self._clock()))
            for k, v in values.items():
                setattr(box, k, v)
            box.dirty = True
        self._publish(name)

    # -- the verdict --------------------------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """Why each unhealthy mailbox is unhealthy (one line each); empty when all are healthy."""
        now = self._clock()
        found: dict[str, str] = {}
        with self._lock:
            for name, box in sorted(self._boxes.items()):
                problem = self._problem(box, now)
                if problem:
                    found[name] = problem
        return found

    def _problem(self, box: _Box, now: float) -> str | None:
        """Why one mailbox is unhealthy, or None (called with the lock held)."""
        store = self._store_down
        if box.failing_since is not None and now - box.failing_since > self.unhealthy_after:
            return f"no progress for {now - box.failing_since:.0f} s: {box.error}"
        if box.busy is not None and now - box.busy[1] > self.busy_after:
            return f"message uid {box.busy[0].uid} in progress for {now - box.busy[1]:.0f} s"
        if box.backlog and now - box.last_progress > self.stalled_after:
            return f"backlog of {box.backlog} not moving for {now - box.last_progress:.0f} s"
        if store is not None and now - store[0] > self.unhealthy_after:
            return f"store unreachable for {now - store[0]:.0f} s: {store[2]}"
        return None

    def verdict(self) -> tuple[bool, str]:
        """(healthy, one line per mailbox this process owns, then the replica's line) for /healthz."""
        problems = self.problems()
        now = self._clock()
        with self._lock:
            lines = [f"mailbox {n}: {'unhealthy: ' + problems[n] if n in problems else box.state}"
                     for n, box in sorted(self._boxes.items())]
            trouble, replica = self._replica_trouble, self._replica
        if trouble is not None and now - trouble[0] > self.unhealthy_after:
            problems["replica"] = f"{replica}: ownership unconfirmed for {now - trouble[0]:.0f} s: {trouble[1]}"
            lines.append(f"unhealthy: {problems['replica']}")
        elif replica:
            lines.append(replica)
        if problems:
            return False, "unhealthy\n" + "\n".join(lines)
        return True, "ok\n" + "\n".join(lines)

    def _publish(self, name: str, problems: dict[str, str] | None = None) -> None:
        if self._metrics is None:
            return
        with self._lock:
            box = self._boxes.get(name)
            if box is None:
                return
            state, backlog = box.state, box.backlog
            healthy = name not in problems if problems is not None else self._problem(box, self._clock()) is None
        self._metrics.connection(name, state if state in ("ok", "connecting", "error") else "error")
        self._metrics.mailbox(name, healthy=healthy, backlog=backlog)

    # -- writing it to the store ------------------------------------------------------------------------------
    def flush(self, store: Store, force: bool = False) -> None:
        """Write the changed states to the store, and every `heartbeat` seconds (or with force) the time of writing
        of the others (one statement for all); when the store cannot be written, remember since when and try again
        at the next flush. Never raises."""
        if not self._flushing.acquire(blocking=False):
            return  # another thread is writing them now
        try:
            now = self._clock()
            beat = force or now - self._written > self.heartbeat
            problems = self.problems()
            with self._lock:
                rows = [self._row(name, box, problems.get(name)) for name, box in self._boxes.items()
                        if box.dirty or name in problems]
                written = {row["account"] for row in rows}
                touch = sorted(n for n in self._boxes if n not in written) if beat else []
                for row in rows:
                    self._boxes[row["account"]].dirty = False
            try:
                store.set_mailbox_states(rows, touch)
            except Exception as e:  # noqa: BLE001 - the store's health is reported, never raised into a job
                self._store_failed(e)
                with self._lock:
                    for row in rows:
                        if row["account"] in self._boxes:
                            self._boxes[row["account"]].dirty = True
                return
            if beat:
                self._written = now
            self._store_back()
        finally:
            self._flushing.release()
        if self._metrics is not None:
            for name in self.names():
                self._publish(name, problems)

    def _row(self, name: str, box: _Box, problem: str | None) -> dict[str, Any]:
        state = box.state
        if problem and state == "ok":
            state = "stalled"
        error = box.last_error_note
        if problem and state == "stalled":
            error = f"since {_hms(self._wall())}: {problem}"
        return {"account": name, "state": state, "error": error, "backlog": box.backlog, "polled_at": box.polled}

    def _store_failed(self, e: Exception) -> None:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        with self._lock:
            if self._store_down is None:
                self._store_down = (self._clock(), self._wall(), reason)
                log.error("Mailbox states cannot be written to the store; keeping them in memory: %s", reason)
            else:
                self._store_down = (self._store_down[0], self._store_down[1], reason)
        if self._metrics is not None:
            self._metrics.store_up(False)

    def _store_back(self) -> None:
        with self._lock:
            down, self._store_down = self._store_down, None
        if down is not None:
            log.info("Store reachable again after %.0f s (unreachable since %s)", self._clock() - down[0], _hms(down[1]))
        if self._metrics is not None:
            self._metrics.store_up(True)
