"""The interface every mailbox (Maildir, IMAP) implements."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Self

from daemon.model import Draft, MessageKey, RawMessage


class Mailbox(abc.ABC):
    """One account's inbox and drafts folder; reading never changes the buyer's message."""

    name: str

    @abc.abstractmethod
    def open(self) -> None:
        """Connect; raise TransientError if unreachable, ConfigError if a folder is missing."""

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect and forget cached state."""

    @abc.abstractmethod
    def fetch_new(self, is_done: Callable[[MessageKey], bool], limit: int | None = None) -> Iterator[RawMessage]:
        """Yield the messages not yet done, oldest first, without changing them."""

    @abc.abstractmethod
    def find_draft(self, message_id: str) -> bool:
        """Tell whether a draft with this Message-ID is already in the drafts folder."""

    @abc.abstractmethod
    def save_draft(self, draft: Draft) -> None:
        """Store the draft's bytes as a draft."""

    @abc.abstractmethod
    def tag(self, key: MessageKey, tags: Sequence[str]) -> bool:
        """Set keywords on the inquiry; return False when tags are off."""

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
