"""Nurture drafts for tier C buyers: the due decision (a table), the content and greeting choices, the [nurture]
configuration, exactly one draft across a crash (on SQLite and PostgreSQL), and the real CLI on a Maildir with
SQLite and PostgreSQL: a tier C buyer past the period gets one threaded draft in the language of our reply, asking
nothing; a second pass, a tier B buyer and a buyer under the period (answered lately) get none."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from daemon import config as config_mod
from daemon.demo import sample_files
from daemon.drafting import Drafter, load_labels, make_environment, templates_dir
from daemon.mailboxes.maildir import MaildirMailbox
from daemon.nurture import Candidate, Sent, choose_content, compose, due, greeting_of, nurture_pass, send_nurtures
from daemon.seller import load as load_seller
from daemon.store import CustomerUpdate, Store
from extractors.core.errors import ConfigError
from extractors.core.model import Assessment, Checklist, Draft, MessageKey, Outcome
from extractors.rules import shipped_dir
from tests.clihelp import cli
from tests.conftest import _reset_pg

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def days(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def buyer(**kw: Any) -> Candidate:
    base: dict[str, Any] = {"address": "b@example.com", "tier": "C", "action": "catalogue_reply",
                            "message_id": "<q1@example.com>", "subject": "price list", "inquiry_at": T0,
                            "language": "en", "greeting": "Dear Mike,"}
    return Candidate(**(base | kw))


def sent(seq: int, at: float, state: str = "saved", content: str = "") -> Sent:
    return Sent(seq, days(at), state, f"<n{seq}@x>", content, "en")


# (case, the buyer, days after the inquiry, due)
DUE = [
    ("tier C past the period", buyer(), 30, True),
    ("tier C under the period", buyer(), 29.9, False),
    ("tier B", buyer(tier="B"), 60, False),
    ("tier A", buyer(tier="A"), 60, False),
    ("no tier", buyer(tier=None), 60, False),
    ("a message of the buyer found invalid", buyer(invalid=True), 60, False),
    ("held back for verification", buyer(action="verify"), 60, False),
    ("the buyer wrote after the inquiry", buyer(later=("quarantined",)), 60, False),
    ("a sent reply 10 days ago", buyer(sent_at=days(50)), 60, False),
    ("a sent reply 30 days ago", buyer(sent_at=days(30)), 60, True),
    ("the last nurture draft 20 days ago", buyer(nurtures=(sent(1, 40),)), 60, False),
    ("the last nurture draft 30 days ago", buyer(nurtures=(sent(1, 30),)), 60, True),
    ("the second nurture draft 10 days ago", buyer(nurtures=(sent(1, 30), sent(2, 60))), 70, False),
    ("a draft noted but not saved", buyer(nurtures=(sent(1, 30, "saving"),)), 31, True),
]


@pytest.mark.parametrize(("candidate", "after", "expected"), [c[1:] for c in DUE], ids=[c[0] for c in DUE])
def test_due(candidate: Candidate, after: float, expected: bool) -> None:
    assert due(candidate, days(after), 30).due is expected


# (case, later messages of the buyer, counted)
LATER = [
    ("an out-of-office reply", [{"message_id": "<o@x>", "status": "skipped", "signals": ["auto_reply"]}], ()),
    ("the inquiry again (a new folder generation)", [{"message_id": "<q1@example.com>", "status": "skipped",
                                                      "signals": []}], ()),
    ("a mail that failed", [{"message_id": "<f@x>", "status": "failed", "signals": []}], ("failed",)),
]


@pytest.mark.parametrize(("later", "counted"), [c[1:] for c in LATER], ids=[c[0] for c in LATER])
def test_later_messages_that_count(later: list[dict[str, Any]], counted: tuple[str, ...]) -> None:
    row = {"address": "b@example.com", "tier": "C", "action": "catalogue_reply", "message_id": "<q1@example.com>",
           "subject": "s", "inquiry_at": T0, "language": "es", "draft_text": "", "later": later}
    assert Candidate.of(row).later == counted


ITEMS = [("a-case", "Case A"), ("b-note", "Note B")]
# (case, the buyer, the content item chosen)
CONTENT = [
    ("first nurture draft", buyer(), "a-case"),
    ("our reply was a nurture reply (it shared the first)", buyer(action="nurture"), "b-note"),
    ("the next not yet shared", buyer(nurtures=(sent(1, 30, content="a-case"),)), "b-note"),
    ("all shared: a placeholder", buyer(nurtures=(sent(1, 30, content="a-case"), sent(2, 60, content="b-note"))), ""),
]


@pytest.mark.parametrize(("candidate", "expected"), [c[1:] for c in CONTENT], ids=[c[0] for c in CONTENT])
def test_content_is_never_repeated(candidate: Candidate, expected: str) -> None:
    assert choose_content(ITEMS, candidate)[0] == expected


GREETINGS = [
    ("Dear Mr Vogel,\n\nThank you", "Dear Mr Vogel,"),
    ("\n尊敬的陈经理：\n感谢", "尊敬的陈经理："),
    ("[[Reply on TradeHub]]\n\nDear Sir", ""),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), GREETINGS, ids=[g[1] or "none" for g in GREETINGS])
def test_greeting_of_our_last_reply(text: str, expected: str) -> None:
    assert greeting_of(text) == expected


# (case, [nurture] section, what the error says)
BAD_CONFIG = [
    ("every_days 0", "every_days = 0", "[nurture.every_days] 0 is not a number of days from 1 to 365; set every_days = 30"),
    ("at not a time", 'at = "9am"', '[nurture.at] \'9am\' is not a time; give a UTC time as "HH:MM", e.g. at = "09:00"'),
    ("unknown key", "every_weeks = 4", "[nurture.every_weeks] Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("section", "says"), [c[1:] for c in BAD_CONFIG], ids=[c[0] for c in BAD_CONFIG])
def test_bad_nurture_config_names_file_key_and_fix(tmp_path: Path, section: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[nurture]\nenabled = true\n{section}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        config_mod.load(path)
    assert (f"{path}:3 {says}" in str(e.value)) is True, str(e.value)


def test_nurture_config_defaults() -> None:
    n = config_mod.Config().nurture
    assert (n.enabled, n.every_days, n.at) == (False, 30, "09:00")


# -- exactly once across a crash, on SQLite and PostgreSQL ---------------------------------------------------------
@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter(load_seller(), load_labels(shipped_dir()), make_environment([templates_dir()]))


# (language, the placeholder for the salesperson when the seller has no content left to share)
PLACEHOLDERS = [("en", "[[case study or compliance note]]"), ("zh", "[[案例或合规资讯]]"),
                ("es", "[[caso práctico o nota sobre normativa]]"), ("fr", "[[étude de cas ou note réglementaire]]"),
                ("de", "[[Fallstudie oder Hinweis zu Vorschriften]]"), ("pt", "[[estudo de caso ou nota sobre normas]]"),
                ("it", "[[caso di studio o nota normativa]]"), ("ru", "[[кейс или новость о требованиях рынка]]"),
                ("ar", "[[دراسة حالة أو مستجدات تنظيمية]]"), ("tr", "[[örnek proje veya mevzuat notu]]")]


@pytest.mark.parametrize(("lang", "mark"), PLACEHOLDERS, ids=[p[0] for p in PLACEHOLDERS])
def test_every_language_asks_nothing_and_marks_missing_content(drafter: Drafter, lang: str, mark: str) -> None:
    draft, text = compose(drafter, "sales", buyer(language=lang, greeting=""), 1, "", lang, T0)
    assert (mark in text, any(q in text for q in "?？¿؟"), draft.to, draft.message_id.startswith("<triage-nurture.")) == (
        True, False, "b@example.com", True)


def _tier_c_inquiry(store: Store, address: str, message_id: str) -> None:
    key = MessageKey("sales", "INBOX", 1, 1)
    checklist = Checklist(key, "en", (("specs", None),), strength="low")
    assessment = Assessment(key, checklist, "low", "C", "nurture", "catalogue", None, "catalogue_reply")
    draft = Draft(key, "<reply-1@brightway-power.example>", "catalogue_reply", address, "Re: price list", b"")
    store.record(Outcome(key, message_id, "drafted", "catalogue_reply", "", assessment, draft), sender=address,
                 subject="price list", language="en", draft_language="en",
                 customer=CustomerUpdate(address, {}, 0, "C", 2, mode="nurture", action="catalogue_reply",
                                         message_id=message_id, subject="price list"))


def _maildir(root: Path) -> MaildirMailbox:
    for folder in ("in", "drafts"):
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
    box = MaildirMailbox("sales", root / "in", root / "drafts")
    box.open()
    return box


def _drafts(root: Path) -> list[Path]:
    return sorted((root / "drafts" / "cur").iterdir())


def _set_state(store: Store, state: str) -> None:
    with store.engine.begin() as c:
        c.execute(sa.text("UPDATE nurtures SET state = :s"), {"s": state})


def test_exactly_one_draft_across_a_crash(store: Store, drafter: Drafter, tmp_path: Path) -> None:
    _tier_c_inquiry(store, "mike@example.com", "<q1@example.com>")
    box = _maildir(tmp_path)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    first = send_nurtures(box, store, drafter, 30, later)
    (saved,) = _drafts(tmp_path)
    _set_state(store, "saving")  # a crash after the draft was put in Drafts, before it was marked saved
    after_put = send_nurtures(box, store, drafter, 30, later)
    _set_state(store, "saving")  # a crash after the draft was noted, before it was put in Drafts
    saved.unlink()
    box.close()
    box = _maildir(tmp_path)
    after_note = send_nurtures(box, store, drafter, 30, later)
    again = send_nurtures(box, store, drafter, 30, later + dt.timedelta(days=1))
    rows = store.nurtures()
    assert (first, after_put, after_note, again) == (1, 0, 1, 0)
    assert ([p.name for p in _drafts(tmp_path)], [(r["seq"], r["state"]) for r in rows]) == ([saved.name], [(1, "saved")])


def test_the_daemons_pass_is_daily_after_its_time(store: Store, drafter: Drafter, tmp_path: Path) -> None:
    _tier_c_inquiry(store, "mike@example.com", "<q1@example.com>")
    box = _maildir(tmp_path)
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=31)).replace(minute=0, second=0, microsecond=0)
    got = [nurture_pass(box, store, drafter, 30, "09:00", day.replace(hour=h)) for h in (8, 10, 11)]
    assert (got, len(_drafts(tmp_path)), store.checkpoint("sales", "nurture", 0)) == ([0, 1, 0], 1, int(f"{day:%Y%m%d}"))


# -- the real CLI, on a Maildir, with SQLite and PostgreSQL --------------------------------------------------------
C_EN, B, C_SENT = "03-vague-price-list-gmail", "10-html-only-rfq-rotterdam", "06-free-sample-freemail"
C_ES = b"""Date: Tue, 10 Nov 2026 10:05:00 +0100
From: =?utf-8?q?Luc=C3=ADa_Romero?= <lucia.romero.compras@gmail.com>
To: sales@brightway-power.example
Subject: lista de precios
Message-ID: <lr-20261110-1@mail.gmail.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Hola,
por favor env\xc3\xadenme la lista de precios de todos sus productos.
Muchas gracias y saludos cordiales
Luc\xc3\xada
"""


def _later(n: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=n)).strftime("%Y-%m-%d %H:%M")


def _answer(workdir: Path, stem: str, after_days: float) -> None:
    """The salesperson's reply to the inquiry, in the Sent Maildir, dated some days after now."""
    inquiry = email.message_from_bytes(next(p for p in sample_files() if p.stem == stem).read_bytes(),
                                       policy=email.policy.default)
    reply = email.message.EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "sales@brightway-power.example", str(inquiry["From"]), "Re: samples"
    reply["Message-ID"], reply["In-Reply-To"] = "<reply-6@brightway-power.example>", str(inquiry["Message-ID"])
    reply["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(days=after_days))
    reply.set_content("Dear buyer, our sample terms follow.")
    (workdir / "Maildir" / ".Sent" / "cur" / "1790000500.M9P1.reply:2,S").write_bytes(bytes(reply))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def nurtured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three tier C buyers (English, Spanish, and one the salesperson answered 25 days from now: under the period at
    the passes) and a tier B one, processed; then a nurture pass 31 days from now, and a second one."""
    work = tmp_path_factory.mktemp("nurture")
    url = f"sqlite:///{work / 'triage.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    for folder in ("Maildir", "Maildir/.Sent"):
        for sub in ("cur", "new", "tmp"):
            (work / folder / sub).mkdir(parents=True)
    by_stem = {p.stem: p for p in sample_files()}
    for n, stem in enumerate((C_EN, B, C_SENT)):
        shutil.copyfile(by_stem[stem], work / "Maildir" / "new" / f"{1790000000 + n}.M{n}P1.{stem}")
    (work / "Maildir" / "new" / "1790000009.M9P1.lucia").write_bytes(C_ES)
    _answer(work, C_SENT, 25)
    config = work / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n\n[[mailboxes]]\nname = "sales"\nkind = "maildir"\npath = "Maildir"\n'
                      'drafts = "Drafts"\n\n[nurture]\nenabled = true\nat = "00:00"\n', encoding="utf-8")
    config.chmod(0o600)

    def run(*args: str) -> str:
        result = cli("--config", str(config), *args, cwd=work)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode() + result.stderr.decode()

    try:
        daemon = run("run", "--once")  # with its daily nurture pass: nobody is due yet
        replies = len(list((work / "Drafts" / "cur").iterdir()))
        outs = [run("--log-level", "ERROR", "nurture", "--now", _later(d)) for d in (31, 31)]
        store = Store(url)
        try:
            rows, customers = store.nurtures(), {c["address"]: c["last_tier"] for c in store.customers()}
        finally:
            store.dispose()
        drafts = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                  for p in (work / "Drafts" / "cur").iterdir()]
        yield {"daemon": daemon, "outs": outs, "replies": replies, "rows": rows, "customers": customers,
               "nurture": [d for d in drafts if str(d["Message-ID"]).startswith("<triage-nurture.")]}
    finally:
        if request.param == "postgresql":
            _reset_pg(url)


def _inquiry(stem: str) -> email.message.EmailMessage:
    return email.message_from_bytes(next(p for p in sample_files() if p.stem == stem).read_bytes(),  # type: ignore[return-value]
                                    policy=email.policy.default)


def test_the_daemons_daily_pass_drafts_nothing_before_the_period(nurtured: dict[str, Any]) -> None:
    assert ("Nurture drafts: tier C buyers every 30 days, looked for daily after 00:00 UTC" in nurtured["daemon"],
            "mailbox=sales nurture pass: 0 draft(s) for tier C buyers" in nurtured["daemon"], nurtured["replies"]) == (
        True, True, 4)


def test_the_buyers_tiers(nurtured: dict[str, Any]) -> None:
    assert nurtured["customers"] == {"mike.tradehouse88@gmail.com": "C", "lucia.romero.compras@gmail.com": "C",
                                     "rahul.verma.lights@hotmail.com": "C", "p.devries@lumendepot.example": "B"}


def test_one_nurture_draft_per_due_buyer_none_for_tier_b_or_under_the_period_or_on_a_second_pass(nurtured: dict[str, Any]) -> None:
    assert [o.strip() for o in nurtured["outs"]] == ["sales: 2 nurture draft(s)", "sales: 0 nurture draft(s)"]
    assert sorted((r["address"], r["seq"], r["state"], r["language"]) for r in nurtured["rows"]) == [
        ("lucia.romero.compras@gmail.com", 1, "saved", "es"), ("mike.tradehouse88@gmail.com", 1, "saved", "en")]
    assert len(nurtured["nurture"]) == 2


def test_the_draft_is_threaded_to_the_buyer_and_asks_nothing(nurtured: dict[str, Any]) -> None:
    mike = _inquiry(C_EN)
    (draft,) = [d for d in nurtured["nurture"] if str(d["To"]) == "mike.tradehouse88@gmail.com"]
    text = draft.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (str(draft["In-Reply-To"]), str(draft["References"]), str(draft["Subject"]), str(draft["From"])) == (
        str(mike["Message-ID"]), str(mike["Message-ID"]), "Re: price list", "Grace Lin <sales@brightway-power.example>")
    assert ("We hope business is going well." in text, "Case study: a warehouse retrofit in Rotterdam" in text,
            "No reply is needed." in text, "?" in text, "[[" in text) == (True, True, True, False, False)


def test_the_draft_is_in_the_language_of_our_reply(nurtured: dict[str, Any]) -> None:
    (draft,) = [d for d in nurtured["nurture"] if str(d["To"]) == "lucia.romero.compras@gmail.com"]
    text = draft.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (str(draft["In-Reply-To"]), str(draft["Subject"]), text.splitlines()[0], "Caso práctico:" in text,
            "No es necesario responder." in text, "?" in text or "¿" in text) == (
        "<lr-20261110-1@mail.gmail.com>", "Re: lista de precios", "Buenos días, Lucía:", True, True, False)
