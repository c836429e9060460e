"""Reminders through the real CLI on a Maildir and on a real Dovecot, with SQLite and PostgreSQL: an overdue
high-priority inquiry gets one flagged note in the INBOX, an answered one or one not yet due gets none, and the
note itself is never taken for an inquiry."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.demo import sample_files
from tests.clihelp import cli

HIGH, MEDIUM = "01-detailed-rfq-germany", "02-medium-solar-street-nigeria"  # due in 12 h, and medium priority


@pytest.fixture
def workdir(maildir_workdir: Path) -> Path:
    by_stem = {p.stem: p for p in sample_files()}
    for n, stem in enumerate((HIGH, MEDIUM)):
        shutil.copyfile(by_stem[stem], maildir_workdir / "Maildir" / "new" / f"{1790000000 + n}.M{n}P1.{stem}")
    return maildir_workdir


def run(workdir: Path, *args: str) -> str:
    result = cli("--config", str(workdir / "config.toml"), *args, cwd=workdir)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode() + result.stderr.decode()


def later(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def notes(workdir: Path) -> list[email.message.EmailMessage]:
    found = [p for p in (workdir / "Maildir" / "cur").iterdir() if p.name.endswith(":2,F")]
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in found]  # type: ignore[misc]


def answer(workdir: Path, stem: str) -> None:
    """The salesperson replies to the inquiry: a message in the Sent Maildir naming it in In-Reply-To."""
    inquiry = email.message_from_bytes(next(p for p in sample_files() if p.stem == stem).read_bytes(),
                                       policy=email.policy.default)
    reply = email.message.EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "sales@brightway-power.example", str(inquiry["From"]), "Re: offer"
    reply["Message-ID"], reply["In-Reply-To"] = "<reply-1@brightway-power.example>", str(inquiry["Message-ID"])
    reply["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    reply.set_content("Dear buyer, our offer follows.")
    (workdir / "Maildir" / ".Sent" / "cur" / "1790000500.M9P1.reply:2,S").write_bytes(bytes(reply))


# (case, answered before, hours later, reminders expected)
CASES = [
    ("overdue high priority", False, 13, 1),
    ("not yet due", False, 1, 0),
    ("answered", True, 13, 0),
]


@pytest.mark.parametrize(("answered", "hours", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reminder_only_for_an_overdue_unanswered_high_priority_inquiry(workdir: Path, answered: bool, hours: float,
                                                                        expected: int) -> None:
    run(workdir, "run", "--once")
    if answered:
        answer(workdir, HIGH)
    out = run(workdir, "remind", "--now", later(hours))
    got = notes(workdir)
    assert (f"sales: {expected} reminder(s)" in out, len(got)) == (True, expected)
    if expected:
        assert ("Reminder: unanswered inquiry from k.vogel@nordlicht-handel.example" in str(got[0]["Subject"]),
                str(got[0]["From"]) == str(got[0]["To"])) == (True, True)


def test_one_reminder_each_and_the_note_is_no_inquiry(workdir: Path) -> None:
    run(workdir, "run", "--once")
    run(workdir, "remind", "--now", later(13))
    again = run(workdir, "remind", "--now", later(26))
    drafts_before = len(list((workdir / "Drafts" / "cur").iterdir()))
    run(workdir, "run", "--once")
    assert ("sales: 0 reminder(s)" in again, len(notes(workdir)),
            len(list((workdir / "Drafts" / "cur").iterdir()))) == (True, 1, drafts_before)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[object]:
    from tests.dovecot import running_dovecot

    with running_dovecot() as server:
        yield server


def test_imap_reminder_is_a_flagged_note_in_the_inbox(dovecot: object, tmp_path: Path) -> None:
    from tests.dovecot import append, flags

    server = dovecot
    user, pw = server.add_user()  # type: ignore[attr-defined]
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "t.sqlite3"}"\n\n'
                      + server.mailbox_toml("sales", user, "PW_SALES"), encoding="utf-8")  # type: ignore[attr-defined]
    config.chmod(0o600)
    env = {"PW_SALES": pw}
    with server.connect(user, pw) as c:  # type: ignore[attr-defined]
        append(c, next(p for p in sample_files() if p.stem == HIGH).read_bytes())
    assert cli("--config", str(config), "run", "--once", env=env, cwd=tmp_path).returncode == 0
    out = cli("--config", str(config), "remind", "--now", later(13), env=env, cwd=tmp_path).stdout.decode()
    with server.connect(user, pw) as c:  # type: ignore[attr-defined]
        inbox = flags(c)
    assert ("sales: 1 reminder(s)" in out, len(inbox), sorted(b"\\Flagged" in f for f in inbox.values())) == \
        (True, 2, [False, True])


def flagged(workdir: Path, subject: str) -> list[email.message.EmailMessage]:
    return [m for m in notes(workdir) if str(m["Subject"]).startswith(subject)]


def test_digest_ranks_the_days_inquiries_and_is_put_in_the_inbox_once(workdir: Path) -> None:
    run(workdir, "run", "--once")
    answer(workdir, HIGH)
    run(workdir, "digest", "--out", str(workdir / "pages"))
    page = (workdir / "pages" / "sales.html").read_text(encoding="utf-8")
    high, medium = page.index("k.vogel@nordlicht-handel.example"), page.index("chinedu.okafor@sunhaven-energy.example")
    assert (high < medium, page.count("/18</td>"), '<b style="color:#c62828">no</b>' in page) == (True, 2, True)
    first, second = run(workdir, "digest"), run(workdir, "digest")
    (note,) = flagged(workdir, "Inquiries of ")
    parts = [p.get_content_type() for p in note.walk() if not p.is_multipart()]
    body = note.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ("put in the INBOX" in first, "before" in second, parts) == (True, True, ["text/plain", "text/html"])
    assert (body.index("high ") < body.index("medium "), "1 answered" in body, "UNANSWERED" in body) == (True, True, True)
    drafts_before = len(list((workdir / "Drafts" / "cur").iterdir()))
    run(workdir, "run", "--once")  # the digest in the INBOX is no inquiry
    assert len(list((workdir / "Drafts" / "cur").iterdir())) == drafts_before


def test_the_daemon_puts_the_digest_after_its_time(workdir: Path) -> None:
    config = workdir / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[digest]\nat = "00:00"\n', encoding="utf-8")
    run(workdir, "run", "--once")
    run(workdir, "run", "--once")
    assert len(flagged(workdir, "Inquiries of ")) == 1
