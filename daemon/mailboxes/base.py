"""The interface every mailbox (Maildir, IMAP) implements."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Self

from extractors.core.errors import TransientError
from extractors.core.model import Draft, MessageKey, RawMessage

DONE = ("drafted", "skipped", "quarantined")
QUARANTINE_TAG = "$Triage_Quarantined"
Statuses = Callable[[Sequence[MessageKey]], dict[MessageKey, str]]  # the stored status of the keys that have one


class Mailbox(abc.ABC):
    """One account's inbox and drafts folder; reading never changes the buyer's message."""

    name: str

    @abc.abstractmethod
    def open(self) -> None:
        """Connect; raise TransientError if unreachable, ConfigError if a folder is missing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect and forget cached state."""

    notes_attempts = False  # True: the mailbox notes in the store which messages it handed over (per batch)
    backlog_listener: Callable[[int], None] | None = None  # hears how many messages wait, during a pass

    def report_backlog(self, waiting: int) -> None:
        """Tell the listener (the daemon's health) how many messages wait to be processed."""
        if self.backlog_listener is not None:
            self.backlog_listener(waiting)

    @abc.abstractmethod
    def fetch_new(self, statuses: Statuses, limit: int | None = None) -> Iterator[RawMessage]:
        """Yield the messages not yet done (statuses() gives the stored status of some keys), oldest first, without
        changing them. The consumer reports each yielded message's end with finished()."""

    def fetch_sent(self, known: Callable[[list[str]], set[str]]) -> Iterator[tuple[str, bytes]]:
        """Yield (key, bytes) of the Sent folder's messages whose keys known() does not list; none without a
        Sent folder."""
        return iter(())

    can_append_note = False  # whether append_note() puts a note in the inbox
    digest_at: str | None = None  # "HH:MM" (UTC): the daily digest goes to the inbox at the first pass after it
    nurture_at: str | None = None  # "HH:MM" (UTC): the day's nurture drafts at the first pass after it; None: off
    nurture_every_days: int = 30  # a tier C buyer's nurture drafts come this many days apart

    def append_note(self, data: bytes) -> None:
        """Put a note of ours (a reminder) in the inbox, flagged."""
        raise NotImplementedError

    def finished(self, key: MessageKey, status: str) -> None:
        """Hear how a yielded message ended (drafted, skipped, quarantined or failed); a Maildir needs nothing."""
        return None

    @abc.abstractmethod
    def find_draft(self, message_id: str) -> bool:
        """Tell whether a draft with this Message-ID is already in the drafts folder."""

    @abc.abstractmethod
    def save_draft(self, draft: Draft) -> None:
        """Store the draft's bytes as a draft."""

    @abc.abstractmethod
    def tag(self, key: MessageKey, tags: Sequence[str]) -> bool:
        """Set keywords on the inquiry; return False when tags are off."""

    def tag_later(self, key: MessageKey, tags: Sequence[str]) -> None:
        """Set keywords on the inquiry, at the latest when the batch it came in ends (IMAP: one STORE per batch
        and tag set); here at once."""
        self.tag(key, tags)

    @property
    @abc.abstractmethod
    def tags_supported(self) -> bool:
        """Whether this mailbox can set keywords on messages."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Return one line for the start-up log."""

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Block until new mail may be there: timeout seconds here; IMAP IDLE returns sooner. Returns on stop."""
        stop.wait(timeout)

    # -- waiting on the server's side (IMAP IDLE): the daemon watches the sockets of all its mailboxes at once --
    can_idle = False  # whether the server tells this mailbox about new mail (IDLE); else it is polled
    idle_seconds = 540  # IDLE is renewed this often

    def idle_start(self) -> int | None:
        """Start waiting on the server; return the socket's descriptor to watch, None when mail is there now."""
        raise NotImplementedError

    def idle_check(self) -> bool:
        """After the socket turned readable: whether new mail was announced (TransientError: connection ended)."""
        raise NotImplementedError

    def idle_stop(self) -> bool:
        """Stop waiting on the server; whether new mail was announced meanwhile."""
        return False

    # -- ownership: when replicas share the mailboxes, this process may lose a mailbox to another one ---------
    held: Callable[[], bool] | None = None  # whether this process still owns the mailbox (None: always)

    def check_held(self) -> None:
        """Raise TransientError when this process no longer owns the mailbox: the message is left, unrecorded, to
        the new owner, and nothing irreversible (a draft saved) is done for it here."""
        if self.held is not None and not self.held():
            raise TransientError(f"mailbox {self.name}: no longer owned by this process; its new owner takes over")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
