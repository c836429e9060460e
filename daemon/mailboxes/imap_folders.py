"""Finding folders on an IMAP server: the Drafts folder (config, LIST SPECIAL-USE, XLIST) and whether a folder
takes new keywords."""

from __future__ import annotations

import logging

import imapclient
from imapclient.imapclient import DRAFTS, SENT

from daemon.config import ImapMailboxConfig
from daemon.mailboxes.imap_connect import guard
from extractors.core.errors import ConfigError

log = logging.getLogger(__name__)


def _special_use_list(client: imapclient.IMAPClient) -> list[tuple[tuple[bytes, ...], bytes, str]]:
    """LIST "" "*" RETURN (SPECIAL-USE) (RFC 6154); imapclient has no call for the extended form."""
    imap = client._imap  # noqa: SLF001 - the extended LIST is not exposed by imapclient
    typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")  # noqa: SLF001
    if typ != "OK":
        return []
    _typ, lines = imap._untagged_response(typ, data, "LIST")  # noqa: SLF001
    return client._proc_folder_list([x for x in lines if x is not None])  # noqa: SLF001


def find_drafts(client: imapclient.IMAPClient, cfg: ImapMailboxConfig) -> str:
    """The folder drafts go to: the configured one, else the folder with the \\Drafts special use."""
    with guard(cfg.name, "listing folders"):
        names = {name for _flags, _sep, name in client.list_folders()}
        if cfg.drafts:
            if cfg.drafts not in names:
                raise ConfigError(f"mailbox {cfg.name}: drafts folder {cfg.drafts!r} does not exist on the server; "
                                  f"create it or fix `drafts` (folders: {', '.join(sorted(names))})")
            return cfg.drafts
        candidates = _marked_folders(client)
    for flags, _sep, name in candidates:
        if DRAFTS in flags:
            return name
    raise ConfigError(f"mailbox {cfg.name}: the server marks no folder as \\Drafts (special use); set "
                      f"drafts = \"<folder>\" in the mailbox's configuration (folders: {', '.join(sorted(names))})")


def _marked_folders(client: imapclient.IMAPClient) -> list[tuple[tuple[bytes, ...], bytes, str]]:
    """The folders with their flags, special-use ones marked: RFC 6154 where the server has it, else XLIST, else a
    plain LIST (whose flags may carry the marks anyway)."""
    if client.has_capability("SPECIAL-USE"):
        return _special_use_list(client)
    if client.has_capability("XLIST"):
        return client.xlist_folders()
    return client.list_folders()


def find_sent(client: imapclient.IMAPClient, cfg: ImapMailboxConfig) -> str | None:
    """The seller's sent mail: the configured folder, else the folder with the \\Sent special use; None when the
    server marks none (sent replies are then not watched)."""
    with guard(cfg.name, "listing folders"):
        if cfg.sent:
            names = {name for _flags, _sep, name in client.list_folders()}
            if cfg.sent not in names:
                raise ConfigError(f"mailbox {cfg.name}: sent folder {cfg.sent!r} does not exist on the server; "
                                  f"fix `sent` (folders: {', '.join(sorted(names))})")
            return cfg.sent
        candidates = _marked_folders(client)
    return next((name for flags, _sep, name in candidates if SENT in flags), None)


def keywords_allowed(select_response: dict[bytes, object]) -> bool:
    """Whether the selected folder keeps new keywords (PERMANENTFLAGS contains \\*)."""
    permanent = select_response.get(b"PERMANENTFLAGS") or ()
    return b"\\*" in tuple(permanent)  # type: ignore[arg-type]
