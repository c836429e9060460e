"""A Maildir inbox read without touching the buyer's files, and a Maildir of reply drafts."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import logging
import os
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from daemon.mailboxes.base import DONE, Mailbox, Statuses
from extractors.core.errors import ConfigError, TransientError
from extractors.core.model import Draft, MessageKey, RawMessage

log = logging.getLogger(__name__)

SUBDIRS = ("cur", "new", "tmp")
FLAGS = {"D": "\\Draft", "F": "\\Flagged", "P": "$Forwarded", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
HEADER_LIMIT = 64 * 1024
_INFO = re.compile(r"[:!][12],")


def unique_name(file_name: str) -> str:
    """Return the Maildir unique name: the file name without the ':2,FLAGS' info."""
    return _INFO.split(file_name, maxsplit=1)[0]


def maildir_uid(file_name: str) -> int:
    """Return a stable positive 63-bit UID for a Maildir file, unchanged by moves and flag changes."""
    return int(hashlib.sha1(unique_name(file_name).encode()).hexdigest()[:15], 16) or 1


def maildir_flags(file_name: str) -> tuple[str, ...]:
    """Return the IMAP-style flags in a Maildir file name's info part."""
    match = _INFO.search(file_name)
    letters = file_name[match.end() :] if match and match.group().endswith("2,") else ""
    return tuple(FLAGS[c] for c in letters if c in FLAGS)


def normalise_message_id(message_id: str) -> str:
    """Return a Message-ID without surrounding space and angle brackets."""
    value = message_id.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.strip()


def _hostname() -> str:
    """Return the host name made safe for a Maildir file name."""
    return socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


