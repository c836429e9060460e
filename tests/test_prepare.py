"""The parse stage: charsets, broken headers, HTML-only mail, quotes, signatures, forwards, platforms, language."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from daemon.parse.language import detect
from daemon.parse.message import parse
from daemon.parse.platforms import Platforms
from daemon.parse.quotes import split_reply
from extractors.core.model import MessageKey, RawMessage
from extractors.rules import shipped_dir

KEY = MessageKey("t", "INBOX", 1, 1)
PLATFORMS = Platforms.load(shipped_dir() / "platforms.toml")


def mail(body: bytes, *, ctype: str = "text/plain; charset=utf-8", cte: str = "8bit", sender: bytes = b"Ann Lee <ann@acme.example>",
         subject: bytes = b"Inquiry", extra: bytes = b"") -> RawMessage:
    head = (b"From: " + sender + b"\nTo: sales@seller.example\nSubject: " + subject + b"\nMessage-ID: <m1@acme.example>\n"
            b"Date: Mon, 02 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: " + ctype.encode() +
            b"\nContent-Transfer-Encoding: " + cte.encode() + b"\n" + extra + b"\n")
    return RawMessage(KEY, head + body)


CHARSETS = [
    ("gb2312-label-gbk-chars", "gb2312", "gbk", "刘镕堃先生，我们需要五千个"),
    ("gbk-label-gb18030-chars", "gbk", "gb18030", "我们需要𠀀个样品和喆字"),
    ("big5", "big5", "big5", "我們需要五千個"),
    ("iso-2022-jp", "iso-2022-jp", "iso-2022-jp", "見積もりをお願いします"),
    ("windows-1251", "windows-1251", "cp1251", "Нам нужно 500 штук"),
    ("latin-1-spanish", "iso-8859-1", "latin-1", "Necesitamos 1.200 unidades, entrega en 40 días"),
    ("utf-8", "utf-8", "utf-8", "Necesitamos 1.200 unidades ñ"),
]


@pytest.mark.parametrize(("label", "codec", "text"), [c[1:] for c in CHARSETS], ids=[c[0] for c in CHARSETS])
def test_labelled_charsets_decode(label: str, codec: str, text: str) -> None:
    assert text in parse(mail(text.encode(codec), ctype=f"text/plain; charset={label}")).full_text


def test_unlabelled_8bit_utf8_decodes() -> None:
    assert "días" in parse(mail("entrega en 40 días".encode(), ctype="text/plain")).full_text


def test_broken_from_whole_address_in_one_encoded_word() -> None:
    word = b"=?UTF-8?B?" + base64.b64encode("José Pérez <jose@nautica.example>".encode()) + b"?="
    assert parse(mail(b"hello", sender=word)).from_addr == "jose@nautica.example"


def test_html_only_mail_becomes_text() -> None:
    html = b"<html><head><style>p{color:red}</style></head><body><p>We need <b>800 pcs</b></p><table><tr><td>200W</td></tr></table></body></html>"
    parsed = parse(mail(html, ctype="text/html; charset=utf-8"))
    assert (parsed.is_html_only, "800 pcs" in parsed.text, "color:red" in parsed.text) == (True, True, False)


def test_html_blockquote_is_not_new_text() -> None:
    html = b"<div>Yes, 500 pcs.</div><div class=\"gmail_quote\">On Mon wrote:<blockquote>Do you need CE?</blockquote></div>"
    assert "CE" not in parse(mail(html, ctype="text/html; charset=utf-8")).text


SPLITS = [
    ("outlook-original", "We need 800 pcs.\n\n-----Original Message-----\nFrom: S <s@x.example>\nSent: Monday\nSubject: Q\n\nDo you need CE?", "Do you need CE?"),
    ("gmail-wrote", "We need 800 pcs.\n\nOn Mon, 3 Nov 2026 at 10:12, Sales <s@x.example> wrote:\n> Do you need CE?\n> Thanks", "Do you need CE?"),
    ("chinese-header", "我们需要800个。\n\n发件人: Sales\n发送时间: 2026年11月3日\n主题: 询价\n\n你们需要CE吗？", "你们需要CE吗"),
    ("angle-quotes", "We need 800 pcs.\n> Do you need CE?\n> Best", "Do you need CE?"),
    ("forward-from-other-domain", "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <b@other.example>\nDate: Mon\n\nWe need CE.", "We need CE."),
]


@pytest.mark.parametrize(("body", "quoted"), [c[1:] for c in SPLITS], ids=[c[0] for c in SPLITS])
def test_quoted_history_is_not_new_text(body: str, quoted: str) -> None:
    new, _, _ = split_reply(body, "acme.example")
    assert quoted not in new


def test_forward_from_a_colleague_is_the_buyers_text() -> None:
    body = "Please quote.\n\n---------- Forwarded message ---------\nFrom: Dan <dan@acme.example>\nDate: Mon\n\nWe need 300 units, FCC and UL."
    assert "300 units" in split_reply(body, "acme.example")[0]


SIGNATURES = [
    ("best-regards", "We need 500 pcs.\n\nBest regards,\nJohn Smith\nPurchasing Manager\nACME Inc.", "Purchasing Manager"),
    ("dashes", "We need 500 pcs.\n-- \nJohn Smith\n+1 555 0100", "+1 555 0100"),
    ("sent-from", "We need 500 pcs.\n\nSent from my iPhone", "iPhone"),
    ("spanish", "Necesitamos 500.\n\nSaludos cordiales,\nAna Ruiz\nGerente de Compras", "Gerente de Compras"),
    ("chinese", "我们需要500个。\n\n此致\n敬礼\n王伟\n采购经理", "采购经理"),
]


@pytest.mark.parametrize(("body", "in_signature"), [c[1:] for c in SIGNATURES], ids=[c[0] for c in SIGNATURES])
def test_signature_is_split_off(body: str, in_signature: str) -> None:
    new, signature, _ = split_reply(body)
    assert (in_signature in signature, in_signature in new) == (True, False)


def test_bulleted_requirements_are_not_a_signature() -> None:
    body = "Our needs:\n- 150W, IP66\n- 2,000 pcs\n- CE and RoHS\n\nBest regards,\nKatrin"
    assert "2,000 pcs" in split_reply(body)[0]


LANGUAGES = [
    ("en", "Hello, we are looking for 2000 pcs of LED flood lights, please quote FOB Ningbo.", "en"),
    ("zh", "您好，我们需要采购五千台便携式储能电源，请报价。", "zh"),
    ("es", "Estimados señores, necesitamos 1.200 focos LED con entrega en 40 días.", "es"),
    ("de", "Sehr geehrte Damen und Herren, wir benötigen 500 Stück LED-Strahler.", "de"),
    ("ko", "안녕하세요 인형을 주문하려고 합니다", "ko"),
    ("fr", "BONJOUR J'AIMERAIS CONNAITRE LES FRAIS DE LIVRAISON VERS LA NOUVELLE CALEDONIE", "fr"),
    ("pt", "Bom dia, precisamos de 500 lâmpadas LED com entrega rápida no porto de Santos.", "pt"),
    ("es-short", "Hola, necesito precio", "es"),
    ("es-card", "Buenas tardes, cotización de 300 bolsas con envío a Quito\nMaterial: Kraft Paper\nUsage: Shopping\n"
                "Size: Custom Size Accepted\nPrinting: Offset Printing\nQuantity Required: 300 Piece/Pieces", "es"),
    ("it-card", "salve, vorrei sapere il prezzo con spedizione a Bari\nVoltage: 220V\nPower: 1500W\nWarranty: 1 Year\n"
                "Quantity Required: 2 Piece/Pieces", "it"),
    ("en-form", "Product Name: LED panel\nQuantity: 500 pcs\nDestination: Lagos, Nigeria\nPayment: T/T", "en"),
    # short texts in every language with rules, alone and above a platform card's English fields
    ("ru-short", "Здравствуйте, нужна цена на 200 штук", "ru"),
    ("ru-card", "Добрый день, интересует доставка в Алматы\nMaterial: Steel\nQuantity Required: 50 Piece/Pieces", "ru"),
    ("tr-short", "Merhaba, fiyat teklifi istiyorum", "tr"),
    ("tr-card", "Merhaba, İzmir'e teslim fiyatı nedir?\nPower: 300W\nQuantity Required: 100 Piece/Pieces", "tr"),
    ("ar-short", "مرحبا، أريد سعر 100 قطعة", "ar"),
    ("ar-card", "السلام عليكم، أريد الشحن إلى جدة\nColor: Black\nQuantity Required: 20 Set/Sets", "ar"),
    ("de-short", "Hallo, was kostet das?", "de"),
    ("de-card", "Guten Tag, Lieferung nach Wien bitte\nSize: 60x60 cm\nQuantity Required: 400 Piece/Pieces", "de"),
    ("fr-card", "Bonjour, quel est le prix livré à Dakar ?\nMaterial: Cotton\nQuantity Required: 1000 Piece/Pieces", "fr"),
    ("pt-short", "Olá, qual o preço?", "pt"),
    ("it-short", "Buongiorno, vorrei un preventivo", "it"),
    ("zh-card", "你好，请报价\nProduct Name: LED panel\nQuantity: 500 pcs", "zh"),
]


@pytest.mark.parametrize(("text", "lang"), [c[1:] for c in LANGUAGES], ids=[c[0] for c in LANGUAGES])
def test_language_detection(text: str, lang: str) -> None:
    assert parse(mail(text.encode())).language == lang


UNCLEAN = [
    ("surrogates", "Necesitamos 500 unidades \udcff\udce9 con entrega en 30 días, por favor.", "es"),
    ("controls", "We need\x85 2000 pcs\x00 of LED\x1b flood lights\ufffe, please quote.", "en"),
]


@pytest.mark.parametrize(("text", "lang"), [c[1:] for c in UNCLEAN], ids=[c[0] for c in UNCLEAN])
def test_unclean_text_is_detected_without_error(text: str, lang: str) -> None:
    assert detect(text) == (lang, True)


def test_unknown_language_falls_back_to_english_flagged() -> None:
    parsed = parse(mail(b"ok 123"))
    assert (parsed.language, parsed.language_known) == ("en", False)


NOTICE = b"""Dear Supplier,

