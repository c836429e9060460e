"""The Maildir mailbox: stable keys, read-only inbox, atomic idempotent drafts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from daemon.mailboxes import MaildirMailbox
from daemon.mailboxes.maildir import maildir_flags, maildir_uid, unique_name
from extractors.core.errors import ConfigError
from extractors.core.model import Draft, MessageKey

MESSAGE = b"From: buyer@example.com\nMessage-ID: <%d@example.com>\nSubject: RFQ %d\n\nWe need 500 pcs.\n"


def never_done(keys: Sequence[MessageKey]) -> dict[MessageKey, str]:
    return {}


def deliver(inbox: Path, unique: str, n: int, mtime: float, sub: str = "new", info: str = "") -> Path:
    path = inbox / sub / f"{unique}{info}"
    path.write_bytes(MESSAGE % (n, n))
    os.utime(path, (mtime, mtime))
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def box(tmp_path: Path) -> MaildirMailbox:
    mailbox = MaildirMailbox("sales", tmp_path / "inbox", tmp_path / "drafts", create=True)
    mailbox.open()
    return mailbox


def draft(message_id: str = "<reply-1@triage>") -> Draft:
    key = MessageKey("sales", "INBOX", 1, 1)
    data = f"Message-ID: {message_id}\nSubject: Re: RFQ\n\nThank you.\n".encode()
    return Draft(key, message_id, "precise_quote", "buyer@example.com", "Re: RFQ", data)


NAME_CASES = [
    ("new, no info", "1700000000.M1P2.host", "1700000000.M1P2.host", ()),
    ("cur, no flags", "1700000000.M1P2.host:2,", "1700000000.M1P2.host", ()),
    ("cur, seen replied", "1700000000.M1P2.host:2,RS", "1700000000.M1P2.host", ("\\Answered", "\\Seen")),
    ("dovecot size", "1700000000.M1P2.host,S=120,W=124:2,S", "1700000000.M1P2.host,S=120,W=124", ("\\Seen",)),
    ("bang separator", "1700000000.M1P2.host!2,F", "1700000000.M1P2.host", ("\\Flagged",)),
]


@pytest.mark.parametrize(("name", "unique", "flags"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES])
def test_file_names(name: str, unique: str, flags: tuple[str, ...]) -> None:
    assert (unique_name(name), maildir_flags(name)) == (unique, flags)
    assert maildir_uid(name) == maildir_uid(unique) and 0 < maildir_uid(name) < 2**63


def test_uid_stable_across_move_and_flag_change(box: MaildirMailbox) -> None:
    path = deliver(box.path, "1700000000.A.host", 1, 1000)
    (before,) = box.fetch_new(never_done)
    moved = box.path / "cur" / "1700000000.A.host:2,S"
    path.rename(moved)
    (after,) = box.fetch_new(never_done)
    moved.rename(box.path / "cur" / "1700000000.A.host:2,FS")
    (flagged,) = box.fetch_new(never_done)
    assert before.key == after.key == flagged.key
    assert (before.flags, after.flags, flagged.flags) == ((), ("\\Seen",), ("\\Flagged", "\\Seen"))
    assert flagged.source_ref == str(box.path / "cur" / "1700000000.A.host:2,FS")
    assert before.key.account == "sales" and before.key.folder == "INBOX"
    assert 0 < before.key.uidvalidity < 2**32
    assert MaildirMailbox("x", box.path, box.drafts).uidvalidity == before.key.uidvalidity


def test_oldest_first_then_name(box: MaildirMailbox) -> None:
    deliver(box.path, "c", 1, 3000)
    deliver(box.path, "b", 2, 1000, sub="cur", info=":2,S")
    deliver(box.path, "a", 3, 2000)
    deliver(box.path, "z", 4, 1000)
    (box.path / "new" / ".hidden").write_bytes(b"x")
    assert [m.source_ref.rsplit("/", 1)[1] for m in box.fetch_new(never_done)] == ["b:2,S", "z", "a", "c"]
    assert [m.data for m in box.fetch_new(never_done, limit=2)] == [MESSAGE % (2, 2), MESSAGE % (4, 4)]


def test_is_done_filters(box: MaildirMailbox) -> None:
    for n, unique in enumerate(["a", "b", "c"]):
        deliver(box.path, unique, n, 1000 + n)
    done = {maildir_uid("b")}
    fetched = list(box.fetch_new(lambda keys: {k: "drafted" for k in keys if k.uid in done}, limit=2))
    assert [m.key.uid for m in fetched] == [maildir_uid("a"), maildir_uid("c")]


def test_buyer_files_untouched(box: MaildirMailbox) -> None:
    deliver(box.path, "a", 1, 1000)
    deliver(box.path, "b", 2, 2000, sub="cur", info=":2,")
    before = snapshot(box.path)
    mtimes = {p: p.stat().st_mtime for p in box.path.rglob("*") if p.is_file()}
    assert len(list(box.fetch_new(never_done))) == 2
    box.save_draft(draft())
    assert snapshot(box.path) == before
    assert {p: p.stat().st_mtime for p in box.path.rglob("*") if p.is_file()} == mtimes


def test_draft_saved_atomically_with_flag_d(box: MaildirMailbox) -> None:
    box.save_draft(draft())
    (saved,) = (box.drafts / "cur").iterdir()
    assert saved.name.endswith(":2,DS")
    assert saved.read_bytes() == draft().data
    assert list((box.drafts / "tmp").iterdir()) == [] and list((box.drafts / "new").iterdir()) == []


def test_saving_twice_is_one_file(box: MaildirMailbox) -> None:
    box.save_draft(draft())
    box.save_draft(draft())
    MaildirMailbox("sales", box.path, box.drafts).save_draft(draft("reply-1@triage"))  # brackets don't matter
    assert len(list((box.drafts / "cur").iterdir())) == 1


def test_find_draft_by_name(box: MaildirMailbox) -> None:
    assert not box.find_draft("<reply-1@triage>")
    box.save_draft(draft())
    (saved,) = (box.drafts / "cur").iterdir()
    saved.rename(saved.with_name(saved.name + "S"))  # the user opened it: flags change
    assert box.find_draft("<reply-1@triage>")
    assert not box.find_draft("<reply-2@triage>")


def test_find_draft_by_header_scan(box: MaildirMailbox) -> None:
    other = box.drafts / "cur" / "1700000000.X.otherhost:2,D"
    other.write_bytes(b"Subject: Re: RFQ\r\nMessage-ID:\r\n <reply-9@triage>\r\n\r\nMessage-ID: <body@x>\r\n")
    assert box.find_draft("<reply-9@triage>")
    assert not box.find_draft("<body@x>")  # only headers are read
    (box.drafts / "cur" / "1700000001.Y.otherhost:2,D").write_bytes(b"Message-ID: <late@x>\n\n")
    assert not box.find_draft("<late@x>")  # the scan is cached until the next open()
    box.close()
    box.open()
    assert box.find_draft("<late@x>")


def test_missing_inbox_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    box = MaildirMailbox("sales", missing, tmp_path / "drafts")
    with pytest.raises(ConfigError, match=str(missing)):
        box.open()
    assert not missing.exists()


def test_drafts_folder_created_and_describe(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "inbox" / sub).mkdir(parents=True)
    box = MaildirMailbox("sales", tmp_path / "inbox", tmp_path / "drafts")
    with box:
        assert all((tmp_path / "drafts" / sub).is_dir() for sub in ("cur", "new", "tmp"))
        assert box.describe() == f"Mailbox sales: Maildir {tmp_path / 'inbox'}, drafts -> {tmp_path / 'drafts'}"
        assert box.tag(MessageKey("sales", "INBOX", 1, 1), ["triage/B"]) is False
        assert box.tags_supported is False
