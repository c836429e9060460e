"""The daemon: an APScheduler interval job per mailbox, signal handling, reload on SIGHUP."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from daemon.errors import TriageError
from daemon.mailboxes.base import Mailbox
from daemon.pipeline import KitRef, RunStats, run_mailbox
from daemon.store import Store
from daemon.toolkit import Toolkit

log = logging.getLogger(__name__)


class Daemon:
    """Runs every mailbox on its own interval job; one mailbox down never stops the others."""

    def __init__(self, mailboxes: list[Mailbox], store: Store, kit: KitRef, reload: Callable[[], Toolkit],
                 interval: int = 60, max_attempts: int = 3, max_bytes: int = 25_000_000,
                 watch: tuple[Path, ...] = ()):
        self.mailboxes = mailboxes
        self.store = store
        self.kit = kit
        self.reload_kit = reload
        self.interval = interval
        self.max_attempts = max_attempts
        self.max_bytes = max_bytes
        self.stop = threading.Event()
        self._signals = 0
        self.watch = watch
        self._fingerprint = fingerprint(watch)
        self._reload_lock = threading.Lock()

    def poll(self, mailbox: Mailbox) -> RunStats | None:
        """One pass over a mailbox; errors are logged and recorded, never raised into the scheduler."""
        self.reload_if_changed()
        try:
            mailbox.open()
            stats = run_mailbox(mailbox, self.kit, self.store, self.max_attempts, self.max_bytes, self.stop)
            self.store.set_mailbox_state(mailbox.name, "ok", polled=True, backlog=0)
            return stats
        except TriageError as e:
            log.error("mailbox=%s unavailable: %s", mailbox.name, e)
            self.store.set_mailbox_state(mailbox.name, "error", error=str(e), polled=True)
            return None
        finally:
            try:
                mailbox.close()
            except Exception as e:  # closing a broken connection must not hide the real error
                log.debug("mailbox=%s close failed: %s", mailbox.name, e)

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

    def serve(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        for mailbox in self.mailboxes:
            scheduler.add_job(self.poll, "interval", args=[mailbox], seconds=self.interval, id=f"poll:{mailbox.name}",
                              name=f"poll {mailbox.name}", next_run_time=_now())
            log.info("%s; polling every %d s", mailbox.describe(), self.interval)
        scheduler.start()
        try:
            while not self.stop.wait(1.0):
                pass
        finally:
            scheduler.shutdown(wait=True)
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

    return dt.datetime.now(dt.timezone.utc)
