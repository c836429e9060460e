"""Attachments are read in worker processes, never in the daemon: a hostile file can cost a worker its life, not
the daemon its memory or its time.

A worker (`python -m daemon.parse.worker`) is started on the first attachment that needs reading and kept for the
next ones (starting one costs about 0.3 s of imports). Its bounds: address space `Limits.memory_mb` (RLIMIT_AS), a
CPU-time limit per attachment, and here a wall-clock limit per attachment (`Limits.seconds`), after which it is
killed. It runs in its own session with an environment that holds no secrets of the daemon (no password
variables), writes no files, and answers in JSON. A worker that dies, is killed, or finds itself grown past
`Limits.recycle_mb` is replaced by a fresh one at the next attachment. Up to `size` workers serve the mailboxes'
threads at once.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from daemon.parse.readers import Limits, result
from daemon.parse.worker import _LENGTH, MAX_FRAME

log = logging.getLogger(__name__)
_ROOT = str(Path(__file__).resolve().parent.parent.parent)  # the folder holding the `daemon` package


class WorkerFailed(Exception):
    """The worker ended or was killed before it answered."""


class Worker:
    """One worker process and its pipes."""

    def __init__(self, limits: Limits):
        self.limits = limits
        env = {"PATH": os.defpath, "LC_ALL": "C.UTF-8", "PYTHONPATH": _ROOT, "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-m", "daemon.parse.worker", json.dumps(asdict(limits))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd="/",
            start_new_session=True, close_fds=True,
        )
        self.jobs = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def read(self, filename: str, data: bytes, charset: str, seconds: float) -> dict[str, Any]:
        """Send one attachment and wait for the answer; WorkerFailed when the worker dies or overstays."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        header = json.dumps({"filename": filename, "charset": charset}).encode()
        deadline = time.monotonic() + seconds
        try:
            self.proc.stdin.write(_LENGTH.pack(len(header)) + header + _LENGTH.pack(len(data)))
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise WorkerFailed(self._ended()) from e
        self.jobs += 1
        size = _LENGTH.unpack(self._read_exactly(_LENGTH.size, deadline, seconds))[0]
        if size > MAX_FRAME:
            self.kill()
            raise WorkerFailed(f"the reader sent an answer of {size} bytes")
        return dict(json.loads(self._read_exactly(size, deadline, seconds)))

    def _read_exactly(self, size: int, deadline: float, seconds: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        left = size
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                self.kill()
                raise WorkerFailed(f"took longer than {seconds:g} s (stopped)")
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise WorkerFailed(self._ended())
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _ended(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the reader stopped answering"
        if code == -signal.SIGXCPU:
            return f"over the CPU-time limit of {self.limits.seconds * 2:g} s"
        if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
            return f"the reader ended on signal {-code} (over the memory limit of {self.limits.memory_mb} MB or a damaged file)"
        return f"the reader ended with exit code {code}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.close()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Sandbox:
    """A small pool of workers; `read` never raises: a failure is a refusal with its reason."""

    def __init__(self, limits: Limits | None = None, size: int = 2):
        self.limits = limits or Limits()
        self.size = size
        self._idle: list[Worker] = []
        self._busy = 0
        self._lock = threading.Condition()
        self.started = 0  # workers started so far (for the benchmarks and tests)
        self.closed = False

    def read(self, filename: str, data: bytes, charset: str = "", seconds: float | None = None) -> dict[str, Any]:
        seconds = min(seconds or self.limits.seconds, self.limits.seconds)
        worker = self._take()
        keep = False
        try:
            answer = worker.read(filename, data, charset, seconds)
            keep = not answer.pop("recycle", False)
            return answer
        except WorkerFailed as e:
            log.warning("attachment reader: %s; a new one starts for the next attachment", e)
            return result("", "refused", str(e))
        finally:
            self._give_back(worker, keep)

    def _take(self) -> Worker:
        with self._lock:
            while not self._idle and self._busy >= self.size:
                self._lock.wait()
            self._busy += 1
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.close()
        try:
            worker = Worker(self.limits)
        except OSError:
            with self._lock:
                self._busy -= 1
                self._lock.notify()
            raise
        self.started += 1
        log.debug("attachment reader started (pid %d)", worker.pid)
        return worker

    def _give_back(self, worker: Worker, keep: bool) -> None:
        if not keep:
            worker.kill()
        elif self.closed:
            worker.close()
        with self._lock:
            self._busy -= 1
            if keep and not self.closed and worker.alive():
                self._idle.append(worker)
            self._lock.notify()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._idle if w.alive()]

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default() -> Sandbox:
    """The process's sandbox, made on first use and closed at exit."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default


class _Default:
    """The process's sandbox, as a reader that `parse` takes by default."""

    @property
    def limits(self) -> Limits:
        return default().limits

    def read(self, filename: str, data: bytes, charset: str = "", seconds: float | None = None) -> dict[str, Any]:
        return default().read(filename, data, charset, seconds)


DEFAULT = _Default()
