"""The interface every mailbox (Maildir, IMAP) implements."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Self

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

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
