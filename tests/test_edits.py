"""How a sent reply differs from our draft (pure), and the Sent folder through the real CLI on SQLite and
PostgreSQL: the reply marks its inquiry answered, records the edits, and `edits report` shows them."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.demo import sample_files
from daemon.edits import compare, value_kind, without_quote
from tests.clihelp import cli
from tests.conftest import _reset_pg

DRAFT = "Dear Ana,\n\nThank you. We quote as follows:\n\n   Unit price: [[unit price]]\n\nLead time: [[lead time]].\n" \
        "This offer is valid for 30 days.\n\nAny change may affect the price.\n\nBest regards,\nGrace"
# (case, sent text, placeholder kinds in order, deleted, added)
CASES = [
    ("sent as drafted", DRAFT, ["left as placeholder", "left as placeholder"], [], []),
    ("filled", DRAFT.replace("[[unit price]]", "USD 71.50").replace("[[lead time]]", "35 days"), ["money", "duration"], [], []),
    ("filled with text and a date", DRAFT.replace("[[unit price]]", "on request").replace("[[lead time]]", "2027-01-15"),
     ["text", "date"], [], []),
    ("sentence deleted", DRAFT.replace("Any change may affect the price.\n\n", ""), ["left as placeholder"] * 2,
     ["Any change may affect the price."], []),
    ("sentence added", DRAFT.replace("Best regards", "Spare parts are free for a year.\n\nBest regards"),
     ["left as placeholder"] * 2, [], ["Spare parts are free for a year."]),
    ("line removed", DRAFT.replace("   Unit price: [[unit price]]\n", ""), ["removed", "left as placeholder"], [], []),
]


@pytest.mark.parametrize(("sent", "kinds", "deleted", "added"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_compare(sent: str, kinds: list[str], deleted: list[str], added: list[str]) -> None:
    got = compare(DRAFT, sent)
    assert ([p["kind"] for p in got["placeholders"]], got["deleted"], got["added"], got["unchanged"]) == \
        (kinds, deleted, added, sent == DRAFT)


KIND_CASES = [("USD 12.50", "money"), ("€ 9", "money"), ("1,200 EUR", "money"), ("25 days", "duration"),
              ("3-4 weeks", "duration"), ("2027-02-01", "date"), ("Jan 15", "date"), ("500", "number"), ("Yes", "text")]


@pytest.mark.parametrize(("value", "kind"), KIND_CASES, ids=[c[0] for c in KIND_CASES])
def test_value_kind(value: str, kind: str) -> None:
    assert value_kind(value) == kind


def test_the_quoted_inquiry_is_not_the_reply() -> None:
    assert without_quote("Dear Ana,\n\nYes.\n\nOn 2026-12-01 09:00, Ana wrote:\n> Hello\n> there\n") == "Dear Ana,\n\nYes."


INQUIRY = "02-medium-solar-street-nigeria"


@pytest.fixture
def workdir(maildir_workdir: Path) -> Path:
    source = next(p for p in sample_files() if p.stem == INQUIRY)
    shutil.copyfile(source, maildir_workdir / "Maildir" / "new" / f"1790000000.M1P1.{INQUIRY}")
    return maildir_workdir


def run(workdir: Path, *args: str) -> str:
    result = cli("--config", str(workdir / "config.toml"), *args, cwd=workdir)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def send(workdir: Path, name: str, draft: email.message.EmailMessage, body: str, message_id: str) -> None:
    """The seller sends a reply: a new message in the Sent Maildir, threaded like the draft."""
    sent = email.message.EmailMessage()
    for header in ("From", "To", "Subject", "In-Reply-To", "References"):
        if draft[header]:
            sent[header] = str(draft[header])
    sent["Message-ID"] = message_id
    sent["Date"] = "Thu, 03 Dec 2026 18:00:00 +0000"
    sent.set_content(body)
    (workdir / "Maildir" / ".Sent" / "cur" / f"{name}:2,S").write_bytes(bytes(sent))


def test_a_sent_reply_edited_from_our_draft_shows_in_edits_report(workdir: Path) -> None:
    run(workdir, "run", "--once")
    (path,) = (workdir / "Drafts" / "cur").iterdir()
    draft = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = without_quote(draft.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    first_paragraph = text.split("\n\n")[1]
    edited = text.replace(first_paragraph + "\n\n", "", 1) + "\n\nWe ship from Ningbo every week."
    send(workdir, "1790000100.M2P1.reply", draft, edited, "<sent-1@brightway-power.example>")
    send(workdir, "1790000200.M3P1.other", email.message.EmailMessage(), "Hello, unrelated mail.", "<sent-2@brightway-power.example>")
    run(workdir, "run", "--once")
    report = json.loads(run(workdir, "edits", "report", "--json"))
    (group,) = report["templates"]
    assert (report["sent"], report["answered"], group["replies"], group["unchanged"]) == (2, 1, 1, 0)
    assert ([s for s, _ in group["added"]], len(group["deleted"]) >= 1) == (["We ship from Ningbo every week."], True)
    assert (group["action"], group["language"], [n is not None and n >= 0 for n in report["response_seconds"]]) == \
        ("precise_quote", "en", [True])
    human = run(workdir, "edits", "report")
    assert ("added in 1 of 1: We ship from Ningbo every week." in human, "2 sent, 1 answering an inquiry" in human) == (True, True)
    run(workdir, "run", "--once")  # a second pass records nothing again
    assert json.loads(run(workdir, "edits", "report", "--json"))["sent"] == 2


@pytest.fixture(scope="module")
def dovecot() -> Iterator[object]:
    from tests.dovecot import running_dovecot

    with running_dovecot() as server:
        yield server


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_imap_sent_folder_marks_the_inquiry_answered_and_records_the_edits(
        dovecot: object, db: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from tests.dovecot import append, drafts

    server = dovecot
    user, pw = server.add_user()  # type: ignore[attr-defined]
    url = f"sqlite:///{tmp_path / 'triage.sqlite3'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n\n' + server.mailbox_toml("sales", user, "PW_SALES"),  # type: ignore[attr-defined]
                      encoding="utf-8")
    config.chmod(0o600)
    env = {"PW_SALES": pw}
    try:
        with server.connect(user, pw) as c:  # type: ignore[attr-defined]
            append(c, next(p for p in sample_files() if p.stem == INQUIRY).read_bytes())
        assert cli("--config", str(config), "run", "--once", env=env, cwd=tmp_path).returncode == 0
        with server.connect(user, pw) as c:  # type: ignore[attr-defined]
            ((_uid, _flags, data),) = drafts(c)
            draft = email.message_from_bytes(data, policy=email.policy.default)
            text = without_quote(draft.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            sent = email.message.EmailMessage()
            for header in ("From", "To", "Subject", "In-Reply-To", "References"):
                sent[header] = str(draft[header])
            sent["Message-ID"] = "<sent-imap@brightway-power.example>"
            sent["Date"] = "Thu, 03 Dec 2026 18:00:00 +0000"
            sent.set_content(text + "\n\nOur factory visit slots are on Tuesdays.")
            append(c, bytes(sent), folder="Sent")
        assert cli("--config", str(config), "run", "--once", env=env, cwd=tmp_path).returncode == 0
        result = cli("--config", str(config), "edits", "report", "--json", env=env, cwd=tmp_path)
        report = json.loads(result.stdout)
        (group,) = report["templates"]
        assert (report["sent"], report["answered"], group["replies"], [s for s, _ in group["added"]]) == \
            (1, 1, 1, ["Our factory visit slots are on Tuesdays."])
    finally:
        if db == "postgresql":
            _reset_pg(url)
