"""The daemon: one long-running APScheduler job per mailbox (pass, then IDLE or sleep, reconnecting with
exponential backoff and jitter), a watch job for rules changes, signal handling, reload on SIGHUP.

A mailbox's job never ends before the daemon stops: every failure (the mailbox, the store, a bug) is caught,
reported to the mailbox's health (in memory; never a write that could fail in its turn) and followed by a wait
and a new attempt. The main thread writes the health to the store whenever the store answers."""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from daemon.health import Health
from daemon.limits import DEFAULT_LIMITS, Limits
from daemon.mailboxes.base import Mailbox
from daemon.metrics import NULL_METRICS, Metrics
from daemon.pipeline import KitRef, RunStats, run_mailbox
from daemon.store import Store
from daemon.toolkit import Toolkit
from extractors.core.errors import TransientError, TriageError

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0  # seconds before the first reconnect attempt
BACKOFF_MAX = 300.0  # never wait longer than this between attempts
RETRY_SECONDS = 10.0  # a pass with failed messages is repeated after at most this long


class Backoff:
    """Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling up to a ceiling."""

    def __init__(self, first: float = BACKOFF_FIRST, ceiling: float = BACKOFF_MAX) -> None:
        self.first, self.ceiling, self.failures = first, ceiling, 0

    def next(self) -> float:
        delay = min(self.ceiling, self.first * 2 ** min(self.failures, 30))
        self.failures += 1
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        self.failures = 0