class MaildirMailbox(Mailbox):
    """An inbox Maildir read only, and a drafts Maildir the daemon writes drafts to."""

    def __init__(self, name: str, path: Path, drafts: Path, create: bool = False, sent: Path | None = None) -> None:
        self.name = name
        self.path = Path(path)
        self.drafts = Path(drafts)
        self.sent = Path(sent) if sent is not None else self.path / ".Sent"  # Maildir++'s Sent folder
        self.create = create
        self.uidvalidity = zlib.crc32(str(self.path.resolve()).encode()) or 1
        self._draft_ids: set[str] | None = None

    def open(self) -> None:
        """Check the inbox Maildir and create the drafts Maildir if missing."""
        if self.create:
            _make_maildir(self.path)
        missing = [d for d in SUBDIRS if not (self.path / d).is_dir()]
        if missing:
            raise ConfigError(
                f"mailbox {self.name}: Maildir inbox {self.path} not found (missing {', '.join(missing)}/); "
                "check the mailbox path in the configuration"
            )
        _make_maildir(self.drafts)
        self._draft_ids = None

    def close(self) -> None:
        """Forget the cached draft Message-IDs."""
        self._draft_ids = None

    def _key(self, file_name: str) -> MessageKey:
        return MessageKey(self.name, "INBOX", self.uidvalidity, maildir_uid(file_name))

    def _listing(self) -> list[tuple[float, str, Path]]:
        """List the inbox files as (mtime, name, path), oldest first."""
        found: list[tuple[float, str, Path]] = []
        try:
            for sub in ("new", "cur"):
                with os.scandir(self.path / sub) as entries:
                    for entry in entries:
                        if entry.name.startswith(".") or not entry.is_file():
                            continue
                        try:
                            found.append((entry.stat().st_mtime, entry.name, Path(entry.path)))
                        except FileNotFoundError:
                            continue  # moved by a mail client meanwhile; the next poll sees it
        except OSError as e:
            raise TransientError(f"mailbox {self.name}: cannot list Maildir {self.path}: {e}") from e
        return sorted(found, key=lambda f: (f[0], f[1]))

    def fetch_new(self, statuses: Statuses, limit: int | None = None) -> Iterator[RawMessage]:
        """Yield the inbox messages not yet done, oldest first; files are only read. A message with a stored row
        that is not done had an earlier attempt, which may have saved its draft."""
        listing = [(self._key(file_name), path) for _mtime, file_name, path in self._listing()]
        stored = statuses([key for key, _path in listing])
        self.report_backlog(len({key for key, _path in listing if stored.get(key) not in DONE}))
        seen: set[int] = set()
        for key, path in listing:
            if limit is not None and len(seen) >= limit:
                return
            if key.uid in seen or stored.get(key) in DONE:
                continue
            found = self._read(path)
            if found is None:
                continue
            path, data = found
            seen.add(key.uid)
            yield RawMessage(key, data, maildir_flags(path.name), str(path), may_have_draft=key in stored)

    can_append_note = True

    def append_note(self, data: bytes) -> None:
        """Write a note into the inbox's cur/ flagged (F) and unread, through tmp/ like a delivery."""
        unique = f"{int(time.time())}.{hashlib.sha1(data).hexdigest()[:16]}.{_hostname()}"
        tmp, final = self.path / "tmp" / unique, self.path / "cur" / f"{unique}:2,F"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, final)
        except OSError as e:
            raise TransientError(f"mailbox {self.name}: cannot write a note to {self.path}: {e}") from e

    def fetch_sent(self, known: Callable[[list[str]], set[str]]) -> Iterator[tuple[str, bytes]]:
        """Yield the Sent Maildir's messages not recorded yet (key: the file's unique name); only read."""
        files: dict[str, Path] = {}
        for sub in ("cur", "new"):
            try:
                with os.scandir(self.sent / sub) as entries:
                    files.update({unique_name(e.name): Path(e.path) for e in entries
                                  if not e.name.startswith(".") and e.is_file()})
            except FileNotFoundError:
                continue
            except OSError as e:
                raise TransientError(f"mailbox {self.name}: cannot list Sent {self.sent}: {e}") from e
        done = known(sorted(files))
        for key in sorted(set(files) - done):
            found = self._read(files[key])
            if found is not None:
                yield key, found[1]

    def _read(self, path: Path) -> tuple[Path, bytes] | None:
        """Read a message file, following it if a mail client just moved it from new/ to cur/."""
        try:
            return path, path.read_bytes()
        except FileNotFoundError:
            moved = self._locate(unique_name(path.name))
            if moved is None:
                log.debug("mailbox=%s file %s vanished before it was read", self.name, path.name)
                return None
            return self._read(moved) if moved != path else None
        except OSError as e:
            raise TransientError(f"mailbox {self.name}: cannot read {path}: {e}") from e

    def _locate(self, unique: str, root: Path | None = None) -> Path | None:
        """Find the file with this unique name in cur/ or new/ of a Maildir."""
        root = root or self.path
        for sub in ("cur", "new"):
            try:
                names = os.listdir(root / sub)
            except FileNotFoundError:
                continue
            for name in names:
                if name == unique or (name.startswith(unique) and _INFO.match(name, len(unique))):
                    return root / sub / name
        return None

    def _draft_unique(self, message_id: str) -> str:
        """Return the drafts file's unique name, the same for the same Message-ID on this host."""
        digest = hashlib.sha1(normalise_message_id(message_id).encode()).hexdigest()
        return f"{digest}.{_hostname()}"

    def find_draft(self, message_id: str) -> bool:
        """Tell whether the drafts folder holds this Message-ID, by file name and then by header."""
        if self._locate(self._draft_unique(message_id), self.drafts) is not None:
            return True
        if self._draft_ids is None:
            self._draft_ids = self._scan_draft_ids()
        return normalise_message_id(message_id) in self._draft_ids

    def _scan_draft_ids(self) -> set[str]:
        """Read the Message-ID headers of every draft (headers only)."""
        ids: set[str] = set()
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        for sub in ("cur", "new"):
            try:
                entries = [p for p in (self.drafts / sub).iterdir() if not p.name.startswith(".")]
            except OSError as e:
                raise TransientError(f"mailbox {self.name}: cannot list drafts {self.drafts}: {e}") from e
            for path in entries:
                value = parser.parsebytes(_header_bytes(path)).get("Message-ID")
                if value:
                    ids.add(normalise_message_id(str(value)))
        log.debug("mailbox=%s scanned %d drafts in %s", self.name, len(ids), self.drafts)
        return ids

    def save_draft(self, draft: Draft) -> None:
        """Write the draft to tmp/, fsync it, then rename it into cur/ with flags D and S (read, as mail clients save their own drafts)."""
        unique = self._draft_unique(draft.message_id)
        if self._locate(unique, self.drafts) is not None:
            log.debug("mailbox=%s draft %s already saved", self.name, unique)
            return
        tmp, final = self.drafts / "tmp" / unique, self.drafts / "cur" / f"{unique}:2,DS"  # a draft, read
        try:
            with open(tmp, "wb") as fh:
                fh.write(draft.data)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, final)
            _fsync_dir(final.parent)
        except OSError as e:
            raise TransientError(f"mailbox {self.name}: cannot save draft to {self.drafts}: {e}") from e
        if self._draft_ids is not None:
            self._draft_ids.add(normalise_message_id(draft.message_id))
        log.debug("mailbox=%s saved draft %s", self.name, final.name)

    def tag(self, key: MessageKey, tags: Sequence[str]) -> bool:
        """Do nothing: Maildir tags are off and the store keeps the triage."""
        return False

    @property
    def tags_supported(self) -> bool:
        """Maildir keywords are not written."""
        return False

    def describe(self) -> str:
        """Return one line for the start-up log."""
        return f"Mailbox {self.name}: Maildir {self.path}, drafts -> {self.drafts}"


def _make_maildir(root: Path) -> None:
    """Create cur/, new/ and tmp/ under root if missing."""
    try:
        for sub in SUBDIRS:
            (root / sub).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create Maildir {root}: {e}") from e


def _header_bytes(path: Path) -> bytes:
    """Read a message file up to the blank line that ends its header."""
    data = b""
    try:
        with open(path, "rb") as fh:
            while len(data) < HEADER_LIMIT:
                chunk = fh.read(4096)
                if not chunk:
                    break
                data += chunk
                end = min((i for i in (data.find(b"\n\n"), data.find(b"\r\n\r\n")) if i >= 0), default=-1)
                if end >= 0:
                    return data[:end]
    except FileNotFoundError:
        return b""
    return data


def _fsync_dir(path: Path) -> None:
    """Make a rename in this folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
