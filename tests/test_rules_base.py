"""The rules base: fragments, sub-rules combined, token patterns, what `rules check` and `rules show` report, the
shape of the shipped rules, and the layers of the code."""

from __future__ import annotations

import ast
import datetime as dt
import statistics
import sys
from pathlib import Path

import pytest

from extractors.core.errors import RulesError
from extractors.engine import Engine
from extractors.rules import load, regex_sources, show
from tests.clihelp import ROOT, cli

DATE = dt.date(2026, 11, 2)
SHIPPED = load()

# An overlay written the way a sales-ops person extends the rules: fragments of its own and of the shipped base,
# a word fragment in a token pattern, two sub-rules combined within a window, and a sub-rule as context.
OVERLAY = {
    "en/fragments.toml": '''
[fragment]
TUBE = { words = ["gift tube", "kraft tube", "paper tube"] }
TUBE_COUNT = '\\d{1,3}\\s?(?:pcs|pieces)?\\s?(?:per|/)\\s?'
''',
    "en/packing.toml": '''
[[rule]]
id = "TUBE_WORD"
description = "a tube to pack in"
regex = ['\\b{TUBE}\\b']

[[rule]]
id = "PER_TUBE"
description = "how many go in one"
regex = ['(?P<v>{TUBE_COUNT}tube)']

[[rule]]
id = "PACK_IN_TUBES"
item = "packaging"
description = "packed in tubes, so many per tube"
all = ["TUBE_WORD", "PER_TUBE"]
within = 20
confidence = 0.95
ok = ["Packed in kraft tube, 12 pcs per tube.", "Gift tube: 6/tube please"]
fail = ["Kraft tube please.", "12 pcs per tube."]

[[rule]]
id = "GIFT_WORD"
description = "a gift"
phrases = ["gift", "gifts", "giveaway"]

[[rule]]
id = "APPLICATION_GIFT_BY_DATE"
item = "application"
description = "for gifts, with a month near (the gift season)"
patterns = [[{LOWER = "for"}, {LOWER = {IN = "{GIFT}"}}]]
near = { rules = ["MONTH_WORD"], within = 30 }
confidence = 0.95
ok = ["We buy them for gifts in December."]
fail = ["We buy them for gifts."]

[[rule]]
id = "MONTH_WORD"
description = "a month, from the shipped month names"
regex = ['\\b{MONTH_NAME}']
ok = ["in December"]
fail = ["in winter"]

[fragment]
GIFT = { words = ["gift", "gifts", "giveaways"] }
''',
}


