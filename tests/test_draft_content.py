"""What a draft says: greetings from the buyer's signed name, the buyer's words echoed (unsure values marked, nothing
cut inside a word), upstream verdicts and lure signs holding a reply back, relays that are not customers, the
HTML part built from the text. One case per line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from daemon.assess import Decisions, assess, tags_for
from daemon.customer import buyer_address
from daemon.draft_html import Tables, to_html
from daemon.greeting import person_of
from daemon.parse.platforms import Platforms
from daemon.parse.quotes import split_reply
from daemon.requirements import check, cut_mid_word, show
from extractors import upstream
from extractors.core.model import ITEM_IDS, Checklist, Finding, MessageKey, ParsedMessage, Signal
from rules import __file__ as rules_init

RULES = Path(rules_init).parent
DECISIONS = Decisions.load(RULES / "decisions.toml")
KEY = MessageKey("sales", "INBOX", 1, 7)


def msg(body: str = "", from_name: str = "", from_addr: str = "buyer@example.com", **over: Any) -> ParsedMessage:
    new, sig, quoted = split_reply(body)
    base: dict[str, Any] = dict(key=KEY, message_id="<m@example.com>", subject="RFQ", from_name=from_name, from_addr=from_addr,
                                reply_to="", to=(), cc=(), date=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), in_reply_to="",
                                references=(), headers=(), text=new, signature=sig, quoted=quoted, full_text=body,
                                language="en", language_known=True, is_html_only=False)
    base.update(over)
    return ParsedMessage(**base)


GREETINGS = [
    ("signs-first-name", "Katrin Vogel", "Hello,\nplease quote.\nRegards, Katrin", ("Katrin", "Vogel", "", True)),
    ("signs-full-name", "Katrin Vogel", "Hello,\nplease quote.\n\nBest regards,\nKatrin Vogel\nPurchasing Manager", ("Katrin", "Vogel", "", False)),
    ("title-in-signature", "Nordlicht Handel GmbH", "Hi,\nplease quote.\n\nKind regards,\nMr. Klaus Weber\nBuyer", ("Klaus", "Weber", "m", False)),
    ("company-display-name", "Nordlicht Handel GmbH", "Hi,\nplease quote.", ("", "", "", False)),
    ("department-display-name", "Sales Dept", "send price list", ("", "", "", False)),
    ("lowercase-display-name", "jamilaal menhali", "Dear Sir,\nplease quote.", ("Jamilaal", "Menhali", "", False)),
    ("surname-in-capitals", "VOGEL Katrin", "Hi\nplease quote\nThanks\nKatrin", ("Katrin", "Vogel", "", True)),
    ("spanish-sign-off", "", "Hola, quiero cotización\nSaludos cordiales,\nSra. Ana Ruiz", ("Ana", "Ruiz", "f", False)),
    ("chinese-closing-not-a-name", "陈志远", "您好，\n请报价。\n\n此致\n敬礼\n陈志远\n采购经理", ("志远", "陈", "", False)),
    ("russian-patronymic", "Иван Петрович Сидоров", "Здравствуйте!\nПришлите цены.", ("Иван", "Сидоров", "", False)),
    ("device-footer-en", "Mike", "Hi,\nsend me your price list.\nThanks\n\nSent from my iPhone", ("Mike", "", "", False)),
    ("device-footer-outlook", "", "Hi,\nprice please.\nThanks\n\nGet Outlook for Android", ("", "", "", False)),
    ("device-footer-de", "", "Hallo,\nbitte Preisliste.\nDanke\n\nVon meinem Samsung Galaxy gesendet", ("", "", "", False)),
    ("device-footer-fr", "", "Bonjour,\nvos prix svp.\nMerci\n\nEnvoyé de mon iPhone", ("", "", "", False)),
    ("device-footer-es", "", "Hola,\nlista de precios.\nGracias\n\nEnviado desde mi móvil Huawei", ("", "", "", False)),
    ("device-footer-then-name", "", "Hi,\nprice please.\nThanks\nAnna Berg\n\nSent from my iPad", ("Anna", "Berg", "", False)),
]


@pytest.mark.parametrize(("from_name", "body", "expected"), [c[1:] for c in GREETINGS], ids=[c[0] for c in GREETINGS])
def test_person_of(from_name: str, body: str, expected: tuple[str, str, str, bool]) -> None:
    p = person_of(msg(body, from_name))
    assert (p.first, p.last, p.title, p.informal) == expected


def finding(item: str, text: str, evidence: str, conf: float = 0.8, value: Any = None) -> Finding:
    start = text.index(evidence)
    return Finding(item, value if value is not None else evidence, evidence, start, start + len(evidence), "T", conf)


SHOWN = [
    ("whole-words", "specs", "We need 150W flood lights, IP66.", "150W flood lights, IP66", 0.8, "150W flood lights, IP66", True),
    ("cut-inside-word", "material", "Housing: aluminium alloy.", "alumin", 0.8, "[[check: Housing: aluminium alloy]]", False),
    ("low-confidence", "destination", "Ship to Lagos please.", "Lagos", 0.4, "[[check: Ship to Lagos please]]", False),
    ("deposit-without-balance", "payment_terms", "We pay 30% deposit, 70% against B/L copy.", "30% deposit", 0.8,
     "[[check: We pay 30% deposit, 70% against B/L copy]]", False),
    ("labelled-line-whole", "payment_terms", "Payment: T/T 30% deposit, 70% before shipment\nThanks", "T/T 30% deposit", 0.8,
     "T/T 30% deposit, 70% before shipment", True),
    ("labelled-line-stops-at-sentence", "certification", "Certification: CE and RoHS are required. Please attach them.", "CE", 0.8,
     "CE and RoHS are required", True),
    ("two-quantities", "quantity", "500 pcs of model A and 300 pcs of model B", "500 pcs", 0.8,
     "[[check: 500 pcs of model A and 300 pcs of model B]]", False),
    ("one-word-spec-in-long-clause", "specs", "Stainless steel hinge 20mm thick with brushed finish", "20mm", 0.8,
     "[[check: Stainless steel hinge 20mm thick with brushed finish]]", False),
    ("one-word-city", "destination", "by sea, destination Houston, TX, USA", "Houston", 0.8, "Houston", True),
]


@pytest.mark.parametrize(("item", "text", "evidence", "conf", "expected", "sure"), [c[1:] for c in SHOWN], ids=[c[0] for c in SHOWN])
def test_show(item: str, text: str, evidence: str, conf: float, expected: str, sure: bool) -> None:
    shown = show(finding(item, text, evidence, conf), msg(text), "fallback", ("Payment", "Certification"))
    assert (shown.text, shown.sure) == (expected, sure)


def test_check_marker_never_holds_brackets_and_long_clauses_stop_between_words() -> None:
    assert check("a [b] c") == "[[check: a (b) c]]"
    text = "We need " + " ".join(f"word{i}" for i in range(60)) + " and 150W lights"
    shown = show(finding("specs", text, "150W"), msg(text), "x")
    inner = shown.text.removeprefix("[[check: ").removesuffix("]]")
    assert not shown.sure and len(inner) <= 150 and all(w.startswith(("word", "…", "and", "150W", "lights")) for w in inner.split())
    assert cut_mid_word("aluminium", 0, 5) and not cut_mid_word("an alloy", 3, 8)


VERDICTS = [
    ("spamassassin-flag", (("x-spam-flag", "YES"),), ["upstream_spam"]),
    ("spamassassin-status", (("x-spam-status", "Yes, score=9.1 required=5.0"),), ["upstream_spam"]),
    ("rspamd-header", (("x-spam", "Yes"),), ["upstream_spam"]),
    ("rspamd-extended", (("x-spamd-result", "default: True [12.30 / 15.00]"),), ["upstream_spam"]),
    ("rspamd-action-rewrite", (("x-rspamd-action", "rewrite subject"),), ["upstream_spam"]),
    ("rspamd-action-reject", (("x-rspamd-action", "reject"),), ["upstream_spam"]),
    ("rspamd-action-greylist", (("x-rspamd-action", "greylist"),), []),
    ("rspamd-extended-ham", (("x-spamd-result", "default: False [1.20 / 15.00]"),), []),
    ("dmarc-fail", (("authentication-results", "mx.example; spf=pass; dkim=none; dmarc=fail (p=reject)"),), ["upstream_auth_fail"]),
    ("received-spf-fail", (("received-spf", "Fail (mailfrom) identity=mailfrom"),), ["upstream_auth_fail"]),
    ("clean", (("x-spam-status", "No, score=-1.0"), ("authentication-results", "mx; spf=pass; dkim=pass; dmarc=pass")), []),
    ("softfail-is-not-a-verdict", (("authentication-results", "mx; spf=softfail"),), []),
]


@pytest.mark.parametrize(("headers", "expected"), [c[1:] for c in VERDICTS], ids=[c[0] for c in VERDICTS])
def test_upstream_verdicts(headers: tuple[tuple[str, str], ...], expected: list[str]) -> None:
    assert [s.name for s in upstream.verdicts(msg(headers=headers))] == expected


def checklist(yes: tuple[str, ...], signals: tuple[str, ...]) -> Checklist:
    items = tuple((i, Finding(i, f"v-{i}", i, 0, 1, "T", 0.9) if i in yes else None) for i in ITEM_IDS)
    return Checklist(KEY, "en", items, tuple(Signal(s, f"T_{s.upper()}", s) for s in signals), "medium")


CORE = ("specs", "quantity", "lead_time", "certification", "material", "payment_terms", "trade_terms", "destination", "packaging",
        "target_price", "company")
HELD = [
    ("order-with-portal", CORE, ("is_order", "risk_portal"), "verify"),
    ("order-with-card-payment", CORE, ("is_order", "risk_card_payment"), "verify"),
    ("payment-mail-with-bank-change", ("company",), ("payment_mail", "risk_bank_change"), "verify"),
    ("quote-with-upstream-spam", CORE, ("upstream_spam",), "verify"),
    ("price-request-with-lure", ("specs",), ("asks_price", "lure"), "verify"),
    ("sample-with-overpayment", CORE, ("sample_requested", "risk_overpayment"), "verify"),
    ("order-without-risk", CORE, ("is_order",), "order_confirmation"),
    ("questions-with-risk-sign-still-asked", CORE[:5], ("risk_freemail_order",), "follow_up_questions"),
    ("re-order-reference", CORE, ("refers_to_earlier_order",), "repeat_order"),
]


@pytest.mark.parametrize(("yes", "signals", "action"), [c[1:] for c in HELD], ids=[c[0] for c in HELD])
def test_no_commitment_to_a_lure(yes: tuple[str, ...], signals: tuple[str, ...], action: str) -> None:
    a = assess(checklist(yes, signals), DECISIONS)
    assert a.action == action, dict(a.reasons)["action"]
    if action == "verify" or any(s.startswith(("risk_", "upstream_")) for s in signals):
        assert "$Triage_Verify" in tags_for(a, DECISIONS)


PLATFORMS = Platforms.load(RULES / "platforms.toml")
IDENTITY = [
    ("person", {"from_addr": "k.vogel@nordlicht.example"}, "k.vogel@nordlicht.example"),
    ("web-form-reply-to", {"from_addr": "wordpress@shop.example", "reply_to": "ana@ruiz.example"}, "ana@ruiz.example"),
    ("web-form-field", {"from_addr": "forms@shop.example", "text": "Name: Ana Ruiz\nEmail: ana@ruiz.example\nMessage: quote 500 pcs"}, "ana@ruiz.example"),
    ("web-form-nothing", {"from_addr": "webform@shop.example", "text": "Message: quote 500 pcs"}, ""),
    ("form-service", {"from_addr": "no-reply@jotform.com", "reply_to": "joost@winkel.example"}, "joost@winkel.example"),
    ("own-site-form", {"from_addr": "info@brightway-power.example", "reply_to": "buyer@acme.example"}, "buyer@acme.example"),
    ("platform-notice", {"from_addr": "no-reply@notice.tradehub.example", "platform": "TradeHub"}, ""),
]


@pytest.mark.parametrize(("over", "expected"), [c[1:] for c in IDENTITY], ids=[c[0] for c in IDENTITY])
def test_customers_are_people_not_relays(over: dict[str, str], expected: str) -> None:
    m = msg(**{k: v for k, v in over.items() if k != "text"}, **({"text": over["text"]} if "text" in over else {}))
    assert buyer_address(m, PLATFORMS, ("brightway-power.example",)) == expected


def test_html_part_marks_placeholders_and_reads_right_to_left() -> None:
    tables = Tables()
    table = tables.add(["Product", "Price"], [["Lamp <b>", "[[unit price]]"]])
    text = f"Dear Ana,\n\nPrices:\n\n{table}\n\n- one\n- two\n\nValid [[validity]]."
    html = to_html(text, "ar", tables)
    assert 'dir="rtl"' in html and "<table" in html and "Lamp &lt;b&gt;" in html and "<ul>" in html
    assert html.count("<mark") == 2


FIXTURE = Path(__file__).parent / "fixtures" / "drafts" / "labelled.jsonl"  # written for these tests


def test_drafts_check_cli_holds_on_labelled_mail() -> None:
    from tests.clihelp import cli

    result = cli("drafts", "check", "--json", str(FIXTURE))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    import json

    figures = json.loads(result.stdout)
    assert figures["records"] == 4 and figures["invalid_committed"] == 0 and figures["drafts_in_another_language"] == 0
    assert figures["questions_for_given_items"] == 0 and figures["confirmed_values_cut"] == 0


def test_drafts_preview_cli_writes_a_page_per_message(tmp_path: Path) -> None:
    from daemon.demo import sample_files
    from tests.clihelp import cli

    folder = sample_files()[0].parent
    result = cli("drafts", "preview", str(folder), str(FIXTURE), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr.decode()
    pages = sorted(p.name for p in (tmp_path / "out").glob("*.html"))
    assert len(pages) == len(sample_files()) + 4 + 1 and "index.html" in pages
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "order_confirmation" in index and "range_quote" in index and "Demande de prix" in index
