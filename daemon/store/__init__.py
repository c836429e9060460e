"""The store: one database (SQLite or PostgreSQL) holding what was done with each message, the customers, the
checkpoints of each folder and the state of each mailbox.

`database` owns the engine and transactions, `records` the messages and customers (written together, one
transaction per message), `mailboxes` the checkpoints and mailbox states, `nurtures` the nurture drafts of tier C
buyers, `schema` the tables (Alembic's revisions in `migrations/` create them).
"""

from __future__ import annotations

from daemon.store.database import Database, migrations_config
from daemon.store.mailboxes import MailboxBook
from daemon.store.nurtures import NurtureBook
from daemon.store.records import CustomerUpdate, Prior, Records, count_changes
from daemon.store.schema import Base, UTCDateTime

__all__ = [
    "Base", "CustomerUpdate", "Database", "MailboxBook", "NurtureBook", "Prior", "Records", "Store",
    "UTCDateTime", "count_changes", "migrations_config",
]


class Store(Records, MailboxBook, NurtureBook):
    """The whole store, as the daemon and the CLI use it."""
