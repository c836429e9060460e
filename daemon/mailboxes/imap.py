"""An IMAP mailbox: the inbox read with BODY.PEEK (never \\Seen), drafts APPENDed to the \\Drafts folder, the
triage shown as keywords where the folder allows them, IDLE between passes. One connection per mailbox."""

from __future__ import annotations

import logging
import selectors
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import imapclient

from daemon.config import Config, ImapMailboxConfig
from daemon.mailboxes.base import DONE, Mailbox, Statuses
from daemon.mailboxes.imap_connect import Connector, at_eof, buffered_input, guard, news
from daemon.mailboxes.imap_folders import find_drafts, find_sent, keywords_allowed
from daemon.mailboxes.imap_scan import (
    BACKLOG_EVERY,
    Checkpoints,
    candidate_uids,
    progress,
    size_batches,
    skip_oversized,
    status_of,
)
from extractors.core.errors import TransientError, TriageError
from extractors.core.model import Draft, MessageKey, RawMessage

if TYPE_CHECKING:
    from daemon.store import Store

log = logging.getLogger(__name__)

SIZE_CHUNK = 1000  # UIDs per RFC822.SIZE fetch (Dovecot's command line limit is 64 KB)


class ImapMailbox(Mailbox):
    """One IMAP account: its inbox folder and its drafts folder."""

    notes_attempts = True

    def __init__(self, cfg: ImapMailboxConfig, config: Config, store: Store | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.store = store
        self.max_bytes = config.daemon.max_message_bytes
        self.connector = Connector(cfg, Path(config.base_dir))
        self.checkpoints = Checkpoints(store)
        self.client: imapclient.IMAPClient | None = None
        self.drafts_folder: str | None = None
        self.sent_folder: str | None = None
        self.uidvalidity = 0
        self._selected: tuple[str, bool] | None = None
        self._tags = False
        self._tags_logged: set[tuple[str, int]] = set()
        self._uidnext = 0
        self._finished: dict[MessageKey, str] = {}  # how the yielded messages ended, as the consumer reported
        self._pending_tags: dict[tuple[str, ...], list[int]] = {}  # tag set -> inbox UIDs, set when a batch ends
        self._checkpointed = 0
        self._idling = False

    # -- connection -------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect and log in (once: the connection is kept), find the drafts folder, select the inbox."""
        if self.client is not None:
            return
        self.client = self.connector.connect()
        try:
            self.drafts_folder = find_drafts(self.client, self.cfg)
            self.sent_folder = find_sent(self.client, self.cfg)
            self._select(self.cfg.inbox, fresh=True)
        except BaseException:
            self.close()
            raise
        log.info("%s", self.describe())

    def close(self) -> None:
        """Log out (quietly if the connection is already broken)."""
        client, self.client, self._selected = self.client, None, None
        if client is None:
            return
        try:
            if self._idling:
                self._idling = False
                client.idle_done()
            client.logout()
        except Exception as e:  # noqa: BLE001 - a dead connection has nothing left to log out of
            log.debug("mailbox=%s logout: %s", self.name, e)
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def _conn(self) -> imapclient.IMAPClient:
        if self.client is None:
            raise TransientError(f"mailbox {self.name}: not connected")
        return self.client

    def _select(self, folder: str, readonly: bool = False, fresh: bool = False) -> dict[bytes, Any] | None:
        """Select a folder unless it is selected already; the inbox's UIDVALIDITY must not change mid-pass."""
        if not fresh and self._selected == (folder, readonly):
            return None
        with guard(self.name, f"selecting folder {folder!r}"):
            info = self._conn().select_folder(folder, readonly=readonly)
        self._selected = (folder, readonly)
        if folder == self.cfg.inbox:
            uidvalidity = int(info[b"UIDVALIDITY"])
            if not fresh and uidvalidity != self.uidvalidity:
                raise TransientError(f"mailbox {self.name}: UIDVALIDITY of {folder!r} changed; resynchronising")
            self.uidvalidity = uidvalidity
            self._tags = self.cfg.tags and keywords_allowed(info)
            if not self._tags and (folder, uidvalidity) not in self._tags_logged:
                self._tags_logged.add((folder, uidvalidity))
                why = "tags = false" if not self.cfg.tags else "its PERMANENTFLAGS do not allow new keywords (\\*)"
                log.info("mailbox=%s tags are off for folder %s: %s", self.name, folder, why)
        return dict(info)

    # -- new mail ---------------------------------------------------------------------------------------------
    def fetch_new(self, statuses: Statuses, limit: int | None = None) -> Iterator[RawMessage]:
        """Yield the inbox messages above the checkpoint that are not done, oldest first, in BODY.PEEK batches.

        Before a batch is handed over, its highest UID is noted in the store (one write per batch): after a crash,
        only a message at or below that mark may have had its draft saved. The checkpoint moves once per batch,
        up to the last message before the first one that did not end (failed: retried next pass)."""
        self.idle_stop()
        folder = self.cfg.inbox
        info = self._select(folder, fresh=True) or {}
        uidvalidity = self.uidvalidity
        last = self.checkpoints.get(self.name, folder, uidvalidity)
        attempted = self.checkpoints.attempted(self.name, folder, uidvalidity)
        uids = candidate_uids(self._conn(), self.name, last, self.cfg.backfill_days)
        self._uidnext = max([int(info.get(b"UIDNEXT", 0) or 0), *(u + 1 for u in uids)])
        keys = [MessageKey(self.name, folder, uidvalidity, u) for u in uids]
        stored = statuses(keys)
        todo = [key.uid for key in keys if stored.get(key) not in DONE]
        self._retag([key for key in keys if stored.get(key) in DONE])
        passed = [u for u in uids if not todo or u < todo[0]]
        if passed:
            self.checkpoints.set(self.name, folder, uidvalidity, passed[-1])
        self._backlog(len(todo))
        if not todo:
            return
        if last == 0:
            log.info("mailbox=%s backfill: %d message(s) of the last %d day(s) to process", self.name, len(todo),
                     self.cfg.backfill_days)
        sizes = self._sizes(todo)
        yielded, remaining, blocked, reached = 0, len(todo), False, 0
        self._finished.clear()
        self._checkpointed = 0
        try:
            with progress(self.name, len(todo), backfill=last == 0) as bar:
                for batch in size_batches(sizes, todo, self.cfg.batch_size):
                    wanted = [u for u in batch if sizes[u] <= self.max_bytes]
                    if limit is not None:
                        wanted = wanted[:max(0, limit - yielded)]
                    if wanted and wanted[-1] > attempted:
                        self.checkpoints.set_attempted(self.name, folder, uidvalidity, wanted[-1])
                    bodies = self._bodies(wanted)
                    for uid in batch:
                        key = MessageKey(self.name, folder, uidvalidity, uid)
                        if limit is not None and yielded >= limit:
                            return
                        if sizes[uid] > self.max_bytes:
                            skip_oversized(self.store, key, sizes[uid], self.max_bytes)
                        elif uid in bodies:
                            data, flags = bodies.pop(uid)
                            yield RawMessage(key, data, flags, str(uid), may_have_draft=uid <= attempted)
                            yielded += 1
                            status = self._finished.pop(key, None) or status_of(key, statuses)
                            blocked = blocked or status not in DONE
                        if not blocked:
                            reached = uid
                        remaining -= 1
                        bar.advance()
                        if remaining % BACKLOG_EVERY == 0:
                            self._backlog(remaining)
                    self.flush_tags()
                    self._advance(folder, uidvalidity, reached)
            if not blocked:
                reached = uids[-1]
        finally:  # also when the consumer stops early: keep what was done. If the tags cannot be set (connection
            # lost) or the checkpoint not moved (store down), the checkpoint stays: the next pass sets the recorded
            # tags of the messages above it again and skips those recorded as done.
            try:
                self.flush_tags()
                self._advance(folder, uidvalidity, reached)
            except TriageError as e:
                log.info("mailbox=%s checkpoint not moved at the end of the pass: %s", self.name, e)

    def finished(self, key: MessageKey, status: str) -> None:
        """Hear how a yielded message ended; fetch_new reads it when the consumer asks for the next message."""
        self._finished[key] = status

    def _advance(self, folder: str, uidvalidity: int, uid: int) -> None:
        """Move the checkpoint to uid (once per batch, not per message)."""
        if uid and uid != self._checkpointed:
            self.checkpoints.set(self.name, folder, uidvalidity, uid)
            self._checkpointed = uid

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), SIZE_CHUNK):
            with guard(self.name, "fetching message sizes"):
                found = self._conn().fetch(uids[start:start + SIZE_CHUNK], ["RFC822.SIZE"])
            sizes.update({uid: int(v.get(b"RFC822.SIZE", 0)) for uid, v in found.items()})
        return {u: sizes.get(u, 0) for u in uids}

    def _bodies(self, uids: list[int]) -> dict[int, tuple[bytes, tuple[str, ...]]]:
        """BODY.PEEK[] and FLAGS of a batch; the inbox is re-selected first (drafts may have been selected)."""
        if not uids:
            return {}
        self._select(self.cfg.inbox)
        with guard(self.name, f"fetching {len(uids)} message(s)"):
            found = self._conn().fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        out = {}
        for uid, v in found.items():
            flags = tuple(f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f) for f in v.get(b"FLAGS", ()))
            out[uid] = (bytes(v.get(b"BODY[]") or b""), flags)
        return out

    def _backlog(self, pending: int) -> None:
        self.report_backlog(pending)

    # -- drafts -----------------------------------------------------------------------------------------------
    def find_draft(self, message_id: str) -> bool:
        """UID SEARCH HEADER Message-ID in the drafts folder."""
        assert self.drafts_folder is not None, "open() first"
        self._select(self.drafts_folder, readonly=True)
        with guard(self.name, f"searching {self.drafts_folder!r}"):
            return bool(self._conn().search(["HEADER", "Message-ID", message_id.strip()]))

    def save_draft(self, draft: Draft) -> None:
        """APPEND the draft to the drafts folder with \\Draft (and \\Seen, as mail clients save drafts)."""
        assert self.drafts_folder is not None, "open() first"
        with guard(self.name, f"saving a draft to {self.drafts_folder!r}"):
            self._conn().append(self.drafts_folder, draft.data, flags=(imapclient.DRAFT, imapclient.SEEN))
        log.debug("mailbox=%s saved draft %s to %s", self.name, draft.message_id, self.drafts_folder)

    # -- tags -------------------------------------------------------------------------------------------------
    def tag(self, key: MessageKey, tags: Sequence[str]) -> bool:
        """STORE +FLAGS.SILENT the keywords on the inquiry (never \\Seen); False when the folder takes none."""
        if not tags:
            return False
        self._select(self.cfg.inbox)
        if not self._tags or key.uidvalidity != self.uidvalidity:
            return False
        with guard(self.name, f"tagging uid {key.uid}"):
            self._conn().add_flags([key.uid], list(tags), silent=True)
        return True

    def tag_later(self, key: MessageKey, tags: Sequence[str]) -> None:
        """Queue keywords for the inquiry; flush_tags() sets them, one STORE per tag set, when the batch ends."""
        if tags and self._tags and key.uidvalidity == self.uidvalidity:
            self._pending_tags.setdefault(tuple(tags), []).append(key.uid)

    can_append_note = True

    def append_note(self, data: bytes) -> None:
        """APPEND a note of ours to the inbox, \\Flagged and unread."""
        with guard(self.name, "putting a note in the inbox"):
            self._conn().append(self.cfg.inbox, data, flags=(imapclient.FLAGGED,))

    def fetch_sent(self, known: Callable[[list[str]], set[str]]) -> Iterator[tuple[str, bytes]]:
        """Yield the Sent folder's messages not recorded yet (key: "<folder>:<UIDVALIDITY>:<UID>"), read with
        BODY.PEEK (their flags stay as they are)."""
        assert self.client is not None, "open() first"
        if self.sent_folder is None:
            return
        info = self._select(self.sent_folder, readonly=True, fresh=True) or {}
        validity = int(info.get(b"UIDVALIDITY", 0) or 0)
        last = self.store.checkpoint(self.name, self.sent_folder, validity) if self.store is not None else 0
        uids = candidate_uids(self._conn(), self.name, last, self.cfg.backfill_days)  # new ones, or the backfill window
        keys = {f"{self.sent_folder}:{validity}:{uid}"[:255]: uid for uid in uids}
        new = [keys[k] for k in sorted(set(keys) - known(list(keys)), key=lambda k: keys[k])]
        for start in range(0, len(new), self.cfg.batch_size):
            batch = new[start:start + self.cfg.batch_size]
            with guard(self.name, f"reading {len(batch)} sent message(s)"):
                found = self._conn().fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                data = found.get(uid, {}).get(b"BODY[]")
                if data:
                    yield f"{self.sent_folder}:{validity}:{uid}"[:255], bytes(data)
        if uids and self.store is not None:  # every one recorded: the next pass searches above the last
            self.store.set_checkpoint(self.name, self.sent_folder, validity, uids[-1])

    def flush_tags(self) -> None:
        """Set the queued keywords (UID STORE +FLAGS.SILENT, never \\Seen)."""
        pending, self._pending_tags = self._pending_tags, {}
        if not pending:
            return
        self._select(self.cfg.inbox)
        for tags, uids in pending.items():
            with guard(self.name, f"tagging {len(uids)} message(s)"):
                self._conn().add_flags(uids, list(tags), silent=True)

    def _retag(self, keys: list[MessageKey]) -> None:
        """Set again the recorded tags of done messages above the checkpoint: a crash may have come between their
        record and the end of their batch."""
        if not keys or not self._tags or self.store is None:
            return
        for key, tags in self.store.tags_of(keys).items():
            self.tag_later(key, tags)
        self.flush_tags()

    @property
    def tags_supported(self) -> bool:
        """Whether the inbox folder keeps new keywords (and tags are not switched off)."""
        return self._tags

    # -- waiting for mail: IDLE, one socket per mailbox watched by the daemon's loop -----------------------------
    @property
    def idle_on(self) -> bool:
        return bool(self.cfg.idle and self.client is not None and self.client.has_capability("IDLE"))

    @property
    def can_idle(self) -> bool:  # type: ignore[override]
        return self.idle_on

    @property
    def idle_seconds(self) -> int:  # type: ignore[override]
        return self.cfg.idle_seconds

    def idle_start(self) -> int | None:
        """Enter IDLE on the inbox and return the socket's descriptor to watch; None (not idling) when mail came
        since the last pass, or the server's answer to IDLE already brought news."""
        client = self._conn()
        info = self._select(self.cfg.inbox, fresh=True) or {}
        if int(info.get(b"UIDNEXT", 0) or 0) > self._uidnext:
            return None  # mail arrived since the last pass
        with guard(self.name, "IDLE"):
            client.idle()
            self._idling = True
            if buffered_input(client):  # read already (with "+ idling"): the next pass sees the mail
                self.idle_stop()
                return None
            return int(client.socket().fileno())

    def idle_check(self) -> bool:
        """Read, without blocking, what the server sent while idling: True when it announced new mail. Raises
        TransientError when the server ended the connection (BYE, or the socket at its end)."""
        client = self._conn()
        with guard(self.name, "IDLE"):
            responses = client.idle_check(timeout=0)
            if not responses and at_eof(client.socket()):
                raise TransientError(f"mailbox {self.name}: the server closed the connection")
        if any(len(r) > 1 and r[0] == b"BYE" for r in responses):
            raise TransientError(f"mailbox {self.name}: the server closed the connection")
        return news(responses)

    def idle_stop(self) -> bool:
        """Leave IDLE (if idling); True when the server announced new mail in its last responses."""
        if not self._idling or self.client is None:
            return False
        self._idling = False
        with guard(self.name, "ending IDLE"):
            _text, responses = self.client.idle_done()
        return news(responses)

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Wait for new mail in this thread: IDLE (re-issued every idle_seconds) where the server has it, else
        timeout seconds. The daemon waits on all its mailboxes at once instead (daemon/loop.py)."""
        if not self.idle_on:
            stop.wait(timeout)
            return
        fd = self.idle_start()
        if fd is None:
            return
        deadline = time.monotonic() + self.cfg.idle_seconds
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(fd, selectors.EVENT_READ)
                while not stop.is_set() and time.monotonic() < deadline:
                    if selector.select(min(1.0, deadline - time.monotonic())) and self.idle_check():
                        break
        finally:
            self.idle_stop()

    def describe(self) -> str:
        """Return one line for the start-up log."""
        drafts = self.drafts_folder or ("special-use \\Drafts" if not self.cfg.drafts else self.cfg.drafts)
        idle = "IDLE on" if self.idle_on else ("IDLE off" if not self.cfg.idle or self.client else "IDLE if offered")
        tags = "" if self.client is None else (", tags on" if self._tags else ", tags off")
        return (f"Mailbox {self.name}: IMAP {self.cfg.host}:{self.cfg.effective_port} ({self.cfg.security}), "
                f"{idle}, inbox {self.cfg.inbox}, drafts -> {drafts}{tags}")
