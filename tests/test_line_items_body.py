"""Line items from the message body: lists, prose, text and HTML tables and platform cards in the ten languages, one
case a line, through the real parse stage and extractor; near misses that must give no line item or no wrong split;
and `explain --json` on a few messages through the real CLI."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from daemon import config as config_mod
from daemon.assess import assess
from daemon.parse.message import parse
from daemon.toolkit import Toolkit, load_toolkit
from extractors.body_items import load_words
from extractors.core.errors import RulesError
from extractors.core.model import Checklist, LineItem, MessageKey, ParsedMessage, RawMessage
from extractors.normalise import Context
from tests.clihelp import cli

# A row: (product, model, parameters, quantity, amount, unit, target price)
Row = tuple[str, str, str, str, float | None, str, str]

# (id, body, rows expected, in order)
CASES: list[tuple[str, str, list[Row]]] = [
    # numbered and bulleted lists
    ("en-numbered", "Please quote:\n1. LED panel 600x600 40W - 500 pcs\n2. LED tube T8 18W 1200mm - 2000 pcs\n"
     "3. Downlight DL-6 12W - 300 pcs, target USD 2.5/pc",
     [("LED panel", "", "600x600 40W", "500 pcs", 500, "pcs", ""),
      ("LED tube", "T8", "18W 1200mm", "2000 pcs", 2000, "pcs", ""),
      ("Downlight", "DL-6", "12W", "300 pcs", 300, "pcs", "USD 2.5/pc")]),
    ("en-dashes", "Hi,\n- 200 sets of Model X-12, 220V\n- 3000 pcs bamboo toothbrush, target USD 0.12/pc\nThanks",
     [("X-12", "", "220V", "200 sets", 200, "sets", ""),
      ("bamboo toothbrush", "", "", "3000 pcs", 3000, "pcs", "USD 0.12/pc")]),
    ("en-bullets", "Our needs this quarter:\n• 3000 pcs bamboo toothbrush, target USD 0.12/pc\n• 1500 pcs travel case",
     [("bamboo toothbrush", "", "", "3000 pcs", 3000, "pcs", "USD 0.12/pc"),
      ("travel case", "", "", "1500 pcs", 1500, "pcs", "")]),
    ("en-parenthesised", "We'd like a quotation for:\n(1) Ceramic mug 350ml white, 1200 pcs\n(2) Glass tumbler 250ml, 800 pcs @ USD 0.55",
     [("Ceramic mug", "", "350ml white", "1200 pcs", 1200, "pcs", ""),
      ("Glass tumbler", "", "250ml", "800 pcs", 800, "pcs", "USD 0.55")]),
    ("en-unit-first", "Requirements:\n1) 40W LED high bay - 100 pcs\n2) 150W LED flood light - 60 pcs",
     [("LED high bay", "", "40W", "100 pcs", 100, "pcs", ""),
      ("LED flood light", "", "150W", "60 pcs", 60, "pcs", "")]),
    ("en-sample-in-line", "Order list:\n1. Yoga mat 6mm - 800 pcs, 2 samples first\n2. Resistance band set - 400 sets",
     [("Yoga mat", "", "6mm", "800 pcs", 800, "pcs", ""),
      ("Resistance band set", "", "", "400 sets", 400, "sets", "")]),
    ("en-one-line-list", "Please quote the following:\n- Stainless steel lunch box 1200ml, 2500 pcs",
     [("Stainless steel lunch box", "", "1200ml", "2500 pcs", 2500, "pcs", "")]),
    ("en-codes-only", "Please quote these spare parts:\n1. Bearing 6204-2RS\n2. Oil seal TC-35x52\n3. V-belt B-42",
     [("Bearing", "6204-2RS", "", "", None, "", ""), ("Oil seal", "TC-35x52", "", "", None, "", ""),
      ("V-belt", "B-42", "", "", None, "", "")]),
    ("zh-numbered", "您好，请报价：\n1、LED筒灯 12W 500个\n2、LED面板灯 600x600 200个",
     [("LED筒灯", "", "12W", "500个", 500, "个", ""), ("LED面板灯", "", "600x600", "200个", 200, "个", "")]),
    ("zh-dashes", "采购清单：\n- 不锈钢保温杯 500ml 1000只\n- 玻璃水杯 300ml 2000只，目标价 USD 1.2",
     [("不锈钢保温杯", "", "500ml", "1000只", 1000, "只", ""),
      ("玻璃水杯", "", "300ml", "2000只", 2000, "只", "USD 1.2")]),
    ("es-list", "Estimados:\n1. Silla de oficina ergonómica - 150 unidades\n2. Escritorio de melamina 120x60 cm - 80 unidades",
     [("Silla de oficina ergonómica", "", "", "150 unidades", 150, "unidades", ""),
      ("Escritorio de melamina", "", "120x60 cm", "80 unidades", 80, "unidades", "")]),
    ("fr-list", "Bonjour,\n- 500 pièces de lampe de bureau LED 8W\n- 200 pièces de lampadaire 25W, prix cible 12 EUR",
     [("lampe de bureau LED", "", "8W", "500 pièces", 500, "pièces", ""),
      ("lampadaire", "", "25W", "200 pièces", 200, "pièces", "12 EUR")]),
    ("de-list", "Guten Tag,\n1. Edelstahl-Thermosflasche 750ml - 600 Stück\n2. Brotdose aus Bambus - 400 Stück",
     [("Edelstahl-Thermosflasche", "", "750ml", "600 Stück", 600, "stück", ""),
      ("Brotdose aus Bambus", "", "", "400 Stück", 400, "stück", "")]),
    ("pt-list", "Prezados,\n• Cadeira plástica empilhável - 1000 peças\n• Mesa dobrável 180 cm - 120 peças",
     [("Cadeira plástica empilhável", "", "", "1000 peças", 1000, "peças", ""),
      ("Mesa dobrável", "", "180 cm", "120 peças", 120, "peças", "")]),
    ("it-list", "Buongiorno,\n1. Piastrella in gres 60x60 - 900 pezzi\n2. Battiscopa in legno - 300 pezzi",
     [("Piastrella in gres", "", "60x60", "900 pezzi", 900, "pezzi", ""),
      ("Battiscopa in legno", "", "", "300 pezzi", 300, "pezzi", "")]),
    ("ru-list", "Здравствуйте,\n1. Светодиодная панель 36W - 400 шт\n2. Прожектор 100W - 120 шт",
     [("Светодиодная панель", "", "36W", "400 шт", 400, "шт", ""), ("Прожектор", "", "100W", "120 шт", 120, "шт", "")]),
    ("tr-list", "Merhaba,\n1. Çelik termos 500ml - 700 adet\n2. Cam kavanoz 1L - 1500 adet",
     [("Çelik termos", "", "500ml", "700 adet", 700, "adet", ""), ("Cam kavanoz", "", "1L", "1500 adet", 1500, "adet", "")]),
    ("ar-list", "مرحبا،\n- مصباح LED 9W - 500 قطعة\n- كشاف 50W - 100 قطعة",
     [("مصباح LED", "", "9W", "500 قطعة", 500, "قطعة", ""), ("كشاف", "", "50W", "100 قطعة", 100, "قطعة", "")]),
    # prose with several products
    ("en-prose-of", "Hello, we need 500 pcs of solar street lights and 200 pcs of garden lamps.",
     [("solar street lights", "", "", "500 pcs", 500, "pcs", ""), ("garden lamps", "", "", "200 pcs", 200, "pcs", "")]),
    ("en-prose-three", "Please quote 300 sets of camping chairs, 150 sets of folding tables and 80 sets of tents.",
     [("camping chairs", "", "", "300 sets", 300, "sets", ""), ("folding tables", "", "", "150 sets", 150, "sets", ""),
      ("tents", "", "", "80 sets", 80, "sets", "")]),
    ("en-prose-product-first", "We need LED panels 40W 500 pcs and LED tubes 18W 200 pcs.",
     [("LED panels", "", "40W", "500 pcs", 500, "pcs", ""), ("LED tubes", "", "18W", "200 pcs", 200, "pcs", "")]),
    ("zh-prose", "请报价：LED筒灯 500个，LED面板灯 200个。",
     [("LED筒灯", "", "", "500个", 500, "个", ""), ("LED面板灯", "", "", "200个", 200, "个", "")]),
    ("zh-prose-list-mark", "我们需要：保温杯 300只、水杯 500只。",
     [("保温杯", "", "", "300只", 300, "只", ""), ("水杯", "", "", "500只", 500, "只", "")]),
    ("es-prose-bare", "Necesitamos 500 unidades de paneles LED y 200 de tubos T8.",
     [("paneles LED", "", "", "500 unidades", 500, "unidades", ""), ("tubos", "T8", "", "200", 200, "unidades", "")]),
    ("fr-prose", "Nous avons besoin de 1000 pièces de tasses en céramique et 500 pièces d'assiettes.",
     [("tasses en céramique", "", "", "1000 pièces", 1000, "pièces", ""), ("assiettes", "", "", "500 pièces", 500, "pièces", "")]),
    ("de-prose", "Wir benötigen 300 Stück Schreibtischlampen und 150 Stück Stehlampen.",
     [("Schreibtischlampen", "", "", "300 Stück", 300, "stück", ""), ("Stehlampen", "", "", "150 Stück", 150, "stück", "")]),
    ("pt-prose", "Precisamos de 400 peças de cadeiras e 100 peças de mesas.",
     [("cadeiras", "", "", "400 peças", 400, "peças", ""), ("mesas", "", "", "100 peças", 100, "peças", "")]),
    ("it-prose", "Ci servono 600 pezzi di bicchieri e 200 pezzi di piatti.",
     [("bicchieri", "", "", "600 pezzi", 600, "pezzi", ""), ("piatti", "", "", "200 pezzi", 200, "pezzi", "")]),
    ("ru-prose", "Нам нужно 500 шт. светильников и 200 шт. прожекторов.",
     [("светильников", "", "", "500 шт.", 500, "шт.", ""), ("прожекторов", "", "", "200 шт.", 200, "шт.", "")]),
    ("tr-prose", "500 adet LED panel ve 300 adet LED tüp istiyoruz.",
     [("LED panel", "", "", "500 adet", 500, "adet", ""), ("LED tüp", "", "", "300 adet", 300, "adet", "")]),
    ("ar-prose", "نحتاج 500 قطعة من المصابيح و300 قطعة من الكشافات",
     [("المصابيح", "", "", "500 قطعة", 500, "قطعة", ""), ("الكشافات", "", "", "300 قطعة", 300, "قطعة", "")]),
    # text tables
    ("en-pipe-table", "Please quote:\n| Product | Model | Qty | Target price |\n|---|---|---|---|\n"
     "| LED bulb 9W | B-9 | 5000 pcs | USD 0.45 |\n| LED bulb 12W | B-12 | 3000 pcs | USD 0.60 |",
     [("LED bulb 9W", "B-9", "", "5000 pcs", 5000, "pcs", "USD 0.45"), ("LED bulb 12W", "B-12", "", "3000 pcs", 3000, "pcs", "USD 0.60")]),
    ("de-tab-table", "Anfrage:\nBezeichnung\tMenge\tEinheit\nKabeltrommel 25m\t200\tStück\nVerlängerungskabel 5m\t600\tStück",
     [("Kabeltrommel 25m", "", "", "200 Stück", 200, "stück", ""), ("Verlängerungskabel 5m", "", "", "600 Stück", 600, "stück", "")]),
    ("zh-pipe-table", "产品名称 | 数量 | 目标价\n太阳能路灯 60W | 300套 | USD 85\n太阳能庭院灯 | 500套 | USD 20",
     [("太阳能路灯 60W", "", "", "300套", 300, "套", "USD 85"), ("太阳能庭院灯", "", "", "500套", 500, "套", "USD 20")]),
    # cards
    ("en-card", "Product Name: Stainless steel water bottle 750ml\nQuantity: 2000 pcs\nTarget Price: USD 3.20\nDestination: Hamburg",
     [("Stainless steel water bottle 750ml", "", "", "2000 pcs", 2000, "pcs", "USD 3.20")]),
    ("en-two-cards", "Product: Solar panel 400W\nQuantity: 100 pcs\n\nProduct: Inverter 5kW\nQuantity: 20 sets",
     [("Solar panel 400W", "", "", "100 pcs", 100, "pcs", ""), ("Inverter 5kW", "", "", "20 sets", 20, "sets", "")]),
    ("zh-card", "产品名称：不锈钢餐具套装\n采购数量：800套\n目的港：迪拜",
     [("不锈钢餐具套装", "", "", "800套", 800, "套", "")]),
    ("es-card", "Producto: Bolsa de papel kraft\nCantidad: 10000 unidades",
     [("Bolsa de papel kraft", "", "", "10000 unidades", 10000, "unidades", "")]),
    # near misses: no line item, or no wrong split
    ("questions", "Before we order:\n1. What is your MOQ for 500 pcs?\n2. Can you ship 2000 pcs in 30 days?\n3. Do you have CE?", []),
    ("certifications", "Required certificates:\n1. CE\n2. RoHS\n3. ISO 9001\n4. EN 71-3", []),
    ("address", "Please deliver to:\nRoom 1203, Building 5\n88 Harbour Road\nSingapore 018956", []),
    ("address-bullets", "Ship to:\n- Unit 12A, Block B3\n- 7 Harbour Road, Suite 4C", []),
    ("containers", "Kindly send price for the following:\n- 2 x 40HQ containers of ceramic tiles 60x60\n"
     "- 1 x 20GP container of floor tiles 30x30",
     [("ceramic tiles", "", "60x60", "2 x 40HQ containers", None, "40HQ", ""),
      ("floor tiles", "", "30x30", "1 x 20GP container", None, "20GP", "")]),
    ("en-prose-aside", "We need 500 pcs LED panels, delivery in 30 days, and 200 pcs spare drivers.",
     [("LED panels", "", "", "500 pcs", 500, "pcs", ""), ("spare drivers", "", "", "200 pcs", 200, "pcs", "")]),
    ("en-prose-codes", "Please quote 1000 pcs of item A-100 and 500 pcs of item B-200.",
     [("A-100", "", "", "1000 pcs", 1000, "pcs", ""), ("B-200", "", "", "500 pcs", 500, "pcs", "")]),
    ("company-facts", "Our company was founded in 2005 and has 250 employees and 3 warehouses. We need 1000 pcs of hinges.", []),
    ("one-product-and-sample", "Hi, I want 100 pcs of your best selling product and 2 samples. My budget is USD 500.", []),
    ("signature", "We need a quote for your office chairs.\n\nBest regards,\nTom Baker\nTel: +44 20 7946 0958\nMob: +44 7700 900123", []),
    ("sample-only", "Please send 2 samples of the LED panel 40W and 3 samples of the tube first.", []),
    ("sample-zh", "请先寄样品2个，确认后再下单。", []),
    ("sample-es", "Necesitamos una muestra de 2 unidades antes del pedido.", []),
    ("single-spec-list", "Specifications:\n- Size: 600x600 mm\n- Power: 40W\n- Colour temperature: 4000K\n- Quantity: 1000 pcs", []),
    ("single-product-prose", "Dear sir, we need 500 pcs LED panel 40W. Please send 2 samples first.", []),
    ("pack-sizes", "We need 5000 pcs of paper cups, packed 50 pcs per bag and 1000 pcs per carton.", []),
    ("requirements-list", "Our requirements:\n1. MOQ: 500 pcs\n2. Packing: 20 pcs per carton\n3. Delivery: 30 days", []),
    ("schedule", "We need 500 pcs by 15 May and 200 pcs by the end of June.", []),
    ("destinations", "We need 500 pcs for Spain and 200 pcs for Italy.", []),
    ("schedule-es", "Necesitamos 500 unidades en marzo y 300 unidades en abril.", []),
    ("about-us", "About us:\n- 10 years experience\n- 200 workers\n- 5000 pcs per month capacity\n- MOQ 500 pcs", []),
    ("requirements-zh", "1、数量：5000个\n2、交期：30天\n3、包装：彩盒", []),
    ("requirements-de", "Sehr geehrte Damen und Herren,\n1. Menge: 500 Stück\n2. Lieferzeit: 4 Wochen", []),
    ("requirements-es", "Hola,\n- Pedido mínimo: 500 unidades\n- Muestra: 2 unidades", []),
    ("prices-without-products", "We confirm 500 pcs at USD 2.1 and 300 pcs at USD 1.9.", []),
    ("one-clause-without-joiner", "We need 500 pcs in 20 cartons for our 3 shops.", []),
]


@pytest.fixture(scope="module")
def kit() -> Toolkit:
    return load_toolkit(config_mod.embedded_default(), quiet=True)


def parsed(kit: Toolkit, body: str, html: bool = False, sender: str = "Buyer <buyer@harbour-trading.example>") -> ParsedMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "sales@brightway.example", "Inquiry"
    m["Date"] = "Thu, 03 Dec 2026 10:00:00 +0000"
    m.set_content(body, subtype="html" if html else "plain")
    return parse(RawMessage(MessageKey("t", "INBOX", 1, 1), bytes(m)), kit.platforms)


def checklist(kit: Toolkit, body: str, html: bool = False) -> Checklist:
    return kit.extractor.extract(parsed(kit, body, html))


def rows(items: tuple[LineItem, ...]) -> list[Row]:
    return [(li.product, li.model, li.parameters, li.quantity, li.amount, li.unit, li.target_price) for li in items]


@pytest.mark.parametrize(("body", "expected"), [pytest.param(b, e, id=i) for i, b, e in CASES])
def test_line_items(kit: Toolkit, body: str, expected: list[Row]) -> None:
    """The body's reader on the parsed message (the rules' own findings are the extractor's, tested below)."""
    items, _ = kit.extractor.body.read(parsed(kit, body), Context(date=dt.date(2026, 12, 3)))
    assert rows(items) == expected


