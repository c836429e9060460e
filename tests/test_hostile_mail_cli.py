"""Hostile and broken input through the real CLI (`run --once` on a Maildir): forged recipients, non-mail, non-ASCII
senders, undecodable charsets and oversized text. Each case is processed in one attempt, with a clear reason."""

from __future__ import annotations

import email
import email.policy
import os
import random
from pathlib import Path

import pytest

from daemon.store import Store
from tests.clihelp import cli

BODY = ("Hello,\n\nPlease quote 500 pcs of 60W solar street lights, CE certified, CIF Lagos, delivery within 45 days."
        "\n\nBest regards,\nAda Eze\nPurchasing manager\n")


def mail(sender: str, subject: str = "RFQ: 60W solar street lights", body: str = BODY, n: int = 1,
         extra: str = "", charset: str = "utf-8") -> bytes:
    head = (f"From: {sender}\nTo: sales@brightway-power.example\nSubject: {subject}\n"
            f"Message-ID: <hostile-{n}@example.net>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset={charset}\n{extra}\n")
    return head.encode("utf-8") + body.encode("utf-8")


INJECTED = mail("=?utf-8?Q?Evil=0D=0ABcc:_victim2@example.com?= <evil@example.org>", n=1)
INJECTED_REPLY_TO = mail("Ada <ada@example.org>", n=2,
                         extra="Reply-To: =?utf-8?Q?x=0D=0ATo:_victim3@example.com?= <ada.eze@example.org>\n")
NAME_ONLY = mail("Ada Eze", n=3)
NAME_WITH_ADDRESS = mail('"victim4@example.com" <>', n=4)
UTF8_LOCAL = mail("José Núñez <josé.núñez@exämple.es>", n=5)
IDN_DOMAIN = mail("Jörg Müller <joerg@müller-licht.de>", n=6)
BAD_CHARSET = mail("Ada <ada@charset.example>", n=7, charset="x-no-such-charset").replace(
    b"delivery within 45 days", b"delivery \xff\xfe\xfd within 45 days \x81\x82")
HUGE_LINE = mail("Ada <ada@huge.example>", n=8, body="Please quote 500 pcs. " + "x" * 5_000_000)
BLANK_LINE = b"\n\n"
HUGE_SUBJECT = mail("Ada <ada@subject.example>", n=9, subject="RFQ " + "lights " * 150_000)


def _non_mail() -> dict[str, bytes]:
    rng = random.Random(15)
    return {"empty": b"", "random": rng.randbytes(200_000), "junk": b"hi, send me the price of 60W....\n"}


def _run(tmp_path: Path, messages: dict[str, bytes]) -> tuple[str, dict[str, dict], list[email.message.EmailMessage]]:
    inbox = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True)
    for n, (name, data) in enumerate(messages.items()):
        path = inbox / "new" / f"{1790000000 + n}.M{n}P1.{name}"
        path.write_bytes(data)
        os.utime(path, (1790000000 + n, 1790000000 + n))
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "sqlite:///triage.sqlite3"\n\n[[mailboxes]]\nname = "sales"\nkind = "maildir"\n'
                      'path = "Maildir"\ndrafts = "Drafts"\n', encoding="utf-8")
    result = cli("--config", str(config), "run", "--once", timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    store = Store(f"sqlite:///{tmp_path / 'triage.sqlite3'}")
    from daemon.mailboxes.maildir import maildir_uid

    rows = {r["uid"]: r for r in store.messages("sales", limit=1000)}
    by_name = {}
    for path in (inbox / "new").iterdir():
        by_name[path.name.rsplit(".", 1)[1]] = rows.get(maildir_uid(path.name), {})
    customers = [c for c in _customers(store)]
    store.dispose()
    # read as RFC 6532 mail (UTF-8 headers): the stdlib's bytes parser would leave raw UTF-8 undecoded
    drafts = [email.message_from_string(p.read_bytes().decode("utf-8"), policy=email.policy.default)
              for p in sorted((tmp_path / "Drafts" / "cur").glob("*"))]
    return "\n".join(customers), by_name, drafts  # type: ignore[return-value]


def _customers(store: Store) -> list[str]:
    import sqlalchemy as sa

    with store.engine.connect() as c:
        return [row[0] for row in c.execute(sa.text("SELECT address FROM customers"))]


def _draft_for(drafts: list[email.message.EmailMessage], n: int) -> email.message.EmailMessage | None:
    return next((d for d in drafts if d["In-Reply-To"] == f"<hostile-{n}@example.net>"), None)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, dict], list[email.message.EmailMessage]]:
    messages = {"injected": INJECTED, "injectedreplyto": INJECTED_REPLY_TO, "nameonly": NAME_ONLY,
                "namewithaddress": NAME_WITH_ADDRESS, "utf8local": UTF8_LOCAL, "idn": IDN_DOMAIN,
                "badcharset": BAD_CHARSET, "hugeline": HUGE_LINE, "hugesubject": HUGE_SUBJECT, **_non_mail()}
    return _run(tmp_path_factory.mktemp("hostile"), messages)