def _overlay(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "overlay"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_an_overlay_uses_fragments_and_composition(tmp_path: Path) -> None:
    ruleset = load(overlay=_overlay(tmp_path, OVERLAY))
    engine = Engine(ruleset)
    packing = engine.run({"text": "Packed in kraft tube, 12 pcs per tube."}, "en", DATE).findings["packaging"]
    gift = engine.run({"text": "We buy them for gifts in December, 500 pcs."}, "en", DATE).findings["application"]
    no_month = engine.run({"text": "We buy them for gifts, 500 pcs."}, "en", DATE).findings.get("application")
    assert (packing.rule, packing.value, gift.rule, gift.evidence) == ("PACK_IN_TUBES", "kraft tube, 12 pcs per tube", "APPLICATION_GIFT_BY_DATE", "for gifts")
    assert no_month is None or no_month.rule != "APPLICATION_GIFT_BY_DATE"


def test_the_overlay_examples_pass(tmp_path: Path) -> None:
    result = cli("rules", "test", str(_overlay(tmp_path, OVERLAY)))
    assert (result.returncode, result.stdout.decode().strip().splitlines()[-1].endswith(" 0 failed")) == (0, True), result.stdout.decode()


def test_rules_show_expands_the_fragments(tmp_path: Path) -> None:
    result = cli("rules", "show", "pack_in_tubes", str(_overlay(tmp_path, OVERLAY)))
    out = result.stdout.decode()
    assert result.returncode == 0 and "overlay:en/packing.toml:12" in out and "gift\\s?tube" not in out
    assert "regex 0: \\b(?:kraft\\stube|paper\\stube|gift\\stube)\\b" in out and "regex = ['\\b{TUBE}\\b']" in out


def test_an_unknown_fragment_names_file_and_line(tmp_path: Path) -> None:
    root = _overlay(tmp_path, {"en/x.toml": '\n[[rule]]\nid = "X_RULE"\nitem = "specs"\ndescription = "x"\nregex = [\'{NO_SUCH} mm\']\n'})
    with pytest.raises(RulesError) as e:
        load(overlay=root)
    assert "overlay:en/x.toml:2 rule X_RULE [regex 0] unknown fragment {NO_SUCH} for 'en'" in str(e.value)


def test_an_unused_fragment_and_sub_rule_are_reported(tmp_path: Path) -> None:
    root = _overlay(tmp_path, {"en/x.toml": '[fragment]\nSPARE = \'\\d+\'\n\n[[rule]]\nid = "LONELY"\ndescription = "x"\nregex = [\'x\']\n'})
    result = cli("rules", "check", str(root))
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "overlay:en/x.toml:2 fragment SPARE is used by no rule" in out and "overlay:en/x.toml:4 sub-rule LONELY is read by no rule" in out


def test_a_rule_cannot_combine_a_rule_that_feeds_an_item(tmp_path: Path) -> None:
    root = _overlay(tmp_path, {"en/x.toml": '[[rule]]\nid = "X_ALL"\nitem = "specs"\ndescription = "x"\nall = ["SPECS_FIELD", "QTY_FIELD"]\n'})
    with pytest.raises(RulesError, match="SPECS_FIELD feeds specs; only a sub-rule"):
        load(overlay=root)


def test_a_shared_rule_reads_the_fragments_of_the_message_language() -> None:
    """The same written regex, expanded with each language's month names (CLDR): the shared base grows a language
    through that language's fragments."""
    engine = Engine(SHIPPED)
    es = engine.run({"text": "El embarque debe ser antes del 15 de setiembre."}, "es", DATE).findings["lead_time"]
    assert es.value == {"date": "2027-09-15", "days": 317}


def test_a_language_reads_the_english_rules_after_its_own() -> None:
    """Spanish mail with a platform card's English fields: the English field rule finds the quantity; a Spanish
    rule finds what the buyer typed; a vague word of the language is no value."""
    engine = Engine(SHIPPED)
    card = engine.run({"text": "Hola, precio por favor.\nQuantity Required: 500 Piece/Pieces"}, "es", DATE).findings
    typed = engine.run({"text": "Necesitamos 500 cajas.\nQuantity Required: 1 Piece/Pieces"}, "es", DATE).findings
    vague = engine.run({"text": "Material: personalizado"}, "es", DATE).findings
    assert (card["quantity"].value, typed["quantity"].value, vague.get("material")) == (
        {"amount": 500, "unit": "piece/pieces"}, {"amount": 500, "unit": "cajas"}, None)


def test_also_read_names_a_language_with_rules(tmp_path: Path) -> None:
    root = _overlay(tmp_path, {"xx/grammar.toml": 'also_read = ["yy"]\n[grammar]\nnegations = ["na"]\n'})
    with pytest.raises(RulesError, match="xx/ also_read: no rules of language 'yy'"):
        load(overlay=root)


def test_the_shipped_rules_have_no_unused_fragment_or_sub_rule() -> None:
    assert SHIPPED.notices == []


def test_shipped_regexes_are_short() -> None:
    """As written (fragments not expanded): the median regex at most 80 characters, none over 250."""
    lengths = [len(pattern) for _, pattern in regex_sources(SHIPPED)]
    long = [where for where, pattern in regex_sources(SHIPPED) if len(pattern) > 250]
    assert (statistics.median(lengths) <= 80, long) == (True, [])


def test_show_lists_a_combined_rule_and_its_sub_rules() -> None:
    text = show(SHIPPED, "LEAD_TIME_DELIVER_WITHIN")
    assert text is not None and "DELIVERY_WORD" in text and "WITHIN_DURATION" in text and "rules/en/lead_time.toml" in text


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_extractors_never_import_the_daemon() -> None:
    offending = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.split(".")[0] == "daemon")
                 for p in (ROOT / "extractors").rglob("*.py")}
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_core_package_imports_nothing_else_of_the_project() -> None:
    offending = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.split(".")[0] in ("daemon", "extractors")
                                                   and not m.startswith("extractors.core"))
                 for p in (ROOT / "extractors" / "core").rglob("*.py")}
    assert {k: v for k, v in offending.items() if v} == {}


