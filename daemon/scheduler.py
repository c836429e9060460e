"""The daemon: every mailbox this process owns, watched at once, and their passes on a few worker threads.

One thread waits on everything (daemon/loop.py): the socket of each mailbox idling on its server, the timers of the
polled ones, backoff after failures. When a mailbox has news (its server announced mail, its interval passed, its
IDLE is due for renewal) a worker runs its turn: a pass over the new mail, then the next wait. A thread per mailbox
(what the daemon did before) woke every second per mailbox to look at its socket: 2,000 idle mailboxes cost 12 % of
a core doing nothing; waiting in one epoll call costs nothing until a socket or a timer is due (docs/operations.md).

Which mailboxes are this process's is decided by its ownership (daemon/ownership.py): all of them on SQLite; a fair
share of them on PostgreSQL, where replicas coordinate through advisory locks. A claim round runs on a thread of its
own every [daemon] claim_seconds, and at once when the database ends the replica's session; a surplus mailbox's work
stops before its lock is let go; when the session is lost, or not confirmed for FENCE_ROUNDS rounds, every mailbox
stops at once (another replica may take it over) and is claimed again once the database answers.

A mailbox's job never ends before the daemon stops or the mailbox goes to another replica: every failure (the
mailbox, the store, a bug) is caught, reported to the mailbox's health (in memory) and followed by a wait with
backoff and a new attempt. The main thread writes the health to the store whenever the store answers."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import resource
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from daemon.health import Health
from daemon.limits import DEFAULT_LIMITS, Limits
from daemon.loop import READY, TIMEOUT, Loop, Wait
from daemon.mailboxes.base import Mailbox
from daemon.metrics import NULL_METRICS, Metrics
from daemon.ownership import Ownership, Round
from daemon.pipeline import KitRef, RunStats, run_mailbox
from daemon.store import Store
from daemon.toolkit import Toolkit
from extractors.core.errors import ConfigError, TransientError, TriageError

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0  # seconds before the first reconnect attempt
BACKOFF_MAX = 300.0  # never wait longer than this between attempts
RETRY_SECONDS = 10.0  # a pass with failed messages is repeated after at most this long
FENCE_ROUNDS = 3  # a replica that has not confirmed its session for this many claim rounds stops its mailboxes
WORKERS = 8
SLICE = 500  # messages of one mailbox per turn (a few seconds): a long backlog takes turns with the other mailboxes


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


class Job:
    """One owned mailbox's life in this process: connected or not, idling or not, what it waits for."""

    def __init__(self, mailbox: Mailbox, first: Callable[[bool], None] | None = None) -> None:
        self.mailbox = mailbox
        self.name = mailbox.name
        self.lock = threading.Lock()
        self.stop = threading.Event()  # set: finish the current message, log out, end
        self.held = threading.Event()  # cleared when the ownership is lost: nothing irreversible is done then
        self.held.set()
        self.ended = threading.Event()
        self.release = False  # when it ends, let the lock go (the mailbox goes to another replica)
        self.connected = False
        self.idling = False
        self.idle_until = 0.0
        self.fd: int | None = None
        self.waiting: Wait | None = None
        self.backoff = Backoff()
        self.announced = False
        self.first = first  # hears whether the first connection succeeded


