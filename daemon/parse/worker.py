"""The attachment worker: `python -m daemon.parse.worker LIMITS_JSON`, started and fed by `sandbox`.

It bounds itself before it reads anything: its address space (RLIMIT_AS), no core files, no file writes, and per
attachment a CPU-time limit. Requests arrive on stdin and answers leave on stdout as length-prefixed frames (see
`sandbox`); JSON both ways, so an answer can never be more than data to the daemon. Once its resident memory is
above `recycle_mb` after an attachment, or after a memory error, it says so in the answer and exits: the next
attachment gets a fresh process.
"""

from __future__ import annotations

import json
import logging
import resource
import struct
import sys
import time
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">Q")
MAX_FRAME = 64_000_000
JOBS_PER_PROCESS = 1_000


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    data = stream.read(size)
    return data if len(data) == size else None


def write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def rss_mb() -> float:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 1e6
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def bound(memory_mb: int) -> None:
    """Limits of the whole process; set once, before any attachment is read."""
    for limit, value in ((resource.RLIMIT_AS, memory_mb * 1_000_000), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # a lower hard limit is already in force
            pass


def cpu_budget(seconds: float) -> None:
    """SIGXCPU (which ends the process) once this attachment has used `seconds` more CPU time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(used + seconds) + 1
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


def main() -> int:
    from daemon.parse.readers import Limits

    limits = Limits(**json.loads(sys.argv[1])) if len(sys.argv) > 1 else Limits()
    bound(limits.memory_mb)
    logging.disable(logging.CRITICAL)  # the libraries' warnings about damaged files would go nowhere useful
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library's print() must not corrupt the answers
    from daemon.parse import readers  # the libraries are imported under the limits

    jobs = 0
    while True:
        header = read_frame(stdin)
        payload = read_frame(stdin) if header is not None else None
        if header is None or payload is None:
            return 0
        request = json.loads(header)
        jobs += 1
        started = time.monotonic()
        cpu_budget(limits.seconds * 2)
        answer, fatal = _read(readers, payload, request, limits)
        answer["seconds"] = round(time.monotonic() - started, 4)
        answer["rss_mb"] = round(rss_mb(), 1)
        answer["recycle"] = fatal or answer["rss_mb"] > limits.recycle_mb or jobs >= JOBS_PER_PROCESS
        del payload
        write_frame(stdout, json.dumps(answer, ensure_ascii=False).encode("utf-8"))
        if answer["recycle"]:
            return 0


def _read(readers: Any, payload: bytes, request: dict[str, Any], limits: Any) -> tuple[dict[str, Any], bool]:
    """(answer, whether the process must end after it)."""
    try:
        return readers.read(payload, str(request.get("filename", "")), limits, str(request.get("charset") or "")), False
    except MemoryError:
        return readers.result("", "refused", f"over the memory limit of {limits.memory_mb} MB"), True
    except RecursionError:
        return readers.result("", "refused", "nested too deeply to read"), False
    except Exception as e:  # noqa: BLE001 - any other failure of a library on hostile input is a refusal
        return readers.result("", "refused", f"damaged or unreadable ({type(e).__name__})"), False
    except BaseException as e:  # a Rust panic in calamine arrives as a BaseException (pyo3 PanicException)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return readers.result("", "refused", f"damaged or unreadable ({type(e).__name__})"), True


if __name__ == "__main__":
    sys.exit(main())