HTML = ("<p>Dear sales team,</p><p>please quote the items below.</p><table border='1'>"
        "<tr><th>Description</th><th>Quantity</th><th>Unit price (USD)</th></tr>"
        "<tr><td>Cotton T-shirt, size M</td><td>1000</td><td>2.10</td></tr>"
        "<tr><td>Cotton T-shirt, size L</td><td>800</td><td>2.20</td></tr></table>"
        "<blockquote><table><tr><th>Product</th><th>Qty</th></tr><tr><td>Old order</td><td>5 pcs</td></tr></table></blockquote>")


def test_html_table_rows_are_line_items_and_quoted_tables_are_not(kit: Toolkit) -> None:
    c = checklist(kit, HTML, html=True)
    assert rows(c.line_items) == [("Cotton T-shirt, size M", "", "", "1000", 1000, "", "USD 2.10"),
                       ("Cotton T-shirt, size L", "", "", "800", 800, "", "USD 2.20")]


PLATFORM = ("You have a new inquiry.\n\nProduct Name: Solar garden light 5W\nQuantity Required: 1000 Piece/Pieces\n"
            "Buyer Country: Kenya\n\nMessage from the buyer:\nHello, please send your best price and catalogue.\n"
            "---------------\nReply to this inquiry on TradeHub")