class _Firsts:
    """The outcome of the first connection of each mailbox claimed at start."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.expected = 0
        self.heard: list[bool] = []

    def expect(self, n: int) -> None:
        with self._cond:
            self.expected += n
            self._cond.notify_all()

    def hear(self, ok: bool) -> None:
        with self._cond:
            self.heard.append(ok)
            self._cond.notify_all()

    def wait(self, stop: threading.Event) -> list[bool]:
        """Until one mailbox connected, or all failed (or stop)."""
        with self._cond:
            while len(self.heard) < self.expected and not any(self.heard) and not stop.is_set():
                self._cond.wait(0.5)
            return list(self.heard)


class Daemon:
    """Runs every owned mailbox; one mailbox down never stops the others."""

    def __init__(self, mailboxes: list[Mailbox], store: Store, kit: KitRef, reload: Callable[[], Toolkit],
                 interval: int = 60, max_attempts: int = 3, limits: Limits = DEFAULT_LIMITS,
                 watch: tuple[Path, ...] = (), metrics: Metrics = NULL_METRICS, health: Health | None = None, *,
                 ownership: Ownership | None = None, workers: int = WORKERS, claim_seconds: float = 5.0):
        self.mailboxes = mailboxes
        self.by_name = {m.name: m for m in mailboxes}
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
        self.health = health or Health([], busy_after=max(60.0, 2 * limits.message_seconds))
        self.health._metrics = metrics if metrics is not NULL_METRICS else None
        metrics.health_source = self.health.verdict
        self.ownership = ownership or Ownership()
        self.workers = workers
        self.claim_seconds = claim_seconds
        self.jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()
        self._round_lock = threading.Lock()
        self._confirmed = time.monotonic()
        self._view: tuple[int, int] = (0, -1)
        self._trouble_logged = float("-inf")
        self._wake_r, self._wake_w = socket.socketpair()
        self.loop: Loop | None = None
        for mailbox in mailboxes:
            mailbox.backlog_listener = self._backlog_listener(mailbox.name)

    def _backlog_listener(self, name: str) -> Callable[[int], None]:
        return lambda waiting: self.health.backlog(name, waiting)

    # -- one pass ---------------------------------------------------------------------------------------------
    def _pass(self, mailbox: Mailbox, stop: threading.Event | None = None, limit: int | None = None) -> RunStats:
        """One pass over an open mailbox (at most `limit` messages); the health hears each message start and end."""
        stop = stop or self.stop
        stats = run_mailbox(mailbox, self.kit, self.store, self.max_attempts, self.limits, stop, self.metrics,
                            progress=lambda key: self.health.busy(mailbox.name, key), limit=limit)
        self.health.ok(mailbox.name, backlog=0 if not stop.is_set() and not stats.cut else None, polled=True)
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
        """One pass over a mailbox; errors are logged and recorded, never raised into the caller."""
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
        """One pass over every mailbox this process may work on now (on PostgreSQL, those no replica owns)."""
        self.ownership.join()
        try:
            results: list[RunStats | None] = []
            for mailbox in self.mailboxes:
                with self.ownership.hold(mailbox.name) as mine:
                    results.append(self.poll(mailbox) if mine else RunStats())
            return results
        finally:
            self.ownership.leave()

    # -- rules, signals -------------------------------------------------------------------------------------
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

    def _watch_rules(self, _reason: str) -> None:
        self.reload_if_changed()
        if self.loop is not None and not self.stop.is_set():
            self.loop.wait(self._watch_rules, delay=min(self.interval, 30), name="watch rules")

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            threading.Thread(target=self.reload, name="reload", daemon=True).start()
            return
        self._signals += 1
        if self._signals > 1:
            log.warning("Second signal: exiting now")
            os._exit(1)  # the workers may be inside a network read: do not wait for them
        log.info("Signal %s: finishing the current message, then stopping", signal.Signals(signum).name)
        self.stop.set()
        self._wake()

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

    # -- serving ----------------------------------------------------------------------------------------------
    def serve(self) -> None:
        """Run until SIGTERM/SIGINT; raise TransientError (exit 3) when none of the mailboxes this process claims
        at start can be opened."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        open_files(len(self.mailboxes) + 100)
        self.ownership.join()
        self.loop = Loop(self.workers)
        waiting = threading.Thread(target=self.loop.run, name="waiting", daemon=True)
        waiting.start()
        rounds: threading.Thread | None = None
        try:
            firsts = _Firsts()
            self._round(firsts)
            opened = firsts.wait(self.stop)
            if opened and not any(opened) and not self.stop.is_set():
                names = ", ".join(sorted(self.jobs))
                raise TransientError(f"no mailbox is reachable ({names}); see the errors above")
            if self.ownership.coordinated:
                rounds = threading.Thread(target=self._rounds, name="ownership", daemon=True)
                rounds.start()
            if self.watch:
                self.loop.wait(self._watch_rules, delay=min(self.interval, 30), name="watch rules")
            while not self.stop.wait(1.0):
                self.health.flush(self.store)
                self._check_lease()
        finally:
            self._shutdown(waiting, rounds)

    def _shutdown(self, waiting: threading.Thread, rounds: threading.Thread | None) -> None:
        self.stop.set()
        self._wake()
        with self._jobs_lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            self._halt(job, release=False)
        for job in jobs:
            job.ended.wait()
        if rounds is not None:
            rounds.join()
        assert self.loop is not None
        self.loop.stop()
        waiting.join(timeout=10)
        self.loop.shutdown(wait=True)
        self.ownership.leave()
        self.health.flush(self.store, force=True)
        log.info("Stopped")

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    # -- ownership --------------------------------------------------------------------------------------------
    def _rounds(self) -> None:
        """The ownership thread: a claim round every claim_seconds, and at once when the replica's session turns
        readable (the server ending it, e.g. at a restart: its mailboxes must stop before anyone claims them)."""
        while not self.stop.is_set():
            fd = self.ownership.fileno()
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            if fd is not None:
                poller.register(fd, select.POLLIN)
            try:
                ready = {f for f, _ in poller.poll(self.claim_seconds * 1000)}
            except OSError:  # the session's socket closed meanwhile
                ready = set()
            if self._wake_r.fileno() in ready:
                try:
                    self._wake_r.recv(4096)
                except OSError:
                    pass
            if self.stop.is_set():
                break
            self._round()
            if fd is not None and fd in ready:
                time.sleep(0.05)  # a readable session that stays readable must not spin

    def _round(self, firsts: _Firsts | None = None) -> Round | None:
        """One claim round: stop what is lost or over this replica's share, start what it claimed."""
        if not self._round_lock.acquire(blocking=False):
            return None
        try:
            with self._jobs_lock:
                held = {n for n, j in self.jobs.items() if not j.stop.is_set()}
                busy = {n for n, j in self.jobs.items() if j.stop.is_set()}
            try:
                decided = self.ownership.round([m.name for m in self.mailboxes], held, busy)
            except TransientError as e:
                self._fence(str(e))
                return None
            except ConfigError as e:  # e.g. the lock table is full: keep what is held, say what to change
                log.error("%s", e)
                return None
            self._confirmed = time.monotonic()
            for name in decided.lost:
                self._lose(name, "another session holds its lock")
            for name in decided.release:
                job = self.jobs.get(name)
                if job is not None:
                    self._halt(job, release=True)
            if firsts is not None:
                firsts.expect(len(decided.claimed))
            for name in decided.claimed:
                self._start(name, firsts)
            self._report(decided, held)
            return decided
        finally:
            self._round_lock.release()

    def _report(self, decided: Round, held: set[str]) -> None:
        owned = len(held) - len(decided.lost) - len(decided.release) + len(decided.claimed)
        self.metrics.ownership(owned, decided.replicas)
        if not self.ownership.coordinated:
            return
        line = (f"replica {self.ownership.name}: owns {owned} of {len(self.mailboxes)} mailboxes "
                f"({decided.replicas} replica{'s' if decided.replicas != 1 else ''}, share {decided.share})")
        self.health.replica(line)
        if decided.trouble and time.monotonic() - self._trouble_logged > 60:
            self._trouble_logged = time.monotonic()
            log.error("%s", decided.trouble)
        view = (decided.replicas, decided.share)
        if view != self._view or decided.claimed or decided.release or decided.lost:
            self._view = view
            log.info("%s%s%s", line, f"; claimed {', '.join(decided.claimed)}" if decided.claimed else "",
                     f"; releasing {', '.join(decided.release)}" if decided.release else "")
        with self._jobs_lock:
            current = set(self.jobs)
        for name in self.health.names():
            if name not in current and name in decided.others:
                self.health.forget(name)  # stopped when the ownership was lost; another replica has it now

    def _check_lease(self) -> None:
        """Stop every mailbox when the ownership has not been confirmed for FENCE_ROUNDS claim rounds (a session
        that hangs): the server frees a silent session's locks only after about twice as long."""
        if not self.ownership.coordinated or self.stop.is_set():
            return
        silent = time.monotonic() - self._confirmed
        if silent > FENCE_ROUNDS * self.claim_seconds and any(not j.stop.is_set() for j in list(self.jobs.values())):
            self._fence(f"database unreachable at {self.store.url_for_display}: no answer for {silent:.0f} s; "
                        "the replica's ownership is unconfirmed")

    def _fence(self, reason: str) -> None:
        """The ownership is lost or unconfirmed: stop every mailbox now (nothing irreversible is started any more)."""
        with self._jobs_lock:
            jobs = [j for j in self.jobs.values() if not j.stop.is_set()]
        if jobs:
            log.error("Stopping %d mailbox(es) until this replica can confirm it owns them: %s", len(jobs), reason)
        for job in jobs:
            self._lose(job.name, reason)
        self.health.replica(f"replica {self.ownership.name}: owns no mailbox (ownership unconfirmed)", reason)
        self.metrics.ownership(0, 0)

    def _lose(self, name: str, reason: str) -> None:
        job = self.jobs.get(name)
        if job is None:
            return
        job.held.clear()
        self.health.error(name, reason)
        self._halt(job, release=False)

    # -- one mailbox's job ------------------------------------------------------------------------------------
    def _start(self, name: str, firsts: _Firsts | None = None) -> None:
        mailbox = self.by_name[name]
        job = Job(mailbox, firsts.hear if firsts is not None else None)
        mailbox.held = job.held.is_set
        with self._jobs_lock:
            self.jobs[name] = job
        self.health.add(name)
        if self.ownership.coordinated:
            log.info("mailbox=%s claimed by this replica", name)
        assert self.loop is not None
        self.loop.submit(self._turn, job, "start")

    def _turn(self, job: Job, reason: str) -> None:
        """What a mailbox does when its wait fires: look at what the server sent, pass over new mail, wait again.
        Runs on a worker; never raises."""
        with job.lock:
            job.waiting = None
        mailbox = job.mailbox
        if job.stop.is_set() or self.stop.is_set():
            self._end(job)
            return
        try:
            if job.idling:
                if reason == READY and not mailbox.idle_check():
                    self._arm(job, fd=job.fd, delay=job.idle_until - time.monotonic())  # a keep-alive, a flag
                    return
                job.idling = False
                news = mailbox.idle_stop()
                if reason == TIMEOUT and not news:
                    self._rest(job, None, renewed=True)
                    return
            if not job.connected:
                ok = self._connect(mailbox)
                self._first(job, ok)
                if not ok:
                    self._arm(job, delay=job.backoff.next())
                    return
                job.connected = True
            stats = self._pass(mailbox, job.stop, SLICE)
            job.backoff.reset()
            self._rest(job, stats)
        except Exception as e:  # noqa: BLE001 - nothing ends the job but stop
            self._failed(mailbox, e)
            self._first(job, False)
            job.connected = job.idling = False
            self._arm(job, delay=job.backoff.next())

    def _rest(self, job: Job, stats: RunStats | None, renewed: bool = False) -> None:
        """After a pass (or an IDLE renewal with nothing new): IDLE on the server, or a timer."""
        if job.stop.is_set():
            self._end(job)
            return
        if stats is not None and stats.cut:  # more waiting: the next slice after the other mailboxes' turns
            self._arm(job, delay=0)
            return
        if stats is not None and stats.failed:  # retry the failed messages soon, not at the next mail or renewal
            self._arm(job, delay=min(self.interval, RETRY_SECONDS))
            return
        mailbox = job.mailbox
        if mailbox.can_idle:
            fd = mailbox.idle_start()
            if fd is None:  # new mail came meanwhile: another pass at once
                self._arm(job, delay=0)
                return
            if renewed:
                self.health.ok(job.name, polled=True)  # the renewal looked at the mailbox: nothing new
            job.idling, job.fd = True, fd
            job.idle_until = time.monotonic() + mailbox.idle_seconds
            self._announce(job, "waiting with IDLE")
            self._arm(job, fd=fd, delay=mailbox.idle_seconds)
            return
        self._announce(job, f"polling every {self.interval} s")
        self._arm(job, delay=self.interval)

    def _announce(self, job: Job, how: str) -> None:
        if not job.announced:
            job.announced = True
            log.info("%s; %s", job.mailbox.describe(), how)

    def _first(self, job: Job, ok: bool) -> None:
        first, job.first = job.first, None
        if first is not None:
            first(ok)

    def _arm(self, job: Job, **wait: float | int | None) -> None:
        """Wait for the job's next reason to run (a socket, a delay); at once to its end when it is stopping."""
        assert self.loop is not None
        with job.lock:
            stopping = job.stop.is_set()
            if not stopping:
                job.waiting = self.loop.wait(functools.partial(self._turn, job), name=job.name, **wait)  # type: ignore[arg-type]
        if stopping:
            self._end(job)

    def _halt(self, job: Job, *, release: bool) -> None:
        """Ask a job to end: its current message ends, then it logs out (and with release lets its lock go)."""
        with job.lock:
            if job.stop.is_set():
                return
            job.release = release
            job.stop.set()
            waiting = job.waiting
        if self.loop is not None:
            self.loop.fire(waiting, "stop")

    def _end(self, job: Job) -> None:
        """Log out; let the lock go when the mailbox goes to another replica. Never raises."""
        job.idling = False
        self._close(job.mailbox)
        log.info("mailbox=%s stopped", job.name)
        if job.release:
            try:
                self.ownership.release(job.name)
                log.info("mailbox=%s released to the other replicas", job.name)
            except TriageError as e:  # the session is gone: so is the lock
                log.warning("mailbox=%s release: %s", job.name, e)
            self.health.forget(job.name)
        self._first(job, False)
        with self._jobs_lock:
            if self.jobs.get(job.name) is job:
                del self.jobs[job.name]
        job.ended.set()


def open_files(needed: int) -> None:
    """Raise the soft limit of open files to the hard one (each IMAP mailbox keeps a connection open); warn when
    even that is below what the mailboxes need."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning("Only %d files may be open, about %d are needed (one connection per mailbox); raise the limit "
                    "(systemd LimitNOFILE, ulimit -n)", soft, needed)


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