def test_no_code_reads_private_stdlib_internals() -> None:
    """Neither the regex engine's parser nor any other private module of the standard library (email's header
    parser, ...): only their public interfaces."""
    private = ("sre_parse", "sre_compile", "sre_constants")
    stdlib = sys.stdlib_module_names
    found = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.split(".")[0] in private or (
                 m.split(".")[0] in stdlib and any(part.startswith("_") and part != "__future__" for part in m.split("."))))
             for folder in ("extractors", "daemon", "bench") for p in (ROOT / folder).rglob("*.py")}
    texts = [p for folder in ("extractors", "daemon", "bench") for p in (ROOT / folder).rglob("*.py")
             if "re._parser" in p.read_text(encoding="utf-8") or "sre_parse" in p.read_text(encoding="utf-8")]
    assert ({k: v for k, v in found.items() if v}, texts) == ({}, [])


def test_the_playbook_numbers_are_data(tmp_path: Path) -> None:
    """Strength points and the large-quantity threshold come from decisions.toml: a copy with other numbers
    changes the strength and its reasons."""
    from daemon.parse.message import parse
    from extractors.checklist import Extractor
    from extractors.core.model import MessageKey, RawMessage
    from extractors.policy import load_policy

    shipped = (ROOT / "rules" / "decisions.toml").read_text(encoding="utf-8")
    changed = tmp_path / "decisions.toml"
    changed.write_text(shipped.replace("large_quantity = 1000", "large_quantity = 100")
                       .replace('company = { points = 1, reason = "company named" }', 'company = { points = 3, reason = "a company" }'),
                       encoding="utf-8")
    mail = (b"From: Anna Berg <a.berg@nordlicht-handel.example>\r\nSubject: RFQ\r\n\r\nWe need 500 pcs.\r\n\r\n"
            b"Best regards,\r\nAnna Berg\r\nNordlicht Handel GmbH\r\n")
    parsed = parse(RawMessage(MessageKey("t", "INBOX", 1, 1), mail))
    before = Extractor(SHIPPED).extract(parsed)
    after = Extractor(SHIPPED, policy=load_policy(changed)).extract(parsed)
    assert (before.strength, before.strength_reasons) == ("medium", ("corporate sender domain (+2)", "company named (+1)"))
    assert (after.strength, after.strength_reasons) == ("high", ("corporate sender domain (+2)", "a company (+3)", "large quantity (+1)"))


def test_a_language_read_by_the_english_rules_keeps_their_findings(tmp_path: Path) -> None:
    """A language whose folder says `also_read = ["en"]` gets the English rules after its own (the English fields
    of a platform card in its mail), and a rule of its own that `replaces` an English one stands for it."""
    root = _overlay(tmp_path, {"xx/rules.toml": '''also_read = ["en"]

[[rule]]
id = "XX_MATERIAL"
item = "material"
description = "a material field whose label is also English"
regex = ['\\bMaterial:\\s?(?P<v>(?!libre)[a-z]{3,20})']
replaces = ["MATERIAL_FIELD"]
'''})
    engine = Engine(load(overlay=root))
    card = "Quantity Required: 300 Piece/Pieces"
    qty = engine.run({"text": card}, "xx", DATE).findings["quantity"]
    free = engine.run({"text": "Material: libre"}, "xx", DATE).findings.get("material")
    english = engine.run({"text": "Material: libre"}, "en", DATE).findings.get("material")
    english_ids = {r.id for r in load().rules["en"] if r.id not in load().shared}
    assert (qty.rule in english_ids, qty.value, free, english is not None) == (True, {"amount": 300, "unit": "piece/pieces"}, None, True)


def test_replaces_names_a_written_rule(tmp_path: Path) -> None:
    root = _overlay(tmp_path, {"xx/rules.toml": '''also_read = ["en"]

[[rule]]
id = "XX_MATERIAL"
item = "material"
description = "a material field"
regex = ['\\bMaterial:\\s?(?P<v>[a-z]{3,20})']
replaces = ["NO_SUCH_RULE"]
'''})
    with pytest.raises(RulesError, match="XX_MATERIAL \\[replaces\\] unknown rule 'NO_SUCH_RULE'"):
        load(overlay=root)
