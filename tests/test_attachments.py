"""Attachments read like the body: each fixture file through the real parse stage and attachment worker, to its kind
and status, its line items and checklist items (values asserted), or its refusal; the worker's bounds."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from daemon import config as config_mod
from daemon.assess import assess
from daemon.parse.message import parse
from daemon.parse.readers import Limits
from daemon.parse.sandbox import Sandbox
from daemon.toolkit import Toolkit, load_toolkit
from extractors.core.model import Assessment, MessageKey, ParsedMessage, RawMessage
from extractors.tables import load_headers
from tests import attachment_fixtures as fx

PDF, CSV, XLS, ODS = "application/pdf", "text/csv", "application/vnd.ms-excel", "application/vnd.oasis.opendocument.spreadsheet"
BODY = "Dear Brightway team,\n\nPlease quote the items in the attached file." + fx.SIGNATURE


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    yield box
    box.close()


@pytest.fixture(scope="module")
def kit() -> Toolkit:
    return load_toolkit(config_mod.embedded_default(), quiet=True)


def analysed(kit: Toolkit, sandbox: Sandbox, files: list[tuple[str, str, bytes]], body: str = BODY,
             subject: str = "RFQ - please quote as attached") -> tuple[ParsedMessage, Assessment]:
    raw = RawMessage(MessageKey("t", "INBOX", 1, 1), fx.mail(body, files, subject=subject))
    parsed = parse(raw, kit.platforms, reader=sandbox)
    return parsed, assess(kit.extractor.extract(parsed), kit.decisions)


# (id, file name, declared type, maker, kind, status, words of the reason)
FILES: list[tuple[str, str, str, Callable[[], bytes], str, str, str]] = [
    ("xlsx-en", "RFQ_2026.xlsx", fx.XLSX, fx.rfq_xlsx_en, "xlsx", "read", "1 sheet(s), 11 rows"),
    ("xlsx-zh", "询价单.xlsx", fx.XLSX, fx.rfq_xlsx_zh, "xlsx", "read", "1 sheet(s), 5 rows"),
    ("ods-es", "solicitud.ods", ODS, fx.rfq_ods_es, "ods", "read", "1 sheet(s), 5 rows"),
    ("csv-de", "anfrage.csv", CSV, fx.rfq_csv_de, "csv", "read", "4 rows"),
    ("xls-fr", "demande.xls", XLS, fx.rfq_xls_fr, "xls", "read", "1 sheet(s), 4 rows"),
    ("pdf-spec", "spec.pdf", PDF, fx.spec_pdf, "pdf", "read", "2 page(s)"),
    ("docx-po", "PO-2026-7731.docx", fx.DOCX, fx.purchase_order_docx, "docx", "read", "6 paragraph(s), 1 table(s)"),
    ("zip-bomb-xlsx", "RFQ.xlsx", fx.XLSX, fx.zip_bomb_xlsx, "xlsx", "refused", "unpacks to 300 MB, over the 100 MB limit"),
    ("forged-zip-sizes", "RFQ.xlsx", fx.XLSX, fx.lying_zip_xlsx, "xlsx", "refused", "Bad CRC-32"),
    ("far-cell-xlsx", "RFQ.xlsx", fx.XLSX, lambda: _far_cell(), "xlsx", "refused", "span 17,179,869,184 cells"),
    ("ods-repeat-bomb", "RFQ.ods", ODS, fx.ods_repeat_bomb, "ods", "refused", "over 2,000,000 cells"),
    ("pdf-5000-pages", "spec.pdf", PDF, fx.many_pages_pdf, "pdf", "refused", "5000 pages, over the limit of 100"),
    ("pdf-cyclic", "spec.pdf", PDF, fx.cyclic_pdf, "pdf", "refused", "cyclic"),
    ("pdf-inflating", "spec.pdf", PDF, fx.inflating_pdf, "pdf", "refused", "decompression bomb"),
    ("pdf-encrypted", "spec.pdf", PDF, fx.encrypted_pdf, "pdf", "refused", "needs a password"),
    ("xlsm-macro", "RFQ.xlsm", fx.XLSX, fx.macro_xlsm, "macro_document", "refused", "xl/vbaProject.bin"),
    ("html-po", "PO_88213.pdf", PDF, fx.html_po, "html", "refused", "HTML document"),
    ("zip-password", "PO_88213.zip", "application/zip", fx.password_zip, "archive", "refused", "password-protected; 1 file(s): PO_88213.pdf.exe"),
    ("iso", "PO.iso", "application/octet-stream", fx.iso_image, "disk_image", "refused", "disk image"),
    ("exe-named-pdf", "invoice.pdf", PDF, fx.executable, "executable", "refused", "a program"),
    ("xlsx-truncated", "RFQ.xlsx", fx.XLSX, fx.broken_xlsx, "damaged", "refused", "damaged ZIP file"),
    ("script-by-name", "PO.js", "text/plain", lambda: b"var a = 1;", "script", "refused", "a script"),
    ("image", "photo.png", "image/png", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image", "skipped", "no text is read"),
]


def _far_cell() -> bytes:
    def build(ws) -> None:  # noqa: ANN001
        ws["A1"], ws["XFD1048576"] = "Item", "x"
    return fx._xlsx(build)


@pytest.mark.parametrize(("name", "ctype", "make", "kind", "status", "why"), [f[1:] for f in FILES], ids=[f[0] for f in FILES])
def test_kind_status_and_reason(kit: Toolkit, sandbox: Sandbox, name: str, ctype: str, make: Callable[[], bytes],
                                kind: str, status: str, why: str) -> None:
    parsed, _ = analysed(kit, sandbox, [(name, ctype, make())])
    (att,) = parsed.attachments
    assert (att.kind, att.status, why in att.reason) == (kind, status, True), att.reason


# (id, maker, file name, [(product, model, parameters, quantity, amount, unit, target price, source)])
LINE_ITEMS = [
    ("xlsx-en merged header, title block", fx.rfq_xlsx_en, "RFQ_2026.xlsx", [
        ("All-in-one solar street light", "BW-SSL60", "60W, 6500K, IP65, LiFePO4 12.8V 30Ah", "400 sets", 400, "sets", "USD 85", "RFQ_2026.xlsx, RFQ!A9:H9"),
        ("Solar flood light with remote control", "BW-SFL100", "100W, IP66", "120 pcs", 120, "pcs", "USD 28.5", "RFQ_2026.xlsx, RFQ!A10:H10"),
        ("Galvanised pole 6 m", "", "Q235 steel, hot-dip galvanised", "400 pcs", 400, "pcs", "", "RFQ_2026.xlsx, RFQ!A11:H11"),
    ]),
    ("xlsx-zh", fx.rfq_xlsx_zh, "询价单.xlsx", [
        ("便携式储能电源", "500W 磷酸铁锂 AC220V", "", "600 台", 600, "台", "USD 168", "询价单.xlsx, 询价单!A4:H4"),
        ("磷酸铁锂电池", "12V 100Ah", "", "300 个", 300, "个", "USD 210", "询价单.xlsx, 询价单!A5:G5"),
    ]),
    ("ods-es from column B", fx.rfq_ods_es, "solicitud.ods", [
        ("Foco LED 100W IP65", "BW-FL100", "", "1200 unidades", 1200, "unidades", "USD 9.8", "solicitud.ods, Hoja1!B5:H5"),
        ("Foco LED 200W IP65", "BW-FL200", "", "300 unidades", 300, "unidades", "USD 17.5", "solicitud.ods, Hoja1!B6:H6"),
    ]),
    ("csv-de semicolons cp1252", fx.rfq_csv_de, "anfrage.csv", [
        ("LED-Fluter 150W IP66 5000K", "BW-FL150", "", "800 Stück", 800, "stück", "EUR 21,40", "anfrage.csv, A3:F3"),
        ("LED-Fluter 200W IP66 5000K", "BW-FL200", "", "250 Stück", 250, "stück", "EUR 27,90", "anfrage.csv, A4:F4"),
    ]),
    ("xls-fr legacy", fx.rfq_xls_fr, "demande.xls", [
        ("Lampadaire solaire tout-en-un 60W", "BW-SSL60", "", "250 pièces", 250, "pièces", "EUR 79", "demande.xls, Feuil1!A4:F4"),
        ("Batterie LiFePO4 12V 200Ah", "BW-LFP12200", "", "40 pièces", 40, "pièces", "EUR 380", "demande.xls, Feuil1!A5:F5"),
    ]),
    ("xlsx-pt unit in the quantity header", fx.rfq_xlsx_pt_two_tables, "cotacao.xlsx", [
        ("Refletor LED", "", "150W, IP66, 100-277V", "1500 peças", 1500, "peças", "USD 19", "cotacao.xlsx, Cotação!B7:E7"),
    ]),
    ("pdf table on page 2", fx.spec_pdf, "spec.pdf", [
        ("LED flood light 200W, 5000K, IP66", "BW-FL200", "", "800 pcs", 800, "pcs", "USD 24.00", "spec.pdf, page 2"),
        ("LED flood light 100W, 5000K, IP66", "BW-FL100", "", "1600 pcs", 1600, "pcs", "USD 12.50", "spec.pdf, page 2"),
    ]),
    ("docx purchase order", fx.purchase_order_docx, "PO-2026-7731.docx", [
        ("LiFePO4 battery 12V 100Ah with BMS", "BW-LFP12100", "", "500 pcs", 500, "pcs", "USD 118.00", "PO-2026-7731.docx, table 1, row 2"),
        ("LiFePO4 battery 12V 200Ah with BMS", "BW-LFP12200", "", "200 pcs", 200, "pcs", "USD 205.00", "PO-2026-7731.docx, table 1, row 3"),
    ]),
]


@pytest.mark.parametrize(("make", "name", "expected"), [c[1:] for c in LINE_ITEMS], ids=[c[0] for c in LINE_ITEMS])
def test_line_items(kit: Toolkit, sandbox: Sandbox, make: Callable[[], bytes], name: str, expected: list[tuple]) -> None:
    _, a = analysed(kit, sandbox, [(name, "application/octet-stream", make())])
    got = [(li.product, li.model, li.parameters, li.quantity, li.amount, li.unit, li.target_price, li.source)
           for li in a.checklist.line_items]
    assert got == expected


# (id, maker, file name, {item: value}) : what the attachment states, the body (BODY) stating none of it
ITEMS = [
    ("xlsx-en", fx.rfq_xlsx_en, "RFQ_2026.xlsx", {
        "quantity": {"amount": 400, "unit": "sets"}, "lead_time": {"days": 45},
        "target_price": {"amount": 85, "currency": "USD", "per": "unit"}, "payment_terms": {"terms": "L/C at sight", "methods": ["L/C"]},
        "trade_terms": {"term": "CIF", "place": "Mombasa"}, "certification": ["CE", "IEC 62133"]}),
    ("xlsx-zh", fx.rfq_xlsx_zh, "询价单.xlsx", {"quantity": {"amount": 600, "unit": "台"}, "lead_time": {"days": 30},
                                               "target_price": {"amount": 168, "currency": "USD", "per": "unit"}}),
    ("ods-es", fx.rfq_ods_es, "solicitud.ods", {"quantity": {"amount": 1200, "unit": "unidades"}, "lead_time": {"days": 40},
                                                "trade_terms": {"term": "CIF", "place": "Valparaíso"}}),
    ("pdf-spec", fx.spec_pdf, "spec.pdf", {"quantity": {"amount": 800, "unit": "pcs"}, "certification": ["CE", "RoHS"],
                                           "target_price": {"amount": 24, "currency": "USD", "per": "unit"}}),
    ("docx-po", fx.purchase_order_docx, "PO-2026-7731.docx", {
        "quantity": {"amount": 500, "unit": "pcs"}, "shipping": "by sea",
        "target_price": {"amount": 118, "currency": "USD", "per": "unit"}}),
]


@pytest.mark.parametrize(("make", "name", "expected"), [c[1:] for c in ITEMS], ids=[c[0] for c in ITEMS])
def test_items_from_the_attachment(kit: Toolkit, sandbox: Sandbox, make: Callable[[], bytes], name: str, expected: dict) -> None:
    _, a = analysed(kit, sandbox, [(name, "application/octet-stream", make())])
    findings = {item: a.checklist.get(item) for item in expected}
    assert {item: f.value if f else None for item, f in findings.items()} == expected
    assert all(f is not None and f.part == "attachment" and f.source.startswith(name + ", ") for f in findings.values())


def test_the_body_wins_over_the_attachment(kit: Toolkit, sandbox: Sandbox) -> None:
    body = "Please quote 50 sets of the solar street light, delivery within 20 days." + fx.SIGNATURE
    _, a = analysed(kit, sandbox, [("RFQ_2026.xlsx", fx.XLSX, fx.rfq_xlsx_en())], body=body)
    quantity, lead = a.checklist.get("quantity"), a.checklist.get("lead_time")
    assert (quantity.part, quantity.value["amount"], lead.part, lead.value) == ("text", 50, "text", {"days": 20})
    assert len(a.checklist.line_items) == 3


def test_a_spreadsheet_raises_clarity_to_a_precise_quote(kit: Toolkit, sandbox: Sandbox) -> None:
    raw = RawMessage(MessageKey("t", "INBOX", 1, 1), fx.mail(BODY, [("RFQ_2026.xlsx", fx.XLSX, fx.rfq_xlsx_en())]))
    without = kit.extractor.extract(parse(raw, kit.platforms, reader=None))
    _, a = analysed(kit, sandbox, [("RFQ_2026.xlsx", fx.XLSX, fx.rfq_xlsx_en())])
    assert (without.clarity, a.clarity, a.action) == (2, 10, "precise_quote")


DANGEROUS = [("html", "PO_88213.html", fx.html_po), ("archive", "PO_88213.zip", fx.password_zip),
             ("disk image", "PO.iso", fx.iso_image), ("program", "PO.pdf.exe", fx.executable),
             ("macro document", "PO.xlsm", fx.macro_xlsm)]


@pytest.mark.parametrize(("name", "make"), [d[1:] for d in DANGEROUS], ids=[d[0] for d in DANGEROUS])
def test_a_dangerous_file_where_the_order_should_be_is_a_lure(kit: Toolkit, sandbox: Sandbox, name: str,
                                                              make: Callable[[], bytes]) -> None:
    _, a = analysed(kit, sandbox, [(name, "application/octet-stream", make())], subject="Purchase Order PO-88213",
                    body="Please see the attached purchase order and confirm." + fx.SIGNATURE)
    invalid = next(s for s in a.checklist.signals if s.name == "invalid")
    assert (invalid.rule, name in invalid.reason, a.action) == ("INVALID_RISKY_ATTACHMENT", True, "none")


def test_the_same_file_named_as_an_archive_but_a_spreadsheet_is_no_lure(kit: Toolkit, sandbox: Sandbox) -> None:
    _, a = analysed(kit, sandbox, [("order.zip", "application/zip", fx.rfq_xlsx_en())], subject="Purchase order")
    assert (a.checklist.signal("invalid"), len(a.checklist.line_items)) == (False, 3)


# header words of the ten languages (rules/table_headers.toml), one case a line
HEADERS = [
    ("Description", "product"), ("Item Code", "model"), ("Qty (pcs)", "quantity"), ("Target Price (USD)", "target_price"),
    ("Unit", "unit"), ("Lead time", "delivery"), ("No.", "item"), ("Remarks", "remarks"), ("Total", "amount"),
    ("品名", "product"), ("规格型号", "model"), ("采购数量", "quantity"), ("目标价（美元）", "target_price"), ("交货期", "delivery"),
    ("Descripción", "product"), ("Cantidad", "quantity"), ("Precio objetivo", "target_price"), ("Plazo de entrega", "delivery"),
    ("Désignation", "product"), ("Quantité", "quantity"), ("Prix cible", "target_price"), ("Délai de livraison", "delivery"),
    ("Bezeichnung", "product"), ("Menge", "quantity"), ("Zielpreis (EUR)", "target_price"), ("Liefertermin", "delivery"),
    ("Descrição", "product"), ("Quantidade", "quantity"), ("Preço alvo", "target_price"), ("Prazo de entrega", "delivery"),
    ("Наименование", "product"), ("Кол-во", "quantity"), ("Целевая цена", "target_price"), ("Срок поставки", "delivery"),
    ("الوصف", "product"), ("الكمية", "quantity"), ("السعر المستهدف", "target_price"), ("موعد التسليم", "delivery"),
    ("Ürün adı", "product"), ("Miktar", "quantity"), ("Hedef fiyat", "target_price"), ("Teslim tarihi", "delivery"),
    ("Descrizione", "product"), ("Quantità", "quantity"), ("Prezzo target", "target_price"), ("Data di consegna", "delivery"),
    ("Quantity required:", "quantity"), ("Unit price", "target_price"), ("Packing", ""), ("Dear Sir", ""),
]


@pytest.mark.parametrize(("cell", "role"), HEADERS, ids=[h[0] for h in HEADERS])
def test_header_words(cell: str, role: str) -> None:
    assert load_headers().role(cell) == role


# -- the worker's bounds -------------------------------------------------------------------------------------------

def test_an_attachment_over_the_time_limit_is_refused_and_the_next_one_read() -> None:
    box = Sandbox(Limits(max_pages=100_000), size=1)
    try:
        slow = box.read("spec.pdf", fx.many_pages_pdf(20_000), seconds=0.05)  # what is left of a message's time
        good = box.read("RFQ_2026.xlsx", fx.rfq_xlsx_en())
    finally:
        box.close()
    assert ("took longer than 0.05 s" in slow["reason"], good["status"], box.started) == (True, "read", 2)


def test_an_attachment_over_the_memory_limit_ends_the_worker_not_the_daemon() -> None:
    def wide(ws) -> None:  # noqa: ANN001  # 20,000 x 702 cells for the spreadsheet reader to lay out
        ws["A1"], ws["ZZ20000"] = "Item", "x"

    box = Sandbox(Limits(memory_mb=250, max_area=10**12), size=1)
    try:
        big = box.read("RFQ.xlsx", fx._xlsx(wide))
        good = box.read("RFQ_2026.xlsx", fx.rfq_xlsx_en())
    finally:
        box.close()
    assert big["status"] == "refused" and ("memory limit of 250 MB" in big["reason"]), big["reason"]
    assert (good["status"], box.started) == ("read", 2)


def test_the_worker_is_reused_across_messages(kit: Toolkit) -> None:
    box = Sandbox(size=1)
    try:
        for _ in range(3):
            analysed(kit, box, [("RFQ_2026.xlsx", fx.XLSX, fx.rfq_xlsx_en()), ("spec.pdf", PDF, fx.spec_pdf())])
    finally:
        box.close()
    assert box.started == 1


def test_the_worker_holds_no_secret_of_the_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALES_IMAP_PASSWORD", "s3cret")
    box = Sandbox(size=1)
    try:
        box.read("RFQ_2026.xlsx", fx.rfq_xlsx_en())
        (pid,) = box.pids()
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    finally:
        box.close()
    assert b"s3cret" not in environ and b"PYTHONPATH=" in environ


def test_a_sign_in_lure_inside_a_pdf_is_invalid_and_its_link_is_named(kit: Toolkit, sandbox: Sandbox) -> None:
    parsed, a = analysed(kit, sandbox, [("PO-88213.pdf", PDF, fx.lure_pdf())], subject="New Purchase Order PO-88213",
                         body="Dear Sir/Madam,\n\nKindly find attached our purchase order and confirm.\n\nRegards,\nPurchase Manager")
    invalid = next(s for s in a.checklist.signals if s.name == "invalid")
    assert (invalid.rule, invalid.reason.endswith("(in an attachment)"), a.action) == ("SIG_LURE", True, "none")
    assert "http://brightway-power-docs.login-secure.example/owa/auth/po-view.php" in parsed.links
