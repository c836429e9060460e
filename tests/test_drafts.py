"""Drafts: golden files per action and language, RFC 5322 round trips, threading and header safety.

The golden files under tests/golden/<lang>/ are reviewed replies. After a deliberate template change, rewrite them
with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_drafts.py`, then read every changed file before committing.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from daemon import seller as seller_mod
from daemon.assess import Decisions, History, assess, tags_for
from daemon.drafting import (
    ACTIONS,
    TEMPLATE_LANGS,
    Drafter,
    check_templates,
    load_labels,
    make_environment,
    reply_subject,
    templates_dir,
)
from extractors.core.model import ITEM_IDS, Assessment, Checklist, Finding, MessageKey, ParsedMessage, Signal
from rules import __file__ as rules_init

RULES = Path(rules_init).parent
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NOW = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
KEY = MessageKey("sales", "INBOX", 1700000000, 42)
DECISIONS = Decisions.load(RULES / "decisions.toml")


def f(item: str, value: Any, evidence: str = "") -> Finding:
    return Finding(item, value, evidence or (value if isinstance(value, str) else item), 0, 1, f"TEST_{item.upper()}", 0.9)


FINDINGS = {
    "specs": f("specs", "150W, IP66, 5000K, 100-277V"),
    "quantity": f("quantity", {"amount": 2000, "unit": "pcs"}, "2,000 pcs"),
    "lead_time": f("lead_time", {"days": 45}, "within 45 days"),
    "certification": f("certification", ["CE", "RoHS"]),
    "material": f("material", "die-cast aluminium"),
    "payment_terms": f("payment_terms", {"terms": "T/T 30% deposit, 70% before shipment", "deposit_pct": 30}),
    "trade_terms": f("trade_terms", {"term": "FOB", "place": "Ningbo"}),
    "destination": f("destination", "Hamburg"),
    "packaging": f("packaging", "colour box, 10 pcs per carton"),
    "target_price": f("target_price", {"amount": 18.5, "currency": "USD", "per": "unit"}),
    "customization": f("customization", "logo printing"),
    "sample": f("sample", "2 samples"),
    "company": f("company", "Nordlicht Handel GmbH"),
    "contact": f("contact", "Katrin Vogel, Purchasing Manager"),
    "application": f("application", "warehouse lighting"),
    "purchase_plan": f("purchase_plan", "12,000 pcs per year"),
    "shipping": f("shipping", "by sea"),
    "quality_inspection": f("quality_inspection", "AQL 2.5"),
}


# What a Chinese or Spanish buyer would have written (values are the buyer's own words).
LOCAL = {
    "zh": {
        "specs": f("specs", "150W，IP66，5000K，100-277V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "台"}, "2000台"),
        "lead_time": f("lead_time", {"days": 45}, "45天内"),
        "material": f("material", "压铸铝"),
        "payment_terms": f("payment_terms", {"terms": "30%定金，70%出货前付清", "deposit_pct": 30}),
        "trade_terms": f("trade_terms", {"term": "FOB", "place": "宁波"}),
        "destination": f("destination", "汉堡"),
        "packaging": f("packaging", "彩盒，每箱10台"),
        "sample": f("sample", "2个样品"),
    },
    "es": {
        "specs": f("specs", "150 W, IP66, 5000 K, 100-277 V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "unidades"}, "2.000 unidades"),
        "lead_time": f("lead_time", {"days": 45}, "en 45 días"),
        "material": f("material", "aluminio inyectado"),
        "payment_terms": f("payment_terms", {"terms": "30 % de anticipo, 70 % antes del embarque", "deposit_pct": 30}),
        "trade_terms": f("trade_terms", {"term": "FOB", "place": "Ningbo"}),
        "destination": f("destination", "Valparaíso"),
        "packaging": f("packaging", "caja de color, 10 unidades por caja"),
        "sample": f("sample", "2 muestras"),
    },
    "fr": {
        "specs": f("specs", "150 W, IP66, 5000 K, 100-277 V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "pièces"}, "2 000 pièces"),
        "lead_time": f("lead_time", {"days": 45}, "sous 45 jours"),
        "material": f("material", "aluminium moulé sous pression"),
        "payment_terms": f("payment_terms", {"terms": "30 % d'acompte, 70 % avant expédition", "deposit_pct": 30}),
        "destination": f("destination", "Marseille"),
        "packaging": f("packaging", "boîte couleur, 10 pièces par carton"),
        "sample": f("sample", "2 échantillons"),
    },
    "de": {
        "specs": f("specs", "150 W, IP66, 5000 K, 100-277 V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "Stück"}, "2.000 Stück"),
        "lead_time": f("lead_time", {"days": 45}, "innerhalb von 45 Tagen"),
        "material": f("material", "Aluminium-Druckguss"),
        "payment_terms": f("payment_terms", {"terms": "30 % Anzahlung, 70 % vor Verschiffung", "deposit_pct": 30}),
        "destination": f("destination", "Hamburg"),
        "packaging": f("packaging", "Farbkarton, 10 Stück pro Umkarton"),
        "sample": f("sample", "2 Muster"),
    },
    "pt": {
        "specs": f("specs", "150 W, IP66, 5000 K, 100-277 V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "peças"}, "2.000 peças"),
        "lead_time": f("lead_time", {"days": 45}, "em até 45 dias"),
        "material": f("material", "alumínio fundido sob pressão"),
        "payment_terms": f("payment_terms", {"terms": "30% de sinal, 70% antes do embarque", "deposit_pct": 30}),
        "destination": f("destination", "Santos"),
        "packaging": f("packaging", "caixa colorida, 10 peças por caixa"),
        "sample": f("sample", "2 amostras"),
    },
    "ru": {
        "specs": f("specs", "150 Вт, IP66, 5000 K, 100-277 В"),
        "quantity": f("quantity", {"amount": 2000, "unit": "шт."}, "2000 шт."),
        "lead_time": f("lead_time", {"days": 45}, "в течение 45 дней"),
        "material": f("material", "литой алюминий"),
        "payment_terms": f("payment_terms", {"terms": "30 % предоплата, 70 % до отгрузки", "deposit_pct": 30}),
        "destination": f("destination", "Новороссийск"),
        "packaging": f("packaging", "цветная коробка, 10 шт. в коробе"),
        "sample": f("sample", "2 образца"),
    },
    "ar": {
        "specs": f("specs", "150 واط، IP66، 5000 كلفن"),
        "quantity": f("quantity", {"amount": 2000, "unit": "قطعة"}, "2000 قطعة"),
        "lead_time": f("lead_time", {"days": 45}, "خلال 45 يومًا"),
        "material": f("material", "ألمنيوم مصبوب"),
        "payment_terms": f("payment_terms", {"terms": "30% دفعة مقدمة و70% قبل الشحن", "deposit_pct": 30}),
        "destination": f("destination", "جدة"),
        "packaging": f("packaging", "علبة ملونة، 10 قطع في الكرتونة"),
        "sample": f("sample", "عينتان"),
    },
    "tr": {
        "specs": f("specs", "150 W, IP66, 5000 K, 100-277 V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "adet"}, "2.000 adet"),
        "lead_time": f("lead_time", {"days": 45}, "45 gün içinde"),
        "material": f("material", "basınçlı döküm alüminyum"),
        "payment_terms": f("payment_terms", {"terms": "%30 peşin, %70 sevkiyattan önce", "deposit_pct": 30}),
        "destination": f("destination", "Mersin"),
        "packaging": f("packaging", "renkli kutu, kolide 10 adet"),
        "sample": f("sample", "2 numune"),
    },
    "it": {
        "specs": f("specs", "150 W, IP66, 5000 K, 100-277 V"),
        "quantity": f("quantity", {"amount": 2000, "unit": "pezzi"}, "2.000 pezzi"),
        "lead_time": f("lead_time", {"days": 45}, "entro 45 giorni"),
        "material": f("material", "alluminio pressofuso"),
        "payment_terms": f("payment_terms", {"terms": "30% di anticipo, 70% prima della spedizione", "deposit_pct": 30}),
        "destination": f("destination", "Genova"),
        "packaging": f("packaging", "scatola a colori, 10 pezzi per cartone"),
        "sample": f("sample", "2 campioni"),
    },
}


def finding(item: str, lang: str) -> Finding:
    return LOCAL.get(lang, {}).get(item) or FINDINGS[item]


def checklist(yes: list[str], signals: tuple[str, ...] = (), lang: str = "en", strength: str = "medium") -> Checklist:
    items = tuple((i, finding(i, lang) if i in yes else None) for i in ITEM_IDS)
    sigs = tuple(Signal(s, f"TEST_{s.upper()}", f"test signal {s}") for s in signals)
    return Checklist(KEY, lang, items, sigs, strength)


BODY = {
    "en": "Hello,\nplease quote your LED flood light 150W.\nRegards, Katrin",
    "zh": "您好，\n请报 150W LED 投光灯的价格。\n谢谢！",
    "es": "Buenos días:\nnecesitamos cotización de focos LED 150W.\nSaludos, Katrin",
    "fr": "Bonjour,\nmerci de nous faire une offre pour votre projecteur LED 150W.\nCordialement,\nKatrin Vogel",
    "de": "Guten Tag,\nbitte senden Sie uns ein Angebot für Ihren LED-Fluter 150W.\nMit freundlichen Grüßen\nKatrin Vogel",
    "pt": "Bom dia,\ngostaria de um orçamento do refletor LED 150W.\nAtenciosamente,\nKatrin Vogel",
    "ru": "Здравствуйте!\nПришлите, пожалуйста, цену на светодиодный прожектор 150W.\nС уважением,\nКатрин Фогель",
    "ar": "مرحبًا،\nنرجو إرسال عرض سعر لكشاف LED بقدرة 150W.\nمع التحية،\nKatrin Vogel",
    "tr": "Merhaba,\n150W LED projektörünüz için fiyat teklifi rica ederiz.\nSaygılarımızla,\nKatrin Vogel",
    "it": "Buongiorno,\nvorremmo un preventivo per il vostro proiettore LED 150W.\nCordiali saluti,\nKatrin Vogel",
}
SUBJECT = {"en": "RFQ: LED flood light 150W", "zh": "询价：150W LED 投光灯", "es": "Cotización: foco LED 150W",
           "fr": "Demande de prix : projecteur LED 150W", "de": "Anfrage: LED-Fluter 150W", "pt": "Orçamento: refletor LED 150W",
           "ru": "Запрос: прожектор LED 150W", "ar": "طلب عرض سعر: كشاف LED 150W", "tr": "Teklif talebi: LED projektör 150W",
           "it": "Richiesta di preventivo: proiettore LED 150W"}
CORE9 = ["specs", "quantity", "lead_time", "certification", "material", "payment_terms", "trade_terms", "destination", "packaging"]
LAST_ORDER = {
    "specs": FINDINGS["specs"].as_json(),
    "quantity": {**FINDINGS["quantity"].as_json(), "value": {"amount": 1000, "unit": "pcs"}},
    "certification": {**FINDINGS["certification"].as_json(), "value": ["CE"]},
    "packaging": FINDINGS["packaging"].as_json(),
}
# action -> (yes items, signals, history): one fixed input per action
SCENARIOS: dict[str, tuple[list[str], tuple[str, ...], History]] = {
    "catalogue_reply": (["specs"], ("price_only", "asks_catalogue", "asks_shipping_cost"), History()),
    "follow_up_questions": (["specs", "quantity", "trade_terms", "destination", "company"], ("asks_moq", "asks_oem"), History()),
    "precise_quote": (CORE9 + ["company", "contact"], ("asks_price", "asks_payment", "asks_warranty"), History()),
    "range_quote": (["specs"], ("declines_to_clarify", "price_only", "asks_certificates"), History()),
    "sample_accept": (["specs", "quantity", "lead_time", "certification", "sample", "company", "contact"],
                      ("sample_requested", "asks_price", "asks_lead_time"), History()),
    "sample_decline": (["sample", "destination"], ("sample_requested", "price_only", "asks_samples", "asks_price"), History()),
    "nurture": (["specs"], (), History(previous_inquiries=2)),
    "order_confirmation": (
        ["specs", "quantity", "lead_time", "certification", "payment_terms", "trade_terms", "destination", "company", "contact"],
        ("is_order",), History(previous_inquiries=3, high_change_risk=True),
    ),
    "repeat_order": (
        ["specs", "quantity", "lead_time", "certification", "packaging", "company", "contact"], ("refers_to_earlier_order",),
        History(previous_inquiries=1, has_order=True, last_order=LAST_ORDER),
    ),
}


def message(lang: str = "en", **over: Any) -> ParsedMessage:
    base: dict[str, Any] = dict(
        key=KEY, message_id="<rfq-2026-11@nordlicht-handel.example>", subject=SUBJECT[lang],
        from_name="Katrin Vogel", from_addr="k.vogel@nordlicht-handel.example", reply_to="",
        to=("sales@brightway-power.example",), cc=(), date=dt.datetime(2026, 11, 19, 9, 15, tzinfo=dt.UTC),
        in_reply_to="<q-1@brightway-power.example>", references=("<q-0@brightway-power.example>", "<q-1@brightway-power.example>"),
        headers=(), text=BODY[lang], signature="", quoted="", full_text=BODY[lang], language=lang, language_known=True,
        is_html_only=False,
    )
    base.update(over)
    return ParsedMessage(**base)


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    env = make_environment([templates_dir()])
    check_templates(env)
    return Drafter(seller_mod.load(), load_labels(RULES), env)


def last_order(lang: str) -> dict[str, Any]:
    qty = finding("quantity", lang).as_json()
    return {**LAST_ORDER, "specs": finding("specs", lang).as_json(), "packaging": finding("packaging", lang).as_json(),
            "quantity": {**qty, "value": {**qty["value"], "amount": 1000}}}


def scenario(action: str, lang: str) -> Assessment:
    yes, signals, history = SCENARIOS[action]
    if history.last_order:
        history = History(history.previous_inquiries, True, history.high_change_risk, last_order(lang))
    a = assess(checklist(yes, signals, lang), DECISIONS, history)
    assert a.action == action, dict(a.reasons)["action"]
    return a


def parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> dict[str, str]:
    out = {}
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name:
            out["attachment:" + name] = part.get_content() if part.get_content_maintype() == "text" else "<binary>"
        else:
            out[part.get_content_subtype()] = part.get_content()
    return out


def compare(path: Path, actual: str) -> None:
    actual = actual.replace("\r\n", "\n")
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} is missing; create it with UPDATE_GOLDEN=1 and review it", pytrace=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{path} differs; if the change is intended: UPDATE_GOLDEN=1"


CASES = [(action, lang) for lang in TEMPLATE_LANGS for action in ACTIONS]


@pytest.mark.parametrize(("action", "lang"), CASES, ids=[f"{lang}-{action}" for action, lang in CASES])
def test_golden(drafter: Drafter, action: str, lang: str) -> None:
    draft = drafter.draft(message(lang), scenario(action, lang), "rules-test", now=NOW)
    assert draft is not None and draft.action == action
    msg = parse(draft.data)
    got = parts(msg)
    compare(GOLDEN / lang / f"{action}.txt", got["plain"])
    compare(GOLDEN / lang / f"{action}.html", got["html"])
    for name, content in got.items():
        if name.startswith("attachment:") and content != "<binary>":
            compare(GOLDEN / lang / f"{action}.{name.split(':', 1)[1]}", content)
    assert "[[" not in got["plain"].split("\n")[0], "the greeting must not be a placeholder"


@pytest.mark.parametrize(("action", "lang"), CASES, ids=[f"{lang}-{action}" for action, lang in CASES])
def test_draft_parses_and_threads(drafter: Drafter, action: str, lang: str) -> None:
    draft = drafter.draft(message(lang), scenario(action, lang), "rules-test", now=NOW)
    assert draft is not None
    msg = parse(draft.data)
    assert msg["From"].addresses[0].addr_spec == "sales@brightway-power.example"
    assert msg["To"].addresses[0].addr_spec == "k.vogel@nordlicht-handel.example"
    assert msg["Subject"] == f"Re: {SUBJECT[lang]}"
    assert msg["In-Reply-To"] == "<rfq-2026-11@nordlicht-handel.example>"
    assert msg["References"].split() == ["<q-0@brightway-power.example>", "<q-1@brightway-power.example>",
                                         "<rfq-2026-11@nordlicht-handel.example>"]
    assert msg["Message-ID"] == draft.message_id and msg["Message-ID"].startswith("<triage.")
    assert msg["Date"] is not None
    body = parts(msg)
    assert "> " in body["plain"] and "<blockquote" in body["html"]  # the original is quoted below
    text = draft.data.decode("utf-8", "replace")
    for internal in ("tier", "Tier", "priority", "clarity", "fast_track", "TEST_", "$Priority", action):
        assert internal not in text, f"internal word {internal!r} leaked into the draft"


def test_message_id_is_deterministic(drafter: Drafter) -> None:
    a = scenario("precise_quote", "en")
    one = drafter.draft(message(), a, "rules-1", now=NOW)
    two = drafter.draft(message(), a, "rules-1", now=NOW)
    other = drafter.draft(message(), a, "rules-2", now=NOW)
    assert one and two and other
    assert one.message_id == two.message_id != other.message_id


def test_attachments(drafter: Drafter) -> None:
    cat = parse(drafter.draft(message(), scenario("catalogue_reply", "en"), "r", now=NOW).data)  # type: ignore[union-attr]
    pdf = [p for p in cat.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdf) == 1 and pdf[0].get_content().startswith(b"%PDF-1.")
    sample = parse(drafter.draft(message(), scenario("sample_accept", "en"), "r", now=NOW).data)  # type: ignore[union-attr]
    forms = [p for p in sample.iter_attachments() if p.get_filename() == "sample-confirmation-form.txt"]
    assert len(forms) == 1 and "Signature" in forms[0].get_content() and "2,000 pcs" in forms[0].get_content()


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("RFQ", "Re: RFQ"), ("Re: RFQ", "Re: RFQ"), ("RE: Re: AW: RFQ", "Re: RFQ"), ("回复：询价", "Re: 询价"),
     ("Re[2]: RFQ", "Re: RFQ"), ("", "Re: your inquiry"), ("RFQ\r\nBcc: x@y.example", "Re: RFQ Bcc: x@y.example"),
     ("a\x00b\u2028c", "Re: a b c")],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


HOSTILE = [
    {"from_name": "Evil\r\nBcc: victim@evil.example"},
    {"from_name": "Evil\nBcc: victim@evil.example", "subject": "RFQ\nBcc: victim@evil.example"},
    {"subject": "RFQ\r\nBcc: victim@evil.example\r\n\r\n<script>alert(1)</script>"},
    {"from_name": "<script>alert('x')</script>", "text": "<script>alert('x')</script> 150W flood light"},
    {"reply_to": "x@evil.example\r\nBcc: victim@evil.example"},
]


@pytest.mark.parametrize("over", HOSTILE, ids=["name-crlf", "name-lf-subject-lf", "subject-crlf-script", "script", "reply-to-crlf"])
def test_hostile_input_cannot_leak(drafter: Drafter, over: dict[str, str]) -> None:
    draft = drafter.draft(message("en", **over), scenario("precise_quote", "en"), "r", now=NOW)
    assert draft is not None
    msg = parse(draft.data)
    assert "Bcc" not in msg and "bcc" not in {k.lower() for k in msg.keys()}
    assert sorted(k.lower() for k in msg.keys()) == sorted(
        ["from", "to", "subject", "date", "message-id", "in-reply-to", "references", "mime-version", "content-type"]
    )
    assert len(msg["To"].addresses) == 1 and msg["To"].addresses[0].addr_spec in (
        "k.vogel@nordlicht-handel.example", "x@evil.example")
    head = draft.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\nBcc:" not in head
    html = parts(msg)["html"]
    assert "<script" not in html
    if "<script>" in over.get("text", "") + over.get("from_name", ""):
        assert "&lt;script&gt;" in html


def test_platform_inquiry_has_no_recipient_and_no_reply_is_never_used(drafter: Drafter) -> None:
    a = scenario("precise_quote", "en")
    d = drafter.draft(message(platform="TradeHub", from_addr="no-reply@notice.tradehub.example"), a, "r", now=NOW)
    assert d is not None and d.to == "" and parse(d.data)["To"] is None
    d = drafter.draft(message(from_addr="noreply@shop.example", reply_to="buyer@shop.example"), a, "r", now=NOW)
    assert d is not None and d.to == "buyer@shop.example"
    d = drafter.draft(message(from_addr="noreply@shop.example"), a, "r", now=NOW)
    assert d is not None and d.to == ""


def test_language_falls_back_to_english(drafter: Drafter) -> None:
    """A buyer writing a language without templates (here Dutch) gets the English reply."""
    text = "Goedemiddag,\nwij zoeken een leverancier van LED schijnwerpers voor onze winkels in Nederland.\nMet vriendelijke groet, Joost"
    a = assess(checklist(CORE9, lang="nl"), DECISIONS)
    d = drafter.draft(message("en", language="nl", text=text, full_text=text), a, "r", now=NOW)
    plain = parts(parse(d.data))["plain"] if d else ""
    assert "Quoted on the basis of the following requirements" in plain and plain.startswith("Dear Joost,")


def test_no_draft_for_invalid_or_auto_reply(drafter: Drafter) -> None:
    for sig, tag in (("invalid", "$Triage_Invalid"), ("auto_reply", "$Triage_NoReply")):
        a = assess(checklist(CORE9, (sig,)), DECISIONS)
        assert drafter.draft(message(), a, "r", now=NOW) is None
        assert tags_for(a, DECISIONS) == [tag]


def test_repeat_order_lists_changes(drafter: Drafter) -> None:
    a = scenario("repeat_order", "en")
    assert [c[0] for c in a.changes] == ["quantity", "lead_time", "certification"]
    text = parts(parse(drafter.draft(message(), a, "r", now=NOW).data))["plain"]  # type: ignore[union-attr]
    assert "Quantity: 1,000 pcs -> 2,000 pcs" in text and "Certification: CE -> CE, RoHS" in text
    assert "Lead time: not specified -> within 45 days" in text


def test_range_quote_preconditions_come_from_the_catalogue(drafter: Drafter) -> None:
    text = parts(parse(drafter.draft(message(), scenario("range_quote", "en"), "r", now=NOW).data))["plain"]  # type: ignore[union-attr]
    assert ("with our standard material (die-cast aluminium housing, tempered glass) and CE, RoHS, ENEC certification, "
            "unit price USD 21.00-23.50") in text
    d = drafter.draft(message(subject="Your price", text="just send your price"), scenario("range_quote", "en"), "r", now=NOW)
    assert d is not None and "[[not in our catalogue: with standard material and certification, unit price range]]" in parts(parse(d.data))["plain"]


def test_every_template_names_its_variables() -> None:
    for path in sorted(templates_dir().glob("*/*.j2")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("{#") and ("Variables" in first or "variables" in first or "Shared" in first), path


def test_long_subject_is_not_folded_into_a_leading_space(drafter: Drafter) -> None:
    subject = "RFQ: LED flood light 150W, 2,000 pcs, FOB Ningbo - Nordlicht Handel GmbH"
    d = drafter.draft(message(subject=subject), scenario("precise_quote", "en"), "r", now=NOW)
    assert d is not None
    assert parse(d.data)["Subject"] == f"Re: {subject}"
    assert all(len(line) <= 998 for line in d.data.split(b"\r\n"))
    body_lines = d.data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert max(len(line) for line in body_lines) <= 78