You have received a new inquiry.
Buyer Country: Saudi Arabia
Quantity Required: 1000 Piece/Pieces

Message from the buyer:
We need 100W solar flood lights with CE.
--------------------------

Reply to this inquiry on TradeHub: https://example.invalid/reply
"""


def test_platform_notification_yields_buyer_text_and_form() -> None:
    parsed = parse(mail(NOTICE, sender=b"TradeHub <no-reply@notice.tradehub-platform.example>",
                        subject=b"New inquiry from buyer Omar about 100W Solar Flood Light"), PLATFORMS)
    assert (parsed.platform, parsed.text, "Quantity Required: 1000" in parsed.form) == (
        "TradeHub", "We need 100W solar flood lights with CE.", True)


def test_ordinary_mail_is_not_a_platform_notice() -> None:
    assert parse(mail(NOTICE), PLATFORMS).platform == ""


def test_header_controls_are_removed() -> None:
    parsed = parse(mail(b"hi", subject=b"=?UTF-8?B?" + base64.b64encode(b"Quote\r\nBcc: x@y.example") + b"?="))
    assert "\n" not in parsed.subject and "\r" not in parsed.subject


def test_attachments_are_listed(tmp_path: Path) -> None:
    body = (b"--b\nContent-Type: text/plain\n\nsee PO\n--b\nContent-Type: application/zip\nContent-Disposition: attachment; "
            b"filename=\"Order No1.zip\"\nContent-Transfer-Encoding: base64\n\nUEsDBA==\n--b--\n")
    parsed = parse(mail(body, ctype='multipart/mixed; boundary="b"', cte="7bit"))
    assert [a.filename for a in parsed.attachments] == ["Order No1.zip"]