def test_a_platform_card_is_one_line_item_from_the_form(kit: Toolkit) -> None:
    msg = parsed(kit, PLATFORM, sender="TradeHub <no-reply@notice.tradehub-platform.example>")
    items, _ = kit.extractor.body.read(msg, Context(date=dt.date(2026, 12, 3)))
    assert (msg.platform, rows(items), [li.source for li in items]) == (
        "TradeHub", [("Solar garden light 5W", "", "", "1000 Piece/Pieces", 1000, "piece/pieces", "")], ["form"])


# (id, body, item, rule, value): findings that follow from the body's line items where the rules found none
FINDINGS = [
    ("specs-from-prose", "Hello, we need 500 pcs of solar street lights and 200 pcs of garden lamps.", "specs",
     "BODY_LINE_ITEMS", "solar street lights | garden lamps"),
    ("price-from-table", HTML, "target_price", "BODY_LINE_PRICE", {"amount": 2.1, "currency": "USD", "per": "unit"}),
    ("quantity-from-table", HTML, "quantity", "BODY_LINE_QUANTITY", {"amount": 1000, "unit": ""}),
    ("rules-win", "Please quote:\n1. LED panel 40W - 500 pcs\n2. LED tube 18W - 2000 pcs", "specs",
     "SPECS_NUMBER_UNIT", "40W, 18W"),
]


