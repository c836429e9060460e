"""`company` and `contact` (read from the signature and the sender) and the buyer's strength, per language.

One line per case: (sender, body, item, expected presence). `company` needs a company name plus a website or a
corporate domain the name matches; `contact` needs a person's name with a job title plus a phone or an address.
"""

from __future__ import annotations

import phonenumbers
import pytest
import regex

from daemon.parse.message import parse
from extractors import identity
from extractors.checklist import Extractor
from extractors.core.model import MessageKey, RawMessage
from extractors.rules import load

CORP = "Anna Berg <a.berg@nordlicht-handel.example>"
FREE = "Anna Berg <anna.berg77@gmail.com>"
BARE = "a.berg@nordlicht-handel.example"

EN = [
    (CORP, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nPurchasing Manager\nNordlicht Handel GmbH\nPhone: +49 40 6696 9214", "company", True),
    (FREE, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nNordlicht Handel GmbH\nwww.nordlicht-handel.example", "company", True),
    (CORP, "We need 500 pcs.\n\nRegards,\nAnna\nNordlicht Handel GmbH", "company", True),
    ("Li Wei <li@sunrise-trading.example>", "Please quote.\n\nThanks,\nLi Wei\nSunrise Trading Co., Ltd.", "company", True),
    ("Tom <tom@acme.example>", "Quote please.\n\nCheers,\nTom\nACME Inc.\n+1 310 555 0100", "company", True),
    ("Tom <tom@acme.example>", "Quote please.\n\nCheers,\nTom\nACME Corporation", "company", True),
    ("Raj <raj@rediffmail.com>", "Quote please.\n\nRegards,\nRaj\nPatel Exports Pvt. Ltd.\nwww.patel-exports.example", "company", True),
    (FREE, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nNordlicht Handel GmbH", "company", False),
    (FREE, "We need 500 pcs.\n\nBest regards,\nAnna Berg", "company", False),
    ("Luke <info@giabatg.example>", "We want your products.\n\nBest Regards,\nLuke\nExport Deals LTD", "company", False),
    (CORP, "We need 500 pcs.\n\nBest regards,\nAnna Berg", "company", False),
    ("x@163.com", "需要报价\n\n王伟", "company", False),
    (CORP, "As discussed, the details as follows: Price CIF Tokyo.", "company", False),
    (FREE, "Our company is big.\n\nThanks", "company", False),
    (FREE, "We are a UAE-based bottled water company.\n\nRegards", "company", False),
    (CORP, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nPurchasing Manager\n+49 40 6696 9214", "contact", True),
    (FREE, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nSenior Buyer\nTel: +49 40 6696 9214", "contact", True),
    ("Info <info@acme.example>", "Quote please.\n\nBest regards\nPresident\nTel: +1 310 555 0100", "contact", False),
    ("Info <info@acme.example>", "Quote please.\n\nkind regards\nPresident\nTel: +1 310 555 0100", "contact", False),
    (BARE, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nProcurement Manager\nMobile: +49 170 555 0101", "contact", True),
    (CORP, "We need 500 pcs.\n\nKind regards,\nAnna Berg\nPurchasing Manager\nBillstrasse 118, 20539 Hamburg", "contact", True),
    ("John Smith <john.smith@abc.example>", "Quote please.\n\nJohn Smith\nPurchasing Manager\nABC Inc.\nContact: john.smith@abc.example, 555-1234", "contact", True),
    (BARE, "Hello.\n\nSuha Arafat\n\nPurchasing Manager\nNZ Trading Ltd.\nTelephone Number : (64) 3 929 1234", "contact", True),
    (CORP, "We need 500 pcs.\n\nDirector\nTel +44 20 7946 0958", "contact", True),
    (CORP, "We need 500 pcs.\n\nBest regards,\nAnna Berg\n+49 40 6696 9214", "contact", False),
    (CORP, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nPurchasing Manager", "contact", False),
    (BARE, "We need 500 pcs.\n\nBest regards,\nAnna\nTel: +49 40 6696 9214", "contact", False),
    ("Sales Team <sales@acme.example>", "Quote please.\n\nSales Team\n+1 310 555 0100", "contact", False),
    (CORP, "Please tell me who is your purchasing manager?", "contact", False),
    (FREE, "Hi, call me.\n\nThanks", "contact", False),
    (BARE, "Price?", "contact", False),
    (CORP, "Our director will visit you.\n\nBest regards,\nAnna Berg", "contact", False),
]

ZH = [
    ("陈志远 <chenzy@huatuo-trade.example>", "您好，需要5000台。\n\n此致\n陈志远\n采购经理\n深圳市华拓进出口贸易有限公司\n电话：+86 755 0000 6628", "company", True),
    ("王伟 <wang@163.com>", "请报价。\n\n谢谢\n王伟\n宁波远航贸易有限公司\n网址：www.yuanhang-trade.example", "company", True),
    ("李娜 <lina@jinhai-group.example>", "请报价。\n\n谢谢\n李娜\n金海集团", "company", True),
    ("赵强 <zhao@hengda-led.example>", "请报价。\n\n此致\n敬礼\n赵强\n恒达照明有限公司", "company", True),
    ("周敏 <zm@126.com>", "请报价。\n\n谢谢\n周敏\n广州华南电器商行\nwww.huanan-dianqi.example", "company", True),
    ("孙丽 <sun@xinyuan.example>", "请报价。\n\n此致\n孙丽\n新源科技股份有限公司", "company", True),
    ("刘洋 <ly@taida-trading.example>", "请报价。\n\n谢谢\n刘洋\n泰达贸易公司", "company", True),
    ("王伟 <wang@163.com>", "请报价。\n\n谢谢\n王伟\n宁波远航贸易有限公司", "company", False),
    ("王伟 <wang@qq.com>", "请报价。\n\n王伟", "company", False),
    ("王伟 <wang@163.com>", "我们公司很大，请报价。", "company", False),
    ("x@126.com", "贵公司的产品多少钱？", "company", False),
    ("王伟 <wang@sina.com>", "请报价，谢谢。", "company", False),
    ("王伟 <wang@qq.com>", "我们是一家外贸公司。", "company", False),
    ("王伟 <wang@163.com>", "需要报价\n\n王伟\n采购", "company", False),
    ("王伟 <wang@163.com>", "请问你们公司在哪里？", "company", False),
    ("陈志远 <chenzy@huatuo-trade.example>", "您好，需要5000台。\n\n此致\n陈志远\n采购经理\n电话：+86 755 0000 6628", "contact", True),
    ("王伟 <wang@163.com>", "请报价。\n\n谢谢\n王伟\n总经理\n手机：+86 138 0000 1234", "contact", True),
    ("李娜 <lina@jinhai-group.example>", "请报价。\n\n谢谢\n李娜\n采购主管\n电话：+86 21 5555 0101", "contact", True),
    ("赵强 <zhao@hengda-led.example>", "请报价。\n\n此致\n赵强\n采购经理\n地址：深圳市福田区车公庙工业区5楼", "contact", True),
    ("周敏 <zm@126.com>", "请报价。\n\n谢谢\n周敏\n采购员\n电话：+86 20 5555 0199", "contact", True),
    ("孙丽 <sun@xinyuan.example>", "请报价。\n\n此致\n孙丽\n总经理\n+86 571 5555 0102", "contact", True),
    ("刘洋 <ly@taida-trading.example>", "请报价。\n\n谢谢\n刘洋\n经理\n手机：+86 139 0000 5678", "contact", True),
    ("王伟 <wang@163.com>", "请报价。\n\n谢谢\n王伟\n手机：+86 138 0000 1234", "contact", False),
    ("王伟 <wang@163.com>", "请报价。\n\n谢谢\n王伟\n采购经理", "contact", False),
    ("x@163.com", "请报价。\n\n采购部\n电话：+86 138 0000 1234", "contact", False),
    ("王伟 <wang@163.com>", "你们的采购经理是谁？", "contact", False),
    ("x@qq.com", "多少钱？", "contact", False),
    ("王伟 <wang@163.com>", "请给我打电话。", "contact", False),
    ("王伟 <wang@163.com>", "请报价。", "contact", False),
    ("x@163.com", "您好\n\n王\n经理", "contact", False),
]

ES = [
    ("Valentina Rojas <vrojas@andesluz.example>", "Necesitamos 1.200 unidades.\n\nSaludos cordiales,\nValentina Rojas\nGerente de Compras\nComercial Andes Luz SpA\nTel.: +56 2 2555 0101", "company", True),
    ("Luis Gómez <lgomez@gmail.com>", "Cotícenos.\n\nAtentamente,\nLuis Gómez\nImportadora Gómez Ltda.\nwww.importadora-gomez.example", "company", True),
    ("Ana Ruiz <ana@ferreteria-ruiz.example>", "Cotícenos.\n\nSaludos,\nAna Ruiz\nFerretería Ruiz S.L.", "company", True),
    ("Pedro Díaz <pdiaz@electro-diaz.example>", "Cotícenos.\n\nSaludos,\nPedro Díaz\nElectro Díaz S.A. de C.V.", "company", True),
    ("Marta Soto <msoto@sotoluz.example>", "Cotícenos.\n\nSaludos,\nMarta Soto\nSotoluz S.A.C.", "company", True),
    ("Jorge Paz <jpaz@hotmail.com>", "Cotícenos.\n\nSaludos,\nJorge Paz\nPaz Importaciones SRL\nwww.pazimport.example", "company", True),
    ("Carla Vega <cvega@vega-comercial.example>", "Cotícenos.\n\nSaludos,\nCarla Vega\nVega Comercial S.A.", "company", True),
    ("Luis Gómez <lgomez@gmail.com>", "Cotícenos.\n\nAtentamente,\nLuis Gómez\nImportadora Gómez Ltda.", "company", False),
    ("Luis Gómez <lgomez@gmail.com>", "Cotícenos.\n\nAtentamente,\nLuis Gómez", "company", False),
    ("Ana Ruiz <ana@ferreteria-ruiz.example>", "Cotícenos.\n\nSaludos,\nAna Ruiz", "company", False),
    ("x@yahoo.es", "¿Cuál es su empresa?", "company", False),
    ("Luis <luis@gmail.com>", "Somos una empresa grande.", "company", False),
    ("Luis <luis@hotmail.com>", "Necesito precio.", "company", False),
    ("Luis <luis@outlook.com>", "Estamos interesados en sus productos.", "company", False),
    ("Luis <luis@gmail.com>", "Saludos\nLuis\nComprador", "company", False),
    ("Valentina Rojas <vrojas@andesluz.example>", "Necesitamos 1.200 unidades.\n\nSaludos cordiales,\nValentina Rojas\nGerente de Compras\nTel.: +56 2 2555 0101", "contact", True),
    ("Luis Gómez <lgomez@gmail.com>", "Cotícenos.\n\nAtentamente,\nLuis Gómez\nJefe de Compras\nTeléfono: +34 91 555 0101", "contact", True),
    ("Ana Ruiz <ana@ferreteria-ruiz.example>", "Cotícenos.\n\nSaludos,\nAna Ruiz\nDirectora\nMóvil: +34 600 555 010", "contact", True),
    ("Pedro Díaz <pdiaz@electro-diaz.example>", "Cotícenos.\n\nSaludos,\nPedro Díaz\nGerente General\n+52 55 5555 0101", "contact", True),
    ("Marta Soto <msoto@sotoluz.example>", "Cotícenos.\n\nSaludos,\nMarta Soto\nGerente de Compras\nAv. Vicuña Mackenna 1234, Santiago", "contact", True),
    ("Jorge Paz <jpaz@hotmail.com>", "Cotícenos.\n\nSaludos,\nJorge Paz\nComprador\nCelular: +51 999 555 010", "contact", True),
    ("Carla Vega <cvega@vega-comercial.example>", "Cotícenos.\n\nSaludos,\nCarla Vega\nGerente de Compras\nTel: +57 1 555 0101", "contact", True),
    ("Luis Gómez <lgomez@gmail.com>", "Cotícenos.\n\nAtentamente,\nLuis Gómez\nTeléfono: +34 91 555 0101", "contact", False),
    ("Luis Gómez <lgomez@gmail.com>", "Cotícenos.\n\nAtentamente,\nLuis Gómez\nJefe de Compras", "contact", False),
    ("ventas@x.example", "Cotícenos.\n\nDepartamento de compras\nTel: +34 91 555 0101", "contact", False),
    ("Luis <luis@gmail.com>", "¿Quién es su gerente de compras?", "contact", False),
    ("Luis <luis@gmail.com>", "Llámeme por favor.", "contact", False),
    ("x@gmail.com", "¿Precio?", "contact", False),
    ("Luis <luis@gmail.com>", "Necesito precio.\n\nLuis", "contact", False),
    ("Luis <luis@gmail.com>", "Saludos\nLuis\nGerente", "contact", False),
]


# A contact in the other languages with rules: a name (from the sender, the line above the title or a labelled
# name field), a title of the language and a phone or address under its own label. Near misses: a title without a
# name or a way to reach the person, a title spoken of in a sentence, a label without a name.
OTHER = [
    ("fr", BARE, "Merci.\n\nCordialement,\nClaire Martin\nResponsable des achats\nTél. : +33 1 42 68 53 00", "contact", True),
    ("fr", BARE, "Merci.\n\nNom : Claire Martin\nFonction : Acheteuse\nAdresse : 12 rue de la Paix, 75002 Paris", "contact", True),
    ("fr", BARE, "Merci.\n\nCordialement,\nResponsable des achats\nTél. : +33 1 42 68 53 00", "contact", False),
    ("fr", BARE, "Pouvez-vous me mettre en contact avec votre directeur général ?", "contact", False),
    ("de", BARE, "Danke.\n\nMit freundlichen Grüßen\nJörg Weber\nEinkaufsleiter\nTelefon: +49 89 1234 5678", "contact", True),
    ("de", BARE, "Danke.\n\nAnsprechpartner: Herr Jörg Weber\nPosition: Leiter Einkauf\nAnschrift: Hauptstraße 5, 80331 München", "contact", True),
    ("de", BARE, "Danke.\n\nMit freundlichen Grüßen\nJörg Weber\nTelefon: +49 89 1234 5678", "contact", False),
    ("de", BARE, "Unser Geschäftsführer möchte Ihr Werk besuchen.", "contact", False),
    ("pt", BARE, "Obrigado.\n\nAtenciosamente,\nAna Lima\nGerente de Compras\nTelefone: +55 11 3456 7890", "contact", True),
    ("pt", BARE, "Obrigado.\n\nCargo: Compradora\nNome: Ana Lima\nEndereço: Rua Augusta 1500, São Paulo", "contact", True),
    ("pt", BARE, "Obrigado.\n\nAtenciosamente,\nGerente de Compras", "contact", False),
    ("pt", BARE, "Nome:\nEndereço:\nTelefone:", "contact", False),
    ("it", BARE, "Grazie.\n\nCordiali saluti,\nMarco Rossi\nResponsabile acquisti\nTel. +39 02 1234 5678", "contact", True),
    ("it", BARE, "Grazie.\n\nMarco Rossi\nTitolare\nIndirizzo: Via Roma 10, 20121 Milano", "contact", True),
    ("it", BARE, "Grazie.\n\nCordiali saluti,\nMarco Rossi", "contact", False),
    ("ru", BARE, "Спасибо.\n\nС уважением,\nИван Петров\nМенеджер по закупкам\nТел.: +7 495 123 45 67", "contact", True),
    ("ru", BARE, "Спасибо.\n\nКонтактное лицо: Иван Петров\nДолжность: генеральный директор\nАдрес: ул. Ленина 10, Москва", "contact", True),
    ("ru", BARE, "Спасибо.\n\nС уважением,\nМенеджер по закупкам", "contact", False),
    ("tr", BARE, "Teşekkürler.\n\nSaygılarımızla,\nMehmet Yılmaz\nSatın Alma Müdürü\nTel: +90 212 555 12 34", "contact", True),
    ("tr", BARE, "Teşekkürler.\n\nYetkili: Mehmet Yılmaz\nGörev: Genel Müdür\nAdres: Atatürk Cad. No 5, İstanbul", "contact", True),
    ("tr", BARE, "Genel müdürümüz fabrikanızı ziyaret etmek istiyor.", "contact", False),
    ("ar", BARE, "شكرا.\n\nمع التحية،\nAhmed Hassan\nمدير المشتريات\nهاتف: +971 4 123 4567", "contact", True),
    ("ar", BARE, "شكرا.\n\nالاسم: Ahmed Hassan\nمدير المشتريات\nالعنوان: شارع الشيخ زايد، دبي", "contact", True),
    ("ar", BARE, "شكرا.\n\nالاسم: أحمد حسن\nالمسمى الوظيفي: مدير المشتريات\nجوال: +971 50 123 4567", "contact", True),
    ("ar", BARE, "شكرا.\n\nمع التحية\nمدير المشتريات\nهاتف: +971 4 123 4567", "contact", False),
    ("ar", BARE, "شكرا.\n\nمدير المشتريات\nهاتف: +971 4 123 4567", "contact", False),
    ("en", BARE, "Thanks.\n\nContact Person: Mr Wang John\n\nPosition: Export & Import manager\n\nAddress: 88 Harbour Road, Shanghai", "contact", True),
    ("en", BARE, "Thanks.\n\nName: Priya Nair\nTitle: Import/Export Manager\nTel: +91 22 4000 1234", "contact", True),
    ("en", BARE, "Thanks.\n\nName:\nTitle: Import/Export Manager\nAddress:", "contact", False),
    ("zh", BARE, "谢谢。\n\n联系人：张伟\n职位：采购部经理\n地址：上海市黄浦区中山东一路18号", "contact", True),
    ("zh", BARE, "谢谢。\n\n请转告你们经理，我们下周到访。", "contact", False),
]


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(load())


def _checklist(extractor: Extractor, sender: str, body: str):  # noqa: ANN202
    data = (f"From: {sender}\nTo: sales@seller.example\nSubject: Inquiry\nMessage-ID: <t@x.example>\n"
            "Content-Type: text/plain; charset=utf-8\n\n" + body).encode()
    return extractor.extract(parse(RawMessage(MessageKey("t", "INBOX", 1, 1), data)))


@pytest.mark.parametrize(("sender", "body", "item", "expected"), EN + ZH + ES,
                         ids=[f"en-{i}" for i in range(len(EN))] + [f"zh-{i}" for i in range(len(ZH))] + [f"es-{i}" for i in range(len(ES))])
def test_identity_item(extractor: Extractor, sender: str, body: str, item: str, expected: bool) -> None:
    assert (_checklist(extractor, sender, body).get(item) is not None) == expected


@pytest.mark.parametrize(("sender", "body", "item", "expected"), [c[1:] for c in OTHER],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(OTHER)])
def test_identity_item_other_languages(extractor: Extractor, sender: str, body: str, item: str, expected: bool) -> None:
    assert (_checklist(extractor, sender, body).get(item) is not None) == expected


STRENGTH = [
    ("corporate-full-signature", CORP, "We need 2,000 pcs.\n\nBest regards,\nAnna Berg\nPurchasing Manager\nNordlicht Handel GmbH\nPhone: +49 40 6696 9214\nwww.nordlicht-handel.example", "high"),
    ("corporate-name-only", CORP, "We need 200 pcs.\n\nBest regards,\nAnna Berg\nNordlicht Handel GmbH", "medium"),
    ("free-mail-bare", FREE, "Price?", "low"),
    ("free-mail-with-title-phone", FREE, "We need 200 pcs.\n\nBest regards,\nAnna Berg\nBuyer\nTel: +49 40 6696 9214", "low"),
]


@pytest.mark.parametrize(("sender", "body", "strength"), [c[1:] for c in STRENGTH], ids=[c[0] for c in STRENGTH])
def test_strength(extractor: Extractor, sender: str, body: str, strength: str) -> None:
    assert _checklist(extractor, sender, body).strength == strength


# Signature and body lines with and without phone numbers: the line filter in front of phonenumbers' matcher
# must find what the matcher finds in the whole text (first number, same raw string).
PHONE_TEXTS = [
    ("labelled-international", "Anna Berg\nPhone: +49 40 6696 9214\nwww.example.de"),
    ("us-national", "Call me at (415) 555-0132 any time."),
    ("us-local-seven", "Office 555-0132, ext. 12"),
    ("fullwidth-plus", "电话：＋86 571 8502 2088"),
    ("address-digits-only", "Billstrasse 118, 20539 Hamburg, Germany"),
    ("quantities-not-phone", "We need 2,000 pcs, then 12,000 pcs per year at USD 18.50."),
    ("model-and-phone", "Model 150W-IP66\nTel 021-6485 3321\nMob 13912345678"),
    ("dotted", "T. 030.123.4567 / F. 030.123.4568"),
    ("order-number", "PO 4500012345 dated 2026-11-02"),
    ("spread-over-lines", "Tel: +1 415\n555 0132"),
    ("no-digits", "Best regards,\nAnna"),
    ("date-range", "between 12/10/2026 and 20/12/2026"),
    ("figures-line", "Capacity:80000mAh/296wh;AC:350W rated;Wireless charing 5V2A,10W Size:200*170*170mm "
     "Weight:2.9KG Input:19V/3.42A Output:5V/3A,9V/2A,12V/1.5A Solar input 12-26V, 100W MAX"),
    ("figures-then-phone", "Size:200*170*170mm Weight:2.9KG 19V/3.42A call 0086 571 8502 2088 or 5551234"),
    ("phone-between-figures", "SKU 12-345 / 678, mobile 139-1234-5678, carton 60*40*35 cm, 12 kg"),
    ("seven-digits-apart", "1 2 3 4 5 6 7 and 12.34.56.78 and 1-2-3-4-5-6-7-8"),
    ("ideographic-punctuation", "电话：0571－8502２０８８，传真：0571-8502 2089"),
]


@pytest.mark.parametrize("text", [t for _, t in PHONE_TEXTS], ids=[n for n, _ in PHONE_TEXTS])
def test_phone_line_filter_finds_what_the_matcher_finds(text: str) -> None:
    whole = next((m.raw_string for m in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE)), None)
    assert identity._phone_by_matcher(text) == whole


def test_phone_made_of_letters_is_passed_over() -> None:
    # phonenumbers alone takes "2144ext" (read as 2144398); the filter passes over it to the real number
    assert identity._phone_by_matcher("Tel 2144ext. 12, mobile +49 40 6696 9214") == "+49 40 6696 9214"


# Texts for the job-title and company-suffix lists: the stdlib trie pattern must find what the whole-word pattern
# of the `regex` module finds (first match, same span), including where a word is part of a longer one, in the
# wrong case for a short word, or where case folding is not plain lowercasing.
WORD_TEXTS = [
    ("title-in-signature", "Anna Berg\nPurchasing Manager\nNordlicht Handel GmbH"),
    ("title-inside-word", "Our managers and buyers will decide."),
    ("title-after-word", "Ask our senior buyer."),
    ("title-upper", "ANNA BERG, PURCHASING MANAGER"),
    ("short-title-exact-case", "CEO: Tom; the ceo is away"),
    ("short-title-in-word", "TOCEO and CEOs"),
    ("suffix-after-name", "Sunrise Trading Co., Ltd."),
    ("short-suffix-wrong-case", "as we sa in the co"),
    ("short-suffix-in-word", "Could Cologne ASAP"),
    ("suffix-before-digit", "ACME Inc2 and ACME Inc."),
    ("suffix-before-letter", "GmbHx and GmbH"),
    ("dotted-suffix", "Servicios S.A. de C.V. y S.A"),
    ("overlapping-words", "Export Deals LTD Limited"),
    ("accented", "Gerente de compras, Müller Handels GmbH"),
    ("chinese", "采购经理 王伟\n深圳市阳光贸易有限公司"),
    ("none", "Please quote 500 pcs."),
    ("empty", ""),
]


def _reference(words: list[str]) -> regex.Pattern[str]:
    """The whole-word pattern by definition: long words in any case, short ones in their case, no letter or digit
    before, no letter after."""
    caseless, exact = identity._by_case(sorted(words, key=len, reverse=True))
    alt = "|".join(a for a in (f"(?i:{'|'.join(map(regex.escape, caseless))})" if caseless else "",
                               f"(?-i:{'|'.join(map(regex.escape, exact))})" if exact else "") if a)
    return regex.compile(rf"(?<![\p{{L}}\p{{N}}])(?:{alt})(?![\p{{L}}])")


@pytest.mark.parametrize("text", [t for _, t in WORD_TEXTS], ids=[n for n, _ in WORD_TEXTS])
@pytest.mark.parametrize("vocab", ["titles", "company_suffixes"])
def test_word_lists_find_what_the_whole_word_pattern_finds(extractor: Extractor, vocab: str, text: str) -> None:
    words = identity._terms(extractor.ruleset, vocab)
    found, expected = identity._whole_words(words).search(text), _reference(words).search(text)  # type: ignore[union-attr]
    assert (found.span() if found else None) == (expected.span() if expected else None)


# Signatures for the company line: lines where no suffix stands are not searched, and a line of over 120
# characters (read in pieces of 120) is searched piece by piece as before.
COMPANY_TEXTS = [
    ("suffix-line", "Anna Berg\nNordlicht Handel GmbH\nwww.nordlicht-handel.example", "Nordlicht Handel GmbH"),
    ("no-suffix", "Anna Berg\nNordlicht Handel\nwww.nordlicht-handel.example", None),
    ("chinese-name", "王伟\n深圳市阳光贸易有限公司", "深圳市阳光贸易有限公司"),
    ("suffix-cut-at-120", "Abcdefghij " * 10 + "ZZZZZZ Ltd" + "Corp and more words", "Abcdefghij " * 10 + "ZZZZZZ Ltd"),
    ("file-name", "Anna Berg\nCompany_profile_8253.pdf", None),
    ("platform-footer", "阿里巴巴香港有限公司", None),
    ("sentence-about-companies", "这是对我们公司从您公司", None),
    ("province-name", "王伟\n贵州阳光贸易有限公司", "贵州阳光贸易有限公司"),
    ("suffix-in-long-line", "We " + "really " * 20 + "need a quote from Acme Ltd for this", "y really really really need a quote from Acme Ltd for this"),
]


@pytest.mark.parametrize(("text", "name"), [c[1:] for c in COMPANY_TEXTS], ids=[c[0] for c in COMPANY_TEXTS])
def test_company_line(extractor: Extractor, text: str, name: str | None) -> None:
    found = extractor.identity._company([("signature", text)], "", ["nordlicht-handel.example"])
    assert (found.evidence if found else None) == name


# The contact's evidence is the signature block that states it: from the name's line to the phone's or address's
# line, when they stand a few lines from the title; else the title's line.
CONTACT_BLOCKS = [
    ("name-title-phone", CORP, "We need 500 pcs.\n\nBest regards,\nAnna Berg\nPurchasing Manager\nPhone: +49 40 6696 9214",
     "Anna Berg\nPurchasing Manager\nPhone: +49 40 6696 9214"),
    ("blank-lines", FREE, "Quote please.\n\nRegards,\n\nAnna Berg\n\nSenior Buyer\n\nNordlicht Handel GmbH\n\nTel: +49 40 6696 9214",
     "Anna Berg\n\nSenior Buyer\n\nNordlicht Handel GmbH\n\nTel: +49 40 6696 9214"),
    ("one-line", CORP, "Quote please.\n\nAnna Berg, Purchasing Manager, Nordlicht Handel GmbH, Tel: +49 40 6696 9214",
     "Anna Berg, Purchasing Manager, Nordlicht Handel GmbH, Tel: +49 40 6696 9214"),
    ("name-typed-lowercase", "TCN <info@tcn-enterprise.example>", "Hi,\n\nPlease quote.\n\nStanley ruttler\n\nPresident\n\nT.C.N Enterprise\n\nMain: 508.425.7372",
     "Stanley ruttler\n\nPresident\n\nT.C.N Enterprise\n\nMain: 508.425.7372"),
    ("title-in-brackets-email", FREE, "Quote please.\n\nAnna Berg\n\n(Customer Relations and Sales Specialist)\n\nNordlicht Handel GmbH\n\nemail: anna@nordlicht-handel.example",
     "Anna Berg\n\n(Customer Relations and Sales Specialist)\n\nNordlicht Handel GmbH\n\nemail: anna@nordlicht-handel.example"),
    ("phone-far-below", CORP, "Quote please.\n\nAnna Berg\nPurchasing Manager\n" + "line\n" * 12 + "Tel: +49 40 6696 9214",
     "Anna Berg\nPurchasing Manager"),
]


@pytest.mark.parametrize(("sender", "body", "evidence"), [c[1:] for c in CONTACT_BLOCKS], ids=[c[0] for c in CONTACT_BLOCKS])
def test_contact_evidence_is_the_signature_block(extractor: Extractor, sender: str, body: str, evidence: str) -> None:
    found = _checklist(extractor, sender, body).get("contact")
    assert found is not None and found.evidence == evidence
