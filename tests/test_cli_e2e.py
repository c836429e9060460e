"""End to end: the real CLI as a subprocess on a temporary copy of the bundled sample Maildir."""

from __future__ import annotations

import email
import email.policy
import shutil
from pathlib import Path

import pytest

from daemon.demo import sample_files
from tests.clihelp import cli

NO_DRAFT = {"04-spam-phishing-po-lure", "13-out-of-office-autoreply", "15-bounce-mailer-daemon", "18-newsletter-trade-show"}


def _maildir(root: Path) -> Path:
    inbox = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True)
    for n, src in enumerate(sample_files()):
        shutil.copyfile(src, inbox / "new" / f"{1790000000 + n}.M{n}P1.{src.stem}")
    return inbox


def _drafts(folder: Path) -> list[email.message.EmailMessage]:
    files = sorted((folder / "cur").glob("*")) if (folder / "cur").is_dir() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]  # type: ignore[misc]


def _inquiries() -> dict[str, email.message.EmailMessage]:
    return {f.stem: email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in sample_files()}  # type: ignore[misc]


@pytest.fixture(scope="module")
def run_twice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("e2e")
    _maildir(root)
    config = root / "config.toml"
    config.write_text(
        '[store]\nurl = "sqlite:///triage.sqlite3"\n\n[[mailboxes]]\nname = "sales"\nkind = "maildir"\n'
        'path = "Maildir"\ndrafts = "Drafts"\n',
        encoding="utf-8",
    )
    first = cli("--config", str(config), "run", "--once")
    drafts_after_first = _drafts(root / "Drafts")
    second = cli("--config", str(config), "run", "--once")
    return {"first": first, "second": second, "drafts": drafts_after_first, "drafts2": _drafts(root / "Drafts"),
            "inbox": root / "Maildir"}


def test_first_run_exits_0(run_twice: dict) -> None:
    assert run_twice["first"].returncode == 0, run_twice["first"].stderr.decode()


def test_one_draft_per_valid_inquiry(run_twice: dict) -> None:
    expected = sorted(_inquiries()[stem]["Message-ID"] for stem in _inquiries() if stem not in NO_DRAFT)
    assert sorted(d["In-Reply-To"].strip() for d in run_twice["drafts"]) == expected


@pytest.mark.parametrize("stem", sorted(NO_DRAFT))
def test_no_draft_for_spam_auto_reply_bounce_newsletter(run_twice: dict, stem: str) -> None:
    assert _inquiries()[stem]["Message-ID"] not in {d["In-Reply-To"].strip() for d in run_twice["drafts"]}


@pytest.mark.parametrize("stem", sorted(set(p.stem for p in sample_files()) - NO_DRAFT))
def test_draft_threading(run_twice: dict, stem: str) -> None:
    inquiry = _inquiries()[stem]
    draft = next(d for d in run_twice["drafts"] if d["In-Reply-To"].strip() == inquiry["Message-ID"])
    original = inquiry["Subject"]
    base = original[4:] if original.lower().startswith("re: ") else original
    assert (draft["References"].split()[-1], draft["Subject"]) == (inquiry["Message-ID"], f"Re: {base}")


def test_drafts_are_flagged_draft(run_twice: dict) -> None:
    names = [p.name for p in (run_twice["inbox"].parent / "Drafts" / "cur").iterdir()]
    assert names and all(n.endswith(":2,D") or ":2," in n and "D" in n.split(":2,")[1] for n in names)


def test_second_run_adds_nothing(run_twice: dict) -> None:
    assert (run_twice["second"].returncode, len(run_twice["drafts2"])) == (0, len(run_twice["drafts"]))


def test_inbox_untouched(run_twice: dict) -> None:
    inbox: Path = run_twice["inbox"]
    assert (len(list((inbox / "new").iterdir())), list((inbox / "cur").iterdir())) == (len(sample_files()), [])


def test_no_subject_stacks_re(run_twice: dict) -> None:
    assert not [d["Subject"] for d in run_twice["drafts"] if d["Subject"].lower().startswith("re: re:")]


def test_the_spreadsheet_only_inquiry_is_quoted_from_its_rows(run_twice: dict) -> None:
    inquiry = _inquiries()["19-rfq-spreadsheet-only-kenya"]
    draft = next(d for d in run_twice["drafts"] if d["In-Reply-To"].strip() == inquiry["Message-ID"])
    text = draft.get_body(("plain",)).get_content()
    rows = [("1. All-in-one solar street light (BW-SSL60)", "60W, 6500K, IP65, LiFePO4 12.8V 30Ah", "400 sets"),
            ("2. Solar flood light with remote control (BW-SFL100)", "100W, IP66", "120 pcs"),
            ("3. Galvanised pole 6 m", "Q235 steel, hot-dip galvanised", "400 pcs")]
    assert "Your items, as listed in your RFQ_2026.xlsx:" in text and all(w in text for row in rows for w in row)
    assert "could you please also let us know" not in text  # nothing the file states is asked