@pytest.mark.parametrize(("body", "item", "rule", "value"), [pytest.param(*c[1:], id=c[0]) for c in FINDINGS])
def test_findings_follow_from_line_items(kit: Toolkit, body: str, item: str, rule: str, value: object) -> None:
    f = checklist(kit, body, html=body.startswith("<"))
    found = f.get(item)
    assert found is not None and found.rule == rule
    if value is not None:
        assert found.value == value


def _eml(body: str, subject: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Lena Vogel <lena.vogel@nordlicht-handel.example>", "sales@brightway.example", subject
    m["Date"], m["Message-ID"] = "Thu, 03 Dec 2026 10:00:00 +0000", f"<{abs(hash(subject))}@nordlicht-handel.example>"
    m.set_content(body)
    return bytes(m)


@pytest.fixture(scope="module")
def explained(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    folder: Path = tmp_path_factory.mktemp("eml")
    bodies = [("Anfrage Leuchten", "Guten Tag,\n\nwir benötigen 300 Stück Schreibtischlampen und 150 Stück Stehlampen, "
               "CIF Hamburg.\n\nMit freundlichen Grüßen\nLena Vogel\nNordlicht Handel GmbH"),
              ("Office chairs", "Hello,\n\nwe need 500 pcs of your office chair. Please send 2 samples first.\n\nLena")]
    paths = []
    for n, (subject, body) in enumerate(bodies):
        path = folder / f"{n}.eml"
        path.write_bytes(_eml(body, subject))
        paths.append(str(path))
    out = cli("explain", "--json", *paths)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_explain_json_gives_the_body_line_items(explained: list[dict]) -> None:
    items = explained[0]["line_items"]
    assert [(li["product"], li["quantity"], li["amount"], li["unit"], li["source"]) for li in items] == [
        ("Schreibtischlampen", "300 Stück", 300, "stück", "text"), ("Stehlampen", "150 Stück", 150, "stück", "text")]
    assert explained[1]["line_items"] == []


def test_a_multi_product_body_drafts_one_row_per_product(kit: Toolkit) -> None:
    body = ("Dear Brightway team,\n\nPlease quote the following items, CIF Valencia:\n\n"
            "1. LED panel 600x600 40W - 500 pcs\n2. LED tube T8 18W 1200mm - 2000 pcs\n3. Downlight DL-6 12W - 300 pcs, target USD 2.5/pc\n\n"
            "Best regards,\nMaria Lopez\nCasaluz Import S.L.")
    msg = parsed(kit, body, sender="Maria Lopez <maria.lopez@casaluz-import.example>")
    a = assess(kit.extractor.extract(msg), kit.decisions)
    assert kit.drafter is not None
    draft = kit.drafter.draft(msg, a, "rules-test", now=dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC))
    assert draft is not None
    text = email.message_from_bytes(draft.data, policy=email.policy.default).get_body(("plain",)).get_content()
    lines = [line.strip() for line in text.splitlines()]
    assert [x for x in lines if x[:2] in ("1.", "2.", "3.") and x[3:4].isalpha()][:3] == [
        "1. LED panel", "2. LED tube (T8)", "3. Downlight (DL-6)"]
    assert [x for x in lines if x.startswith("Quantity:")] == ["Quantity: 500 pcs", "Quantity: 2000 pcs", "Quantity: 300 pcs"]


# (id, line_items.toml of an overlay, words of the error)
BAD_WORDS = [
    ("unknown-key", '[samples]\nen = ["sample"]\n', ["line_items.toml [samples]", "the keys are sample, lead_in"]),
    ("unknown-language", '[sample]\nxx = ["sample"]\n', ["line_items.toml [sample -> xx]", "and the languages en, zh"]),
    ("empty-word", '[joiners]\nen = ["and", " "]\n', ["line_items.toml [joiners] an empty word; remove it"]),
    ("not-toml", "[sample\n", ["line_items.toml: cannot read the line item words"]),
]


@pytest.mark.parametrize(("text", "words"), [pytest.param(t, w, id=i) for i, t, w in BAD_WORDS])
def test_a_bad_overlay_word_file_names_the_file_and_key(tmp_path: Path, text: str, words: list[str]) -> None:
    (tmp_path / "line_items.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_words(tmp_path)
    message = str(caught.value)
    assert all(w in message for w in words), message