def test_a_display_name_never_chooses_the_recipient(outcome) -> None:  # noqa: ANN001
    customers, rows, drafts = outcome
    draft = _draft_for(drafts, 1)
    assert draft is not None and [a.addr_spec for a in draft["To"].addresses] == ["evil@example.org"]
    assert draft["Bcc"] is None and draft["Cc"] is None and "victim2" not in str(draft["To"])
    assert rows["injected"]["sender"] == "evil@example.org" and "victim2" not in customers


def test_a_reply_to_display_name_never_chooses_the_recipient(outcome) -> None:  # noqa: ANN001
    _customers, _rows, drafts = outcome
    draft = _draft_for(drafts, 2)
    assert draft is not None and [a.addr_spec for a in draft["To"].addresses] == ["ada.eze@example.org"]
    assert "victim3" not in draft.as_string()


@pytest.mark.parametrize("name", ["nameonly", "namewithaddress"])
def test_no_usable_sender_address_means_no_draft(outcome, name: str) -> None:  # noqa: ANN001
    customers, rows, drafts = outcome
    assert (rows[name]["status"], rows[name]["reason"]) == ("skipped", "no usable sender address")
    assert _draft_for(drafts, 3) is None and _draft_for(drafts, 4) is None and "victim4" not in customers


@pytest.mark.parametrize(("name", "reason"), [("empty", "not an email message: empty"),
                                              ("random", "not an email message: binary data"),
                                              ("junk", "not an email message: no header fields")])
def test_non_mail_is_recorded_and_skipped(outcome, name: str, reason: str) -> None:  # noqa: ANN001
    _customers, rows, drafts = outcome
    assert (rows[name]["status"], rows[name]["reason"], rows[name]["attempts"]) == ("skipped", reason, 0)
    assert len(drafts) == 6  # injected, injectedreplyto, utf8local, idn, badcharset, hugeline/hugesubject below


def test_a_utf8_sender_address_gets_a_correct_draft(outcome) -> None:  # noqa: ANN001
    _customers, rows, drafts = outcome
    draft = _draft_for(drafts, 5)
    assert draft is not None, rows["utf8local"]
    (to,) = draft["To"].addresses
    assert (to.display_name, to.username, to.domain.encode().decode("idna")) == ("José Núñez", "josé.núñez", "exämple.es")


def test_an_idn_domain_is_written_as_its_ascii_form(outcome) -> None:  # noqa: ANN001
    _customers, _rows, drafts = outcome
    draft = _draft_for(drafts, 6)
    assert draft is not None
    (to,) = draft["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Jörg Müller", "joerg@xn--mller-licht-thb.de")


def test_undecodable_bytes_under_an_unknown_charset_are_drafted(outcome) -> None:  # noqa: ANN001
    _customers, rows, drafts = outcome
    assert rows["badcharset"]["status"] == "drafted" and _draft_for(drafts, 7) is not None


@pytest.mark.parametrize(("name", "reason"), [
    ("hugeline", "text cut at 100,000 of 5,000,022 characters ([daemon] max_text_chars)"),
    ("hugesubject", f"header section of {HUGE_SUBJECT.index(BLANK_LINE):,} bytes is over the 131,072-byte limit "
                    "([daemon] max_header_bytes)"),
])
def test_enormous_text_is_handled_in_one_attempt_with_a_clear_reason(outcome, name: str, reason: str) -> None:  # noqa: ANN001
    _customers, rows, _drafts = outcome
    row = rows[name]
    assert (row["attempts"], row["reason"]) == (0, reason), row
    assert row["status"] in ("drafted", "skipped") and "E088" not in row["error"]
