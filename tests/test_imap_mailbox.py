"""The IMAP mailbox in process, against a real Dovecot on loopback (plain, and TLS with a test CA)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import imapclient
import pytest

from daemon.config import Config, DaemonConfig, ImapMailboxConfig
from daemon.mailboxes.base import QUARANTINE_TAG
from daemon.mailboxes.imap import ImapMailbox
from daemon.store import Store
from extractors.core.errors import ConfigError, TransientError
from extractors.core.model import Draft, MessageKey, Outcome
from tests.dovecot import Dovecot, append, drafts, flags, message, running_dovecot


@pytest.fixture(scope="module")
def server() -> Iterator[Dovecot]:
    with running_dovecot() as s:
        yield s


@pytest.fixture(scope="module")
def tls_server() -> Iterator[Dovecot]:
    with running_dovecot(tls=True) as s:
        yield s


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 't.sqlite3'}")
    store.upgrade()
    return store


def mailbox_cfg(server: Dovecot, user: str, monkeypatch: pytest.MonkeyPatch, password: str, **kw: Any) -> ImapMailboxConfig:
    monkeypatch.setenv(f"PW_{user}", password)
    values: dict[str, Any] = {"name": "sales", "kind": "imap", "host": "127.0.0.1", "username": user,
                              "password_env": f"PW_{user}", "port": server.port, "security": "none"}
    values.update(kw)
    return ImapMailboxConfig.model_validate(values)


def make_box(server: Dovecot, monkeypatch: pytest.MonkeyPatch, store: Store | None = None, max_bytes: int = 25_000_000,
             user: tuple[str, str] | None = None, **kw: Any) -> tuple[ImapMailbox, str, str]:
    name, password = user or server.add_user()
    cfg = mailbox_cfg(server, name, monkeypatch, password, **kw)
    config = Config(daemon=DaemonConfig(max_message_bytes=max_bytes), mailboxes=[cfg])
    return ImapMailbox(cfg, config, store), name, password


def never_done(keys: Sequence[MessageKey]) -> dict[MessageKey, str]:
    return {}


def a_draft(key: MessageKey, message_id: str) -> Draft:
    data = f"From: sales@brightway-lighting.com\r\nMessage-ID: {message_id}\r\nSubject: Re: RFQ\r\n\r\nThanks.\r\n".encode()
    return Draft(key, message_id, "precise_quote", "buyer@example.net", "Re: RFQ", data)


def test_fetch_peeks_in_batches_and_never_sets_seen(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, user, pw = make_box(server, monkeypatch, batch_size=2)
    with server.connect(user, pw) as c:
        append(c, [message(n) for n in range(5)])
    with box:
        got = list(box.fetch_new(never_done))
    with server.connect(user, pw) as c:
        seen = flags(c)
    assert [m.key.uid for m in got] == [1, 2, 3, 4, 5] and all(b"RFQ" in m.data for m in got)
    assert all(b"\\Seen" not in f for f in seen.values())


def test_checkpoint_skips_done_messages_and_resumes_after_them(server: Dovecot, monkeypatch: pytest.MonkeyPatch,
                                                               sqlite_store: Store) -> None:
    box, user, pw = make_box(server, monkeypatch, sqlite_store)
    with server.connect(user, pw) as c:
        append(c, [message(n) for n in range(3)])
    done: set[int] = set()
    with box:
        for raw in box.fetch_new(lambda keys: {k: "drafted" for k in keys if k.uid in done}):
            done.add(raw.key.uid)
            sqlite_store.record(Outcome(raw.key, "", "skipped", "none"))
        checkpoint = sqlite_store.checkpoint("sales", "INBOX", box.uidvalidity)
        with server.connect(user, pw) as c:
            append(c, message(9))
        again = [m.key.uid for m in box.fetch_new(sqlite_store.statuses)]
    assert (checkpoint, again) == (3, [4])


def test_oversized_message_is_recorded_and_skipped_without_fetching(server: Dovecot, monkeypatch: pytest.MonkeyPatch,
                                                                    sqlite_store: Store) -> None:
    box, user, pw = make_box(server, monkeypatch, sqlite_store, max_bytes=10_000)
    with server.connect(user, pw) as c:
        append(c, [message(1, body="x" * 20_000), message(2)])
    with box:
        got = [m.key.uid for m in box.fetch_new(sqlite_store.statuses)]
        row = sqlite_store.get(MessageKey("sales", "INBOX", box.uidvalidity, 1))
    assert got == [2]
    assert row is not None and row["status"] == "skipped" and "over the 10,000-byte limit" in row["reason"]


@pytest.mark.parametrize("folder", ["Drafts", "草稿箱"], ids=["special-use", "chinese-configured"])
def test_draft_is_appended_once_with_draft_flag(server: Dovecot, monkeypatch: pytest.MonkeyPatch, folder: str) -> None:
    user = server.add_user()
    if folder != "Drafts":
        with server.connect(*user) as c:
            c.create_folder(folder)
    box, name, pw = make_box(server, monkeypatch, user=user, drafts=None if folder == "Drafts" else folder)
    key = MessageKey("sales", "INBOX", 1, 1)
    with box:
        assert box.drafts_folder == folder
        before = box.find_draft("<triage.abc@brightway-lighting.com>")
        box.save_draft(a_draft(key, "<triage.abc@brightway-lighting.com>"))
        after = box.find_draft("<triage.abc@brightway-lighting.com>")
        other = box.find_draft("<triage.abd@brightway-lighting.com>")
    with server.connect(name, pw) as c:
        saved = drafts(c, folder)
    assert (before, after, other) == (False, True, False)
    assert len(saved) == 1 and b"\\Draft" in saved[0][1]


def test_missing_configured_drafts_folder_is_a_config_error(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, _, _ = make_box(server, monkeypatch, drafts="Entwürfe")
    with pytest.raises(ConfigError, match="Entwürfe"):
        box.open()


def test_tags_are_keywords_without_seen(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, user, pw = make_box(server, monkeypatch)
    with server.connect(user, pw) as c:
        append(c, message(1))
    with box:
        raw = next(box.fetch_new(never_done))
        assert box.tags_supported
        assert box.tag(raw.key, ["$Priority_High", QUARANTINE_TAG])
    with server.connect(user, pw) as c:
        assert set(flags(c)[1]) == {b"$Priority_High", QUARANTINE_TAG.encode()}


def test_tags_off_logs_once_and_sets_nothing(server: Dovecot, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    box, user, pw = make_box(server, monkeypatch, tags=False)
    with server.connect(user, pw) as c:
        append(c, message(1))
    with caplog.at_level("INFO"), box:
        raw = next(box.fetch_new(never_done))
        assert (box.tags_supported, box.tag(raw.key, ["$Priority_High"])) == (False, False)
    assert "tags are off for folder INBOX" in caplog.text


def test_wait_returns_on_new_mail_with_idle(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, user, pw = make_box(server, monkeypatch)
    stop = threading.Event()
    with box:
        list(box.fetch_new(never_done))
        assert box.idle_on
        threading.Timer(1.0, lambda: _append_one(server, user, pw)).start()
        started = time.monotonic()
        box.wait(60, stop)
        waited = time.monotonic() - started
    assert 0.9 < waited < 10


def _append_one(server: Dovecot, user: str, pw: str) -> None:
    with server.connect(user, pw) as c:
        append(c, message(1))


def test_wait_stops_on_stop_event(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, _, _ = make_box(server, monkeypatch)
    stop = threading.Event()
    with box:
        list(box.fetch_new(never_done))
        threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        box.wait(60, stop)
    assert time.monotonic() - started < 5


def test_wrong_password_is_transient_and_names_the_fix(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    name, _ = server.add_user()
    box, _, _ = make_box(server, monkeypatch, user=(name, "wrong"))
    with pytest.raises(TransientError, match="refused the login.*password_env"):
        box.open()


def test_missing_password_variable_is_a_config_error(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, _, _ = make_box(server, monkeypatch)
    monkeypatch.delenv(box.cfg.password_env or "")
    with pytest.raises(ConfigError, match="not set"):
        box.open()


def test_password_file(server: Dovecot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    name, password = server.add_user()
    (tmp_path / "pw").write_text(password + "\n", encoding="utf-8")
    box, _, _ = make_box(server, monkeypatch, user=(name, password), password_env=None, password_file=str(tmp_path / "pw"))
    with box:
        assert box.drafts_folder == "Drafts"


def test_xoauth2_uses_the_token_provider(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    name, token = server.add_user()  # Dovecot checks the XOAUTH2 bearer token against the passdb like a password
    oauth = {"provider": "command", "token_command": [sys.executable, "-c", f"print({token!r})"]}
    box, _, _ = make_box(server, monkeypatch, user=(name, token), password_env=None, oauth2=oauth)
    with box:
        assert box.drafts_folder == "Drafts"


def test_xoauth2_token_command_failure_is_transient(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    oauth = {"provider": "command", "token_command": [sys.executable, "-c", "import sys; sys.exit('no token')"]}
    box, _, _ = make_box(server, monkeypatch, password_env=None, oauth2=oauth)
    with pytest.raises(TransientError):
        box.open()


def test_starttls_refused_when_not_offered(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, _, _ = make_box(server, monkeypatch, security="starttls")
    with pytest.raises(TransientError, match="does not offer STARTTLS"):
        box.open()


TLS_CASES = [
    ("implicit TLS with the CA", "tls", True, None),
    ("STARTTLS with the CA", "starttls", True, None),
    ("implicit TLS, CA not given", "tls", False, "certificate .* was not verified"),
    ("STARTTLS, CA not given", "starttls", False, "certificate .* was not verified"),
]


@pytest.mark.parametrize(("security", "with_ca", "error"), [c[1:] for c in TLS_CASES], ids=[c[0] for c in TLS_CASES])
def test_tls(tls_server: Dovecot, monkeypatch: pytest.MonkeyPatch, security: str, with_ca: bool, error: str | None) -> None:
    port = tls_server.tls_port if security == "tls" else tls_server.port
    box, _, _ = make_box(tls_server, monkeypatch, security=security, port=port,
                         ca_file=str(tls_server.ca) if with_ca else None)
    if error:
        with pytest.raises(TransientError, match=error):
            box.open()
        return
    with box:
        assert box.drafts_folder == "Drafts"


def test_uidvalidity_change_starts_a_new_checkpoint(server: Dovecot, monkeypatch: pytest.MonkeyPatch,
                                                     sqlite_store: Store) -> None:
    user = server.add_user()
    with server.connect(*user) as c:
        c.create_folder("Sales")
        append(c, [message(1), message(2)], "Sales")
    box, _, _ = make_box(server, monkeypatch, sqlite_store, user=user, inbox="Sales")
    from extractors.core.model import Outcome
    with box:
        first = list(box.fetch_new(sqlite_store.statuses))
        for raw in first:
            sqlite_store.record(Outcome(raw.key, "", "skipped", "none"))
        list(box.fetch_new(sqlite_store.statuses))  # moves the checkpoint past them
    with server.connect(*user) as c:
        c.delete_folder("Sales")
        c.create_folder("Sales")
        append(c, [raw.data for raw in first], "Sales")
    with box:
        second = list(box.fetch_new(sqlite_store.statuses))
    assert len(second) == 2 and second[0].key.uidvalidity != first[0].key.uidvalidity
    assert [r.data for r in second] == [r.data for r in first]


def test_imapclient_encodes_folder_names() -> None:
    assert imapclient.imap_utf7.encode("草稿箱") == b"&g0l6P3ux-"


def test_wait_returns_at_once_for_mail_that_came_after_the_pass(server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    box, user, pw = make_box(server, monkeypatch)
    with box:
        list(box.fetch_new(never_done))
        _append_one(server, user, pw)  # before IDLE starts: no EXISTS will come while idling
        started = time.monotonic()
        box.wait(60, threading.Event())
        assert time.monotonic() - started < 2
        assert len(list(box.fetch_new(never_done))) == 1


def test_a_batch_is_noted_before_it_is_handed_over(server: Dovecot, monkeypatch: pytest.MonkeyPatch,
                                                   sqlite_store: Store) -> None:
    box, user, pw = make_box(server, monkeypatch, sqlite_store, batch_size=2)
    with server.connect(user, pw) as c:
        append(c, [message(n) for n in range(3)])
    with box:
        first = box.fetch_new(sqlite_store.statuses)
        raw = next(first)
        noted = sqlite_store.attempted("sales", "INBOX", box.uidvalidity)
        first.close()  # the process stops here: nothing is recorded
        again = {m.key.uid: m.may_have_draft for m in box.fetch_new(sqlite_store.statuses)}
    assert (raw.may_have_draft, noted, again) == (False, 2, {1: True, 2: True, 3: False})


def test_tags_are_set_per_batch_and_again_after_an_interrupted_batch(server: Dovecot, monkeypatch: pytest.MonkeyPatch,
                                                                    sqlite_store: Store) -> None:
    box, user, pw = make_box(server, monkeypatch, sqlite_store, batch_size=2)
    with server.connect(user, pw) as c:
        append(c, [message(n) for n in range(3)])
    with box:
        for raw in box.fetch_new(sqlite_store.statuses):
            tags = [f"$Uid{raw.key.uid}"]
            if raw.key.uid == 3:  # recorded, then the process dies before the batch ends and sets the tag
                sqlite_store.record(Outcome(raw.key, "", "skipped", "none"), tags=tags)
                break
            box.tag_later(raw.key, tags)
            sqlite_store.record(Outcome(raw.key, "", "skipped", "none"), tags=tags)
    with server.connect(user, pw) as c:
        before = {uid: sorted(f for f in v if f.startswith(b"$")) for uid, v in flags(c).items()}
    with box:
        list(box.fetch_new(sqlite_store.statuses))
    with server.connect(user, pw) as c:
        after = {uid: sorted(f for f in v if f.startswith(b"$")) for uid, v in flags(c).items()}
    assert (before, after) == ({1: [b"$Uid1"], 2: [b"$Uid2"], 3: []}, {1: [b"$Uid1"], 2: [b"$Uid2"], 3: [b"$Uid3"]})
