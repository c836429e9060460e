"""A cache of what is expensive to build at every start and depends only on files: the loaded rule set (the rules
files parsed, validated, fragments expanded, every regex compiled once to check it).

An entry is named by a SHA-256 of everything it was built from (the files' contents, the code that reads them,
the versions of Python and of the libraries involved), so a changed file is never read from the cache. The cache
is a folder only the current user can write (`$INQUIRY_TRIAGE_CACHE`, else `$XDG_CACHE_HOME/inquiry-triage`, else
`~/.cache/inquiry-triage`; `INQUIRY_TRIAGE_CACHE=off` switches it off); an entry in a folder or file another user
could have written is not read, and an entry that cannot be read is built afresh. Entries are written whole
(to a temporary file, then renamed) and the oldest are removed past `KEEP` entries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP = 8
_LIBRARIES = ("regex", "babel", "pydantic", "pycountry")


def folder() -> Path | None:
    """The cache folder, or None when switched off."""
    setting = os.environ.get("INQUIRY_TRIAGE_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "inquiry-triage"


def key(kind: str, files: Iterable[Path], code: Iterable[Path]) -> str:
    """The name of an entry built from `files` by `code` (their contents, and the versions involved)."""
    h = hashlib.sha256(f"{kind}\0{sys.version}\0".encode())
    for name in _LIBRARIES:
        try:
            h.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name}=?\0".encode())
    for path in [*code, *files]:
        h.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return f"{kind}-{h.hexdigest()[:32]}"


def _private(path: Path) -> bool:
    """Owned by the current user and writable by nobody else."""
    try:
        st = path.stat()
    except OSError:
        return False
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def cached(name: str, build: Callable[[], T]) -> T:
    """The entry `name` from the cache, else built (and kept when the cache folder is usable)."""
    where = folder()
    if where is None:
        return build()
    path = where / f"{name}.pickle"
    if path.is_file() and _private(where) and _private(path):
        try:
            with path.open("rb") as f:
                return pickle.load(f)  # noqa: S301 - written by this user, named by the hash of its sources
        except Exception as e:  # noqa: BLE001 - a damaged or outdated entry: built afresh
            log.debug("Cache entry %s not read (%s); building it", path, e)
    value = build()
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(where):
            return value
        fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        entries = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as e:
        log.debug("Cache folder %s not usable (%s); nothing kept", where, e)
    return value
