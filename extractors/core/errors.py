"""The one exception tree of the product, and the named exit codes."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes of the CLI."""

    OK = 0
    FAILURE = 1
    BAD_CONFIG = 2
    UNREACHABLE = 3


class TriageError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = ExitCode.FAILURE


class ConfigError(TriageError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = ExitCode.BAD_CONFIG


class RulesError(TriageError):
    """A rules file or a template is invalid; the message lists every problem found."""

    exit_code = ExitCode.BAD_CONFIG

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class TransientError(TriageError):
    """A mailbox or the database cannot be reached now; trying again later may work."""

    exit_code = ExitCode.UNREACHABLE


class MessageError(TriageError):
    """One message cannot be processed; it is quarantined and the mailbox moves on."""
