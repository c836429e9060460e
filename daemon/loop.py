"""The daemon's waiting, in one thread for any number of mailboxes: the sockets of the mailboxes idling on their
server (epoll through the stdlib's `selectors`) and a heap of timers (poll intervals, IDLE renewals, backoff, the
ownership rounds). Whatever becomes due runs on a small pool of worker threads, never in the waiting thread.

A wait fires once: when its socket turns readable, when its timer expires, or when another thread fires it early
(`fire`, e.g. to stop a mailbox). Its callback gets the reason. Every change to the selector and the heap is made by
the waiting thread itself (other threads post it and wake the loop), so none of it needs a lock around `select`."""

from __future__ import annotations

import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

READY = "ready"  # the socket has data (or reached its end)
TIMEOUT = "timeout"  # the timer expired first

Callback = Callable[[str], None]


class Wait:
    """One pending wait: a socket (file descriptor) and/or a deadline; fires once."""

    __slots__ = ("callback", "deadline", "fd", "fired", "name")

    def __init__(self, callback: Callback, deadline: float | None, fd: int | None, name: str) -> None:
        self.callback = callback
        self.deadline = deadline
        self.fd = fd
        self.name = name
        self.fired = False

    def __repr__(self) -> str:
        return f"<Wait {self.name} fd={self.fd} deadline={self.deadline}>"


class Loop:
    """The waiting thread's loop and the worker pool its callbacks run on."""

    def __init__(self, workers: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._heap: list[tuple[float, int, Wait]] = []
        self._seq = itertools.count()
        self._posted: deque[tuple[str, Wait, str]] = deque()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker")
        self.workers = workers

    # -- what other threads call ------------------------------------------------------------------------------
    def wait(self, callback: Callback, *, delay: float | None = None, fd: int | None = None, name: str = "") -> Wait:
        """Call callback(reason) on a worker once fd is readable (READY) or delay seconds have passed (TIMEOUT)."""
        if delay is None and fd is None:
            raise ValueError("a wait needs a socket, a delay or both")
        waiting = Wait(callback, None if delay is None else self._clock() + max(0.0, delay), fd, name)
        self._post("add", waiting)
        return waiting

    def fire(self, waiting: Wait | None, reason: str) -> None:
        """Fire a wait now with this reason, unless it has fired already (then nothing happens)."""
        if waiting is not None:
            self._post("fire", waiting, reason)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) on a worker now; an exception is logged, never lost silently."""
        if self._stopped.is_set():
            return
        try:
            self._pool.submit(_logged, fn, *args)
        except RuntimeError:  # the pool is shutting down: the daemon is stopping
            log.debug("not submitted while stopping: %s", getattr(fn, "__name__", fn))

    def stop(self) -> None:
        """End run() (the pending waits are dropped: fire the ones that must see the stop first)."""
        self._stopped.set()
        self._wake()

    def shutdown(self, wait: bool = True) -> None:
        """Let the workers finish what they run (with wait), then close the selector."""
        self._pool.shutdown(wait=wait, cancel_futures=False)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _post(self, op: str, waiting: Wait, reason: str = "") -> None:
        with self._lock:
            self._posted.append((op, waiting, reason))
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):  # the buffer is full (the loop will wake anyway) or closed (stopped)
            pass

    # -- the waiting thread -----------------------------------------------------------------------------------
    def run(self) -> None:
        """Wait and dispatch until stop()."""
        while not self._stopped.is_set():
            timeout = self._timeout()
            for key, _ in self._selector.select(timeout):
                if key.data is None:
                    self._drain_wake()
                else:
                    self._dispatch(key.data, READY)
            self._apply_posted()
            self._expire()

    def _timeout(self) -> float | None:
        while self._heap and self._heap[0][2].fired:
            heapq.heappop(self._heap)
        if self._posted:
            return 0.0
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - self._clock())

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _apply_posted(self) -> None:
        while True:
            with self._lock:
                if not self._posted:
                    return
                op, waiting, reason = self._posted.popleft()
            if waiting.fired:
                continue
            if op == "fire":
                self._dispatch(waiting, reason)
                continue
            if waiting.fd is not None:
                try:
                    self._selector.register(waiting.fd, selectors.EVENT_READ, waiting)
                except (KeyError, ValueError, OSError) as e:  # a closed or reused descriptor: let the owner see it
                    log.debug("%s: cannot watch fd %s: %s", waiting.name, waiting.fd, e)
                    self._dispatch(waiting, READY)
                    continue
            if waiting.deadline is not None:
                heapq.heappush(self._heap, (waiting.deadline, next(self._seq), waiting))

    def _expire(self) -> None:
        now = self._clock()
        while self._heap and (self._heap[0][2].fired or self._heap[0][0] <= now):
            _, _, waiting = heapq.heappop(self._heap)
            if not waiting.fired:
                self._dispatch(waiting, TIMEOUT)

    def _dispatch(self, waiting: Wait, reason: str) -> None:
        """Mark the wait fired, stop watching its socket and run its callback on a worker."""
        waiting.fired = True
        if waiting.fd is not None:
            try:
                self._selector.unregister(waiting.fd)
            except (KeyError, ValueError, OSError):
                pass
        self.submit(waiting.callback, reason)


def _logged(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - a worker must never die silently
        log.exception("unexpected error in %s", getattr(fn, "__qualname__", fn))
