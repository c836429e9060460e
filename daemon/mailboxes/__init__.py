"""Mailboxes the daemon reads inquiries from and writes reply drafts to."""

from daemon.mailboxes.base import Mailbox
from daemon.mailboxes.maildir import MaildirMailbox

__all__ = ["Mailbox", "MaildirMailbox"]
