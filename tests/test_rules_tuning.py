"""The tuning workflow: rules check / test, the overlay, eval on the labelled corpus, reload of a running daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.clihelp import ROOT, cli

MINI = ROOT / "tests" / "fixtures" / "corpus" / "mini.jsonl"  # written for the tests; the real corpus is for `make eval`
SAMPLE = ROOT / "daemon" / "samples" / "inbox" / "02-medium-solar-street-nigeria.eml"

THREE_MISTAKES = '''
[[rule]]
id = "QTY_TYPO_KEY"
item = "quantity"
description = "a misspelt key"
patern = ["x"]

[[rule]]
id = "SPECS_UNKNOWN_ITEM"
item = "spec"
description = "an unknown item"
phrases = ["foo"]

[[rule]]
id = "LEAD_TIME_CATASTROPHIC"
item = "lead_time"
description = "a regex that backtracks catastrophically"
regex = ['(\\w+)+days']
'''


def test_rules_check_reports_all_three_mistakes(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "bad.toml").write_text(THREE_MISTAKES, encoding="utf-8")
    result = cli("rules", "check", str(tmp_path))
    err = result.stderr.decode()
    found = [rid for rid in ("QTY_TYPO_KEY", "SPECS_UNKNOWN_ITEM", "LEAD_TIME_CATASTROPHIC") if rid in err]
    assert (result.returncode, found, err.count("en/bad.toml")) == (2, ["QTY_TYPO_KEY", "SPECS_UNKNOWN_ITEM", "LEAD_TIME_CATASTROPHIC"], 3)


def test_rules_check_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "bad.toml").write_text(THREE_MISTAKES, encoding="utf-8")
    assert "en/bad.toml:2 rule QTY_TYPO_KEY [patern]" in cli("rules", "check", str(tmp_path)).stderr.decode()


def test_rules_check_passes_on_shipped_rules() -> None:
    assert cli("rules", "check").returncode == 0


def test_rules_test_runs_every_inline_example() -> None:
    result = cli("rules", "test")
    assert (result.returncode, result.stdout.decode().strip().splitlines()[-1].endswith(" 0 failed")) == (0, True)


def test_rules_test_reports_a_failing_example(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "mine.toml").write_text(
        '[[rule]]\nid = "PACK_MY_WORD"\nitem = "packaging"\ndescription = "x"\nphrases = ["gift tube"]\n'
        'ok = ["in a gift tube", "in a gift box"]\nfail = ["no tube"]\n', encoding="utf-8")
    result = cli("rules", "test", str(tmp_path))
    assert (result.returncode, "PACK_MY_WORD (en): ok example did not fire: 'in a gift box'" in result.stdout.decode()) == (1, True)


def _explain_with_overlay(tmp_path: Path, files: dict[str, str]) -> dict:
    overlay = tmp_path / "overlay"
    overlay.mkdir(parents=True)
    for name, text in files.items():
        (overlay / name).parent.mkdir(parents=True, exist_ok=True)
        (overlay / name).write_text(text, encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[rules]\noverlay = "{overlay}"\n', encoding="utf-8")
    result = cli("--config", str(config), "explain", "--json", str(SAMPLE))
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_overlay_adds_a_rule(tmp_path: Path) -> None:
    doc = _explain_with_overlay(tmp_path, {"en/local.toml": (
        '[[rule]]\nid = "PLAN_DATASHEET_FIRST"\nitem = "purchase_plan"\ndescription = "local: datasheet before ordering"\n'
        'phrases = ["product datasheet"]\nin_question = "allow"\n')})
    assert doc["items"]["purchase_plan"]["rule"] == "PLAN_DATASHEET_FIRST"


def test_overlay_switches_a_shipped_rule_off(tmp_path: Path) -> None:
    before = _explain_with_overlay(tmp_path / "a", {})
    rule = before["items"]["trade_terms"]["rule"]
    after = _explain_with_overlay(tmp_path / "b", {"en/off.toml": f'disable = ["{rule}"]\n'})
    assert after["items"]["trade_terms"] is None or after["items"]["trade_terms"]["rule"] != rule


@pytest.fixture(scope="module")
def corpus_scores() -> dict:
    result = cli("eval", "--json", "--errors", str(MINI))
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_eval_json_shape(corpus_scores: dict) -> None:
    assert set(corpus_scores) == {"n", "items", "micro", "value_accuracy", "invalid", "files", "languages", "rules", "errors"}


def test_eval_scores_by_language(corpus_scores: dict) -> None:
    assert {k: v["n"] for k, v in corpus_scores["languages"].items()} == {"en": 3, "es": 1, "fr": 1, "zh": 1}


def test_eval_counts_rule_hits(corpus_scores: dict) -> None:
    assert corpus_scores["rules"]["QTY_NUMBER_UNIT"]["hits"] > 0 and all(
        set(v) == {"hits", "false_positives"} for v in corpus_scores["rules"].values())


def test_eval_errors_name_evidence_and_rule(corpus_scores: dict) -> None:
    kinds = {e["kind"] for e in corpus_scores["errors"]}
    assert kinds <= {"fp", "fn", "cut"} and all(set(e) >= {"id", "item", "label", "evidence", "rule"} for e in corpus_scores["errors"])


def test_eval_reads_a_folder_and_reports_each_file(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("eval", "--json", str(tmp_path))
    doc = json.loads(result.stdout)
    assert (doc["n"], sorted(doc["files"])) == (12, ["a.jsonl", "b.jsonl"])


@pytest.mark.parametrize(("floors", "code", "said"), [
    ("micro_f1 = 0.0\ninvalid_precision = 0.0\n", 0, ""),
    ("micro_f1 = 1.01\n", 1, "floor not held: micro_f1"),
    ("language_f1 = 1.01\n", 0, ""),  # no language of the mini corpus has 5 records
    ("micro_f1s = 0.5\n", 2, "unknown key(s) micro_f1s"),
], ids=["held", "micro-below", "language-too-small", "typo"])
def test_eval_floors(tmp_path: Path, floors: str, code: int, said: str) -> None:
    (tmp_path / "floors.toml").write_text(floors, encoding="utf-8")
    result = cli("eval", "--json", "--floors", str(tmp_path / "floors.toml"), str(MINI))
    assert (result.returncode, said in result.stderr.decode()) == (code, True)


@pytest.mark.parametrize(("label", "evidence", "value", "right"), [
    ("T/T 30% deposit, 70% before shipment", "T/T 30% deposit, 70% before shipment", "", True),
    ("T/T 30% deposit, 70% before shipment", "70% before shipment", "", False),
    ("within 45 days after deposit", "45 days after deposit", "", True),
    ("2 x 40HQ containers of tiles", "2", "", False),
    ("3000 个", "3000", "3000 个", True),
    ("交期 30 天内", "30 天", "", False),
], ids=["whole", "second-half-only", "most-words", "unit-lost", "value-holds-unit", "han-characters"])
def test_value_accuracy_counts_the_label_words(label: str, evidence: str, value: str, right: bool) -> None:
    from daemon.evaluate import value_right
    from extractors.core.model import Finding

    assert value_right(label, Finding("x", value, evidence, 0, 0, "R", 1.0)) is right


def _wait_for(proc_err: Path, text: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in proc_err.read_text(encoding="utf-8", errors="replace"):
            return True
        time.sleep(0.2)
    return False


def test_running_daemon_reloads_and_keeps_old_rules_on_a_bad_reload(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay" / "en"
    overlay.mkdir(parents=True)
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "sqlite:///t.sqlite3"\n[rules]\noverlay = "{overlay.parent}"\n[daemon]\n'
                      'interval_seconds = 5\n[[mailboxes]]\nname = "m"\nkind = "maildir"\npath = "Maildir"\ndrafts = "Drafts"\n',
                      encoding="utf-8")
    err = tmp_path / "stderr.log"
    with err.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), "run"], cwd=tmp_path,
                                stderr=sink, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            assert _wait_for(err, "polling every"), err.read_text()
            (overlay / "bad.toml").write_text('[[rule]]\nid = "bad id"\n', encoding="utf-8")
            proc.send_signal(signal.SIGHUP)
            assert _wait_for(err, "Reload failed, keeping the previous rules"), err.read_text()
            (overlay / "bad.toml").write_text('[[rule]]\nid = "PACK_GIFT_TUBE"\nitem = "packaging"\ndescription = "x"\n'
                                              'phrases = ["gift tube"]\n', encoding="utf-8")
            assert _wait_for(err, "Reloaded rules"), err.read_text()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
