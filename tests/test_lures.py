"""Scam, spam and lure mail against genuine buyers, whole messages through parse and extract: which invalid
condition holds (decisions.toml [[signals.invalid]]), or none. Each lure has genuine buyers beside it that it must
not catch: the same headers or wording on a mail that states what the buyer needs."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from daemon import config as config_mod
from daemon.parse.message import parse
from daemon.toolkit import Toolkit, load_toolkit
from extractors.core.model import Checklist, MessageKey, RawMessage

# genuine buyers, each stating several concrete requirements, in several languages
BUYER_EN = ("Dear Anna,\n\nWe need 2,000 pcs of 150W LED flood lights, IP66, aluminium housing, 5000K.\n"
            "Delivery within 45 days to Hamburg, payment T/T 30% deposit.\n\nBest regards\nPeter Lang\nPurchasing Manager")
BUYER_ES = ("Hola María,\n\nNecesitamos 500 unidades de paneles LED de 60x60 cm, 40W, carcasa de aluminio.\n"
            "Entrega en 30 días en Valencia.\n\nSaludos\nJorge Ruiz")
BUYER_ZH = "王经理您好：\n\n我们需要5000个不锈钢保温杯，容量500ml，304不锈钢，印我们的logo。交期30天。\n\n李明"
GENERIC_EN = "Dear Sir/Madam,\n\nPlease send us your latest price list and catalogue.\n\nRegards\nTom"
PAYMENT_EN = "Dear Sir,\n\nPlease find attached the payment advice for the invoice below.\n\nRegards\nKevin"

SPAM_FLAG = (("X-Spam-Flag", "YES"),)
SPAM_STATUS = (("X-Spam-Status", "Yes, score=11.2 required=5.0 tests=FREEMAIL_FROM"),)
RSPAMD_RESULT = (("X-Spamd-Result", "default: True [15.40 / 15.00]"),)
RSPAMD_ACTION = (("X-Rspamd-Action", "add header"),)
RSPAMD_NO_ACTION = (("X-Rspamd-Action", "no action"),)
DMARC_FAIL = (("Authentication-Results", "mx.example.net; spf=pass smtp.mailfrom=x; dmarc=fail (p=reject) header.from=bank.example"),)
CLEAN = (("X-Spam-Status", "No, score=-0.4"), ("Authentication-Results", "mx.example.net; spf=pass; dkim=pass; dmarc=pass"))

# (id, headers, From, Reply-To, body, the invalid condition that holds or None)
CASES = [
    ("spam-flag-generic", SPAM_FLAG, "tom@trade-house.example", "", GENERIC_EN, "INVALID_UPSTREAM_SPAM"),
    ("spam-status-generic", SPAM_STATUS, "tom@trade-house.example", "", GENERIC_EN, "INVALID_UPSTREAM_SPAM"),
    ("rspamd-result-generic", RSPAMD_RESULT, "tom@trade-house.example", "", GENERIC_EN, "INVALID_UPSTREAM_SPAM"),
    ("rspamd-action-generic", RSPAMD_ACTION, "tom@trade-house.example", "", GENERIC_EN, "INVALID_UPSTREAM_SPAM"),
    ("rspamd-no-action-generic", RSPAMD_NO_ACTION, "tom@trade-house.example", "", GENERIC_EN, None),
    ("spam-flag-on-a-buyer-en", SPAM_FLAG, "peter.lang@lang-elektro.example", "", BUYER_EN, None),
    ("spam-flag-on-a-buyer-es", SPAM_FLAG, "jorge@ruiz-iluminacion.example", "", BUYER_ES, None),
    ("spam-flag-on-a-buyer-zh", SPAM_FLAG, "liming@cups.example", "", BUYER_ZH, None),
    ("dmarc-fail-payment", DMARC_FAIL, "kevin@bank.example", "", PAYMENT_EN, "INVALID_UPSTREAM_AUTH_ORDER"),
    ("dmarc-fail-on-a-buyer", DMARC_FAIL, "peter.lang@lang-elektro.example", "", BUYER_EN, None),
    ("clean-payment", CLEAN, "kevin@bank.example", "", PAYMENT_EN, None),
    ("reply-to-look-alike", (), "ngala@larimasamb.example", "ngala@larimasamba.example", GENERIC_EN, "INVALID_REPLY_TO_LOOK_ALIKE"),
    ("reply-to-same-name-other-tld", (), "tom@trade-house.de", "tom@trade-house.com", BUYER_EN, None),
    ("reply-to-look-alike-on-a-buyer", (), "peter@lang-elektro.example", "peter@lang-elektra.example", BUYER_EN, None),
    ("reply-to-free-mail-price-list", (), "buyer@trade-house.example", "tradehouse.buyer@gmail.com", GENERIC_EN.replace("Dear Sir/Madam", "Dear Anna"),
     "INVALID_REPLY_TO_FREEMAIL_GENERIC"),
    ("reply-to-free-mail-buyer", (), "peter@lang-elektro.example", "peter.lang@gmail.com", BUYER_EN, None),
    ("sender-imitates-signed-name", (), "joe@bakertiliy.example", "", "Good day,\n\nPlease send your price list.\n\nJoe\nBaker Tilly",
     "INVALID_SENDER_LOOK_ALIKE"),
    ("sender-imitates-platform", (), "feedback@service.aiibaba.example", "", "Please check the inquiry and revert.", "INVALID_SENDER_LOOK_ALIKE"),
    ("sender-name-plural-of-domain", (), "tom@acmelight.example", "", GENERIC_EN + "\nAcme Lights GmbH", None),
    ("sender-one-letter-off-buyer", (), "peter@langelectro.example", "", BUYER_EN + "\nLang Elektro GmbH", None),
    ("sender-same-name-buyer-es", (), "jorge@ruizluz.example", "", BUYER_ES + "\nRuiz Luz S.L.", None),
    ("greets-an-address", (), "tom@trade-house.example", "", "Dear sales@seller.example,\n\nWe need your products, send your best price.", "LURE_GREETS_ADDRESS"),
    ("greets-a-mailbox-name", (), "tom@trade-house.example", "", "Hello sales-dept,\n\nPlease find our new order and revert.", "LURE_GREETS_ADDRESS"),
    ("greets-a-merge-field", (), "tom@trade-house.example", "", "Good day [[First Name]]\n\nKindly send your catalogue.", "LURE_GREETS_ADDRESS"),
    ("greets-a-merge-field-es", (), "tom@trade-house.example", "", "Hola {{nombre}},\n\nEnvíenos su catálogo, por favor.", "LURE_GREETS_ADDRESS"),
    ("greets-a-person-hyphenated", (), "tom@trade-house.example", "", "Hi Jean-Luc,\n\nPlease send your price list.", None),
    ("greets-a-buyer-address-line", (), "peter.lang@lang-elektro.example", "", BUYER_EN.replace("Dear Anna", "Dear sales@seller.example"), None),
    ("portal-lure", (), "rm@university.example", "", "Dear Sir/Madam,\n\nPlease sign in to our supplier portal to check the purchase order and "
     "send your best price.", "INVALID_PORTAL_LURE"),
    ("portal-with-a-buyer", (), "peter.lang@lang-elektro.example", "", BUYER_EN + "\nThe drawings are in our secure portal.", None),
]


@pytest.fixture(scope="module")
def kit() -> Toolkit:
    return load_toolkit(config_mod.embedded_default(), quiet=True, drafts=False)


def checklist(kit: Toolkit, headers: tuple[tuple[str, str], ...], sender: str, reply_to: str, body: str,
              subject: str = "Inquiry") -> Checklist:
    msg = EmailMessage()
    msg["From"] = sender
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["To"] = "sales@seller.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<lure-test@example>"
    for name, value in headers:
        msg[name] = value
    msg.set_content(body)
    parsed = parse(RawMessage(MessageKey("t", "INBOX", 1, 1), msg.as_bytes()), kit.platforms)
    return kit.extractor.extract(parsed)


@pytest.mark.parametrize(("headers", "sender", "reply_to", "body", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_condition(kit: Toolkit, headers: tuple[tuple[str, str], ...], sender: str, reply_to: str, body: str,
                           rule: str | None) -> None:
    found = next((s for s in checklist(kit, headers, sender, reply_to, body).signals if s.name == "invalid"), None)
    assert (found.rule if found else None) == rule, found.reason if found else "not invalid"


def test_each_verdict_is_a_reason_explain_shows(kit: Toolkit) -> None:
    signals = checklist(kit, SPAM_FLAG + DMARC_FAIL, "kevin@bank.example", "", PAYMENT_EN).signals
    reasons = {s.name: s.reason for s in signals}
    assert ("x-spam-flag: YES" in reasons["invalid"], "DMARC" in reasons["upstream_auth_fail"]) == (True, True)


# (id, subject, body, the rule that makes it invalid or None): lure wording against genuine buyers who use the
# same words for their own needs
WORDING = [
    ("download-quotation-pt", "Solicitação de Orçamento", "Prezados,\n\nSolicitamos orçamento conforme arquivo.\n\nBaixar Orçamento", "LURE_DOWNLOAD_DOCUMENT"),
    ("download-order-es", "Pedido nuevo", "Estimados:\n\nDescargue la orden de compra en el enlace.", "LURE_DOWNLOAD_DOCUMENT"),
    ("download-order-fr", "Commande", "Bonjour,\n\nTéléchargez le bon de commande ci-dessous.", "LURE_DOWNLOAD_DOCUMENT"),
    ("download-catalogue-buyer-fr", "Demande", "Bonjour Anne,\n\nJ'ai téléchargé votre catalogue. Nous voulons 300 lampes LED 10W, "
     "boîtier en aluminium, livraison à Lyon.", None),
    ("quote-request-buyer-pt", "Orçamento", "Olá Carlos,\n\nPrecisamos de orçamento para 1.000 garrafas térmicas de 500 ml, aço inox 304, "
     "com nosso logo.", None),
    ("file-transfer-order", "Files for you", "buyer@example.com\nsent you\nPurchase_Order_#5531.pdf\n\nGet your files\nDownload link",
     "LURE_FILE_TRANSFER_ORDER"),
    ("file-transfer-drawings-buyer", "Files for you", "peter@lang-elektro.example\nsent you\nDrawings_LED_v2.zip\n\nWe need 2,000 pcs "
     "of 150W flood lights, IP66, aluminium housing.", None),
    ("e-signature-notice", "Please DocuSign: PO 7781", "Your signature is requested on a document.\n\nClick 'Review Documents' "
     "and enter the security code.", "LURE_E_SIGNATURE"),
    ("middleman", "Supply contract", "Good morning,\n\nWe buy this oil in large quantities. I will give you the contact of the dealer "
     "in your country and we share the profit.", "LURE_MIDDLEMAN"),
    ("agent-buyer", "Agent", "Dear Anna,\n\nPlease give us the contact of your agent in Spain. We need 500 pcs of model LT-220, "
     "aluminium, delivery in 30 days.", None),
    ("open-account", "Order Enquiry", "Dear partner,\n\nWe would like to order with you. Send your catalogue. All our transactions "
     "are strictly on open account.", "LURE_CREDIT_TERMS"),
    ("net-terms-buyer", "RFQ", "Dear Anna,\n\nPlease quote 2,000 pcs of 150W flood lights, IP66, aluminium housing. Payment net 60 "
     "days after delivery.", None),
    ("anonymous-order-attached", "RE: new order", "Hello Sir,\n\nDid you get my last mail? Please confirm our new order attached "
     "urgently.", "INVALID_ANONYMOUS_ORDER"),
    ("named-order-attached", "PO 4471", "Dear Anna,\n\nPlease confirm our new order attached.\n\nPeter", None),
    ("anonymous-order-with-items", "PO 4471", "Dear Sir,\n\nOur order is attached: 2,000 pcs of 150W flood lights, IP66, "
     "delivery to Hamburg within 45 days.", None),
    ("card-and-private-shipper", "Order", "Hello,\n\nI need 300 pcs of the 10W lamp. I will pay by credit card and our private "
     "shipper will pick up the goods.", "INVALID_CARD_AND_SHIPPER"),
    ("overpayment-to-shipper", "Payment", "Dear Anna,\n\nWe sent a cheque for a higher amount, please refund the difference to our "
     "private shipper.", "INVALID_OVERPAYMENT"),
    ("card-buyer-own-forwarder", "Order", "Dear Anna,\n\nWe need 300 pcs of the 10W lamp, aluminium body. We pay by credit card, our "
     "forwarder in Shenzhen collects.", None),
    ("card-buyer-es", "Pedido", "Hola María,\n\nNecesitamos 500 unidades de paneles LED de 60x60 cm, 40W. Pagaremos con tarjeta de "
     "crédito.", None),
    ("need-your-products-en", "Products Inquiry", "Hello,\n\nWe need your products and your price list.", "GENERIC_INTEREST_YOUR_PRODUCTS"),
    ("generic-interest-es", "Consulta", "Estimados señores:\n\nEstamos interesados en sus productos. Envíen su catálogo.",
     "GENERIC_INTEREST_ANY_LANGUAGE"),
    ("generic-interest-fr", "Demande", "Madame, Monsieur,\n\nNous sommes intéressés par vos produits, merci d'envoyer vos prix.",
     "GENERIC_INTEREST_ANY_LANGUAGE"),
    ("generic-interest-de", "Anfrage", "Sehr geehrte Damen und Herren,\n\nwir haben Interesse an Ihren Produkten. Bitte senden Sie "
     "Ihre Preisliste.", "GENERIC_INTEREST_ANY_LANGUAGE"),
    ("interest-with-items-es", "Consulta", "Hola María,\n\nEstamos interesados en sus productos: 500 unidades de paneles LED de "
     "60x60 cm, 40W, carcasa de aluminio.", None),
    ("interest-with-items-en", "RFQ", "Dear Anna,\n\nWe have an inquiry regarding your products: 2,000 pcs of 150W flood lights, "
     "IP66, aluminium housing.", None),
    ("buy-on-credit", "Partnership", "Dear Sir/Madam,\n\nWe are a leading retailer and would like your catalogue. Payment will be "
     "made 90 days after receipt of the goods.", "INVALID_BUY_ON_CREDIT"),
    ("buy-on-credit-es", "Consulta", "Estimados:\n\nEnvíen su catálogo, por favor. Pago a 90 días.", "INVALID_BUY_ON_CREDIT"),
    ("prepare-pi-anonymous", "Order", "Dear Sir,\n\nKindly prepare the PI so we can pay today.", "INVALID_ANONYMOUS_ORDER"),
    ("prepare-pi-known-buyer", "PI", "Dear Anna,\n\nKindly prepare the PI so we can pay today.\n\nPeter", None),
    ("zh-invoice-service", "发票", "您好！本公司代开各类增值税专用发票，点数优惠，可验证后付款。", "ZH_LURE_INVOICE_SERVICE"),
    ("zh-buyer-asks-vat-invoice", "询价", "王经理您好：我们需要5000个保温杯，304不锈钢，请开具增值税专用发票。", None),
    ("zh-generic-large-quantity", "询价", "您好，这是我们公司急需的大量商品的询问，请尽快联系。", "ZH_GENERIC_LARGE_QUANTITY"),
    ("zh-quote-sent-to-you", "请确认订单", "问候，请检查刚发送给您的报价后立即与我们联系。", "ZH_LURE_QUOTE_SENT_TO_YOU"),
    ("zh-buyer-large-quantity", "询价", "王经理您好：我们需要大量的保温杯，5000个，304不锈钢，容量500ml，交期30天。", None),
    ("zh-buyer-drawings-sent", "询价", "王经理您好：请查看刚发给您的图纸，我们需要3000个，铝合金外壳，交期45天。", None),
]


def test_wording_table_is_large_enough() -> None:
    assert (len(WORDING) >= 12, sum(1 for c in WORDING if c[3] is None) >= 5) == (True, True)


@pytest.mark.parametrize(("subject", "body", "rule"), [c[1:] for c in WORDING], ids=[c[0] for c in WORDING])
def test_lure_wording(kit: Toolkit, subject: str, body: str, rule: str | None) -> None:
    found = next((s for s in checklist(kit, (), "sender@trade.example", "", body, subject).signals if s.name == "invalid"), None)
    assert (found.rule if found else None) == rule, found.reason if found else "not invalid"
