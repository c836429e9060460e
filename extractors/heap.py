"""Handing freed memory back to the system after a large, short-lived allocation (a renewed spaCy vocabulary, a
Hyperscan compilation): otherwise glibc keeps the freed pages and the daemon's RSS stays at its peak."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any


def release_freed_memory(collect: bool = True) -> None:
    """Free what only reference cycles still hold (`collect`; spaCy's objects hold cycles) and hand the freed
    pages back to the system (glibc's malloc_trim; elsewhere the allocator keeps them for reuse)."""
    if collect:
        gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()