class Daemon:
    """Runs every mailbox on its own interval job; one mailbox down never stops the others."""

    def __init__(self, mailboxes: list[Mailbox], store: Store, kit: KitRef, reload: Callable[[], Toolkit],
                 interval: int = 60, max_attempts: int = 3, limits: Limits = DEFAULT_LIMITS,
                 watch: tuple[Path, ...] = (), metrics: Metrics = NULL_METRICS, health: Health | None = None):
        self.mailboxes = mailboxes
        self.metrics = metrics
        self.store = store
        self.kit = kit
        self.reload_kit = reload
        self.interval = interval
        self.max_attempts = max_attempts
        self.limits = limits
        self.stop = threading.Event()
        self._signals = 0
        self.watch = watch
        self._fingerprint = fingerprint(watch)
        self._reload_lock = threading.Lock()
        self.health = health or Health([m.name for m in mailboxes], busy_after=max(60.0, 2 * limits.message_seconds))
        self.health._metrics = metrics if metrics is not NULL_METRICS else None
        metrics.health_source = self.health.verdict
        for mailbox in mailboxes:
            mailbox.backlog_listener = self._backlog_listener(mailbox.name)

    def _backlog_listener(self, name: str) -> Callable[[int], None]:
        return lambda waiting: self.health.backlog(name, waiting)

    def _pass(self, mailbox: Mailbox) -> RunStats:
        """One pass over an open mailbox; the health hears each message start and end."""
        stats = run_mailbox(mailbox, self.kit, self.store, self.max_attempts, self.limits, self.stop, self.metrics,
                            progress=lambda key: self.health.busy(mailbox.name, key))
        self.health.ok(mailbox.name, backlog=0 if not self.stop.is_set() else None, polled=True)
        return stats

    def _failed(self, mailbox: Mailbox, e: BaseException) -> None:
        """Report a failure of a mailbox's pass (logged, in the health) and close its connection; never raises."""
        try:
            if isinstance(e, TriageError):
                log.error("mailbox=%s unavailable: %s", mailbox.name, e)
                self.health.error(mailbox.name, str(e), polled=True)
            else:
                log.error("mailbox=%s unexpected error", mailbox.name, exc_info=e)
                self.health.error(mailbox.name, f"unexpected error ({type(e).__name__}); see the log", polled=True)
        except Exception:  # noqa: BLE001 - reporting must never end the job
            log.exception("mailbox=%s reporting a failure failed", mailbox.name)
        self._close(mailbox)

    def poll(self, mailbox: Mailbox) -> RunStats | None:
        """One pass over a mailbox; errors are logged and recorded, never raised into the scheduler."""
        self.reload_if_changed()
        try:
            self.health.connecting(mailbox.name)
            mailbox.open()
            return self._pass(mailbox)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none ends the caller
            self._failed(mailbox, e)
            return None
        finally:
            self._close(mailbox)
            self.health.flush(self.store, force=True)

    def run_once(self) -> list[RunStats | None]:
        return [self.poll(m) for m in self.mailboxes]

    def reload(self) -> None:
        with self._reload_lock:
            self._fingerprint = fingerprint(self.watch)
            try:
                self.kit.set(self.reload_kit())
                log.info("Reloaded rules, templates and seller profile")
            except TriageError as e:
                log.error("Reload failed, keeping the previous rules and templates: %s", e)

    def reload_if_changed(self) -> None:
        """Reload when a file of the rules overlay or the seller profile changed since the last load."""
        if self.watch and fingerprint(self.watch) != self._fingerprint:
            log.info("Rules overlay or seller profile changed on disk")
            self.reload()

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            threading.Thread(target=self.reload, name="reload", daemon=True).start()
            return
        self._signals += 1
        if self._signals > 1:
            log.warning("Second signal: exiting now")
            raise SystemExit(1)
        log.info("Signal %s: finishing the current message, then stopping", signal.Signals(signum).name)
        self.stop.set()

    def _close(self, mailbox: Mailbox) -> None:
        try:
            mailbox.close()
        except Exception as e:  # closing a broken connection must not hide the real error
            log.debug("mailbox=%s close failed: %s", mailbox.name, e)

    def _connect(self, mailbox: Mailbox) -> bool:
        """Open one mailbox, reporting the state; False (and the error reported) when it fails."""
        self.health.connecting(mailbox.name)
        try:
            mailbox.open()
        except Exception as e:  # noqa: BLE001 - reported; the job tries again
            self._failed(mailbox, e)
            return False
        self.health.connected(mailbox.name)
        return True

    def watch_mailbox(self, mailbox: Mailbox, connected: bool = False) -> None:
        """The long-running job of one mailbox: pass, wait (IDLE or interval), again; after any failure (the
        mailbox, the store, a bug) wait with backoff and start over on a new connection. Ends only on stop."""
        backoff = Backoff()
        while not self.stop.is_set():
            try:
                if not connected:
                    if not self._connect(mailbox):
                        self.stop.wait(backoff.next())
                        continue
                    connected = True
                stats = self._pass(mailbox)
                backoff.reset()
                if self.stop.is_set():
                    break
                if stats.failed:  # retry the failed messages soon, not at the next mail or IDLE timeout
                    self.stop.wait(min(self.interval, RETRY_SECONDS))
                else:
                    mailbox.wait(self.interval, self.stop)
            except Exception as e:  # noqa: BLE001 - nothing ends the job but stop
                self._failed(mailbox, e)
                connected = False
                self.stop.wait(backoff.next())
        self._close(mailbox)
        log.info("mailbox=%s stopped", mailbox.name)

    def serve(self) -> None:
        """Run until SIGTERM/SIGINT; raise TransientError (exit 3) when no mailbox can be opened at start."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        opened = {m.name: self._connect(m) for m in self.mailboxes}
        if not any(opened.values()):
            raise TransientError(f"no mailbox is reachable ({', '.join(opened)}); see the errors above")
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(len(self.mailboxes) + 2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        for mailbox in self.mailboxes:
            scheduler.add_job(self.watch_mailbox, "date", args=[mailbox, opened[mailbox.name]], run_date=_now(),
                              id=f"mailbox:{mailbox.name}", name=f"mailbox {mailbox.name}")
            waits = "waiting with IDLE" if getattr(mailbox, "idle_on", False) else f"polling every {self.interval} s"
            log.info("%s; %s", mailbox.describe(), waits)
        if self.watch:
            scheduler.add_job(self.reload_if_changed, "interval", seconds=min(self.interval, 30), id="watch-rules",
                              name="watch rules")
        scheduler.start()
        try:
            while not self.stop.wait(1.0):
                self.health.flush(self.store)
        finally:
            scheduler.shutdown(wait=True)
            self.health.flush(self.store, force=True)
            log.info("Stopped")


def fingerprint(paths: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime_ns, size) of every file under the watched paths."""
    out = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _now():  # noqa: ANN202
    import datetime as dt

    return dt.datetime.now(dt.UTC)
