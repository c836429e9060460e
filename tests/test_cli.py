"""The CLI contract: help texts, `explain --json` keys, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon import config
from daemon.demo import sample_files
from daemon.limits import Limits
from extractors.core.model import ITEM_IDS, SIGNAL_IDS
from tests.clihelp import cli

COMMANDS = [(), ("run",), ("explain",), ("demo",), ("db",), ("db", "upgrade"), ("rules",), ("rules", "check"),
            ("rules", "test"), ("eval",), ("status",), ("customers",), ("customers", "list"), ("customers", "show"),
            ("export",), ("checklist",), ("checklist", "print"), ("leads",), ("leads", "add"), ("edits",), ("edits", "report"),
            ("remind",), ("digest",), ("nurture",)]
JSON_KEYS = {"language", "clarity", "items", "missing", "signals", "strength", "priority", "tier", "follow_up_mode",
             "quote", "sample", "action", "reasons"}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "main")
def test_help_describes_itself(command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0 and len(result.stdout.decode().split("\n\n")[1].strip()) > 10


def test_version() -> None:
    assert cli("--version").stdout.decode().startswith("inquiry-triage, version ")


@pytest.fixture(scope="module")
def explained() -> dict[str, dict]:
    """Every sample explained by one run: one JSON object per line, in the order given."""
    paths = sample_files()
    result = cli("explain", "--json", *map(str, paths))
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(paths)
    return {path.stem: json.loads(line) for path, line in zip(paths, lines, strict=True)}


def test_explain_one_message_gives_what_it_gives_among_many(explained: dict[str, dict]) -> None:
    path = sample_files()[3]
    assert json.loads(cli("explain", "--json", str(path)).stdout) == explained[path.stem]


def test_explain_several_messages_in_the_terminal() -> None:
    paths = sample_files()[:2]
    out = cli("explain", *map(str, paths)).stdout.decode()
    assert all(p.name in out for p in paths)


def test_explain_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("explain", "--json", str(sample_files()[0]), str(tmp_path / "missing.eml"))
    assert (result.returncode, result.stdout) == (2, b"")


@pytest.mark.parametrize("stem", [p.stem for p in sample_files()])
def test_explain_json_has_every_key(explained: dict[str, dict], stem: str) -> None:
    doc = explained[stem]
    assert (JSON_KEYS <= set(doc), set(doc["items"]), set(doc["signals"])) == (True, set(ITEM_IDS), set(SIGNAL_IDS))


@pytest.mark.parametrize("stem", [p.stem for p in sample_files()])
def test_explain_clarity_counts_items(explained: dict[str, dict], stem: str) -> None:
    doc = explained[stem]
    assert doc["clarity"] == sum(1 for v in doc["items"].values() if v is not None) == 18 - len(doc["missing"])


def test_explain_reads_stdin() -> None:
    data = sample_files()[0].read_bytes()
    assert json.loads(cli("explain", "--json", "-", stdin=data).stdout)["language"] == "en"


def test_explain_has_no_side_effects(tmp_path: Path) -> None:
    cli("explain", "--json", str(sample_files()[0]), cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


BAD_CONFIGS = [
    ("unknown-key", '[store]\nurl = "sqlite:///x.db"\nurll = 1\n', "urll"),
    ("password-in-url", '[store]\nurl = "postgresql+psycopg://u:secret@127.0.0.1/db"\n', "password_env"),
    ("bad-kind", '[[mailboxes]]\nname = "a"\nkind = "pop3"\npath = "M"\ndrafts = "D"\n', "kind"),
    ("not-toml", "[store\n", "not valid TOML"),
    ("bad-interval", "[daemon]\ninterval_seconds = 1\n", "interval_seconds"),
    ("tiny-message-limit", "[daemon]\nmax_message_bytes = 100\n", "max_message_bytes"),
    ("tiny-header-limit", "[daemon]\nmax_header_bytes = 100\n", "max_header_bytes"),
    ("text-limit-past-spacy", "[daemon]\nmax_text_chars = 2000000\n", "max_text_chars"),
    ("zero-time-budget", "[daemon]\nmessage_seconds = 0\n", "message_seconds"),
    ("text-limit-as-words", '[daemon]\nmax_text_chars = "a lot"\n', "max_text_chars"),
]


@pytest.mark.parametrize(("name", "text", "mention"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_exits_2_naming_the_problem(tmp_path: Path, name: str, text: str, mention: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    result = cli("--config", str(config), "run", "--once")
    assert (result.returncode, mention in result.stderr.decode(), str(config) in result.stderr.decode()) == (2, True, True)


def test_bad_config_never_echoes_the_password(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "postgresql+psycopg://u:hunter2@127.0.0.1/db"\n', encoding="utf-8")
    assert "hunter2" not in cli("--config", str(config), "run", "--once").stderr.decode()


def test_unreachable_database_exits_3(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    (tmp_path / "M" / "new").mkdir(parents=True)
    config.write_text('[store]\nurl = "postgresql+psycopg://postgres@127.0.0.1:1/x"\n[[mailboxes]]\nname = "a"\n'
                      'kind = "maildir"\npath = "M"\ndrafts = "D"\n', encoding="utf-8")
    assert cli("--config", str(config), "run", "--once").returncode == 3


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    assert cli("--config", str(tmp_path / "nope.toml"), "run", "--once").returncode == 2


def test_config_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[daemon]\ninterval_seconds = 1\n", encoding="utf-8")
    assert cli("run", "--once", env={"INQUIRY_TRIAGE_CONFIG": str(config)}).returncode == 2


def test_demo_twice_writes_no_new_draft(tmp_path: Path) -> None:
    first = cli("demo", "--workdir", str(tmp_path / "w"))
    drafts = sorted((tmp_path / "w" / "Maildir" / ".Drafts" / "cur").iterdir())
    second = cli("demo", "--workdir", str(tmp_path / "w"))
    after = sorted((tmp_path / "w" / "Maildir" / ".Drafts" / "cur").iterdir())
    assert (first.returncode, second.returncode, len(drafts) > 0, after == drafts) == (0, 0, True, True)


def test_deploy_example_config_is_valid() -> None:
    from daemon.config import load

    cfg = load(Path(__file__).resolve().parent.parent / "deploy" / "config.example.toml")
    assert [m.kind for m in cfg.mailboxes] == ["imap", "maildir"]


LIMIT_SETTINGS = [
    ("", Limits()),
    ("max_message_bytes = 5_000_000\n", Limits(max_message_bytes=5_000_000)),
    ("max_header_bytes = 65536\n", Limits(max_header_bytes=65_536)),
    ("max_text_chars = 20000\n", Limits(max_text_chars=20_000)),
    ("message_seconds = 5\n", Limits(message_seconds=5.0)),
    ("max_text_chars = 900000\nmessage_seconds = 120.5\n", Limits(max_text_chars=900_000, message_seconds=120.5)),
]


@pytest.mark.parametrize(("text", "limits"), LIMIT_SETTINGS, ids=[t.split(" ")[0] or "defaults" for t, _ in LIMIT_SETTINGS])
def test_daemon_limit_settings_are_the_limits_messages_are_held_to(tmp_path: Path, text: str, limits: Limits) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[daemon]\n" + text, encoding="utf-8")
    assert Limits.of(config.load(path).daemon) == limits
