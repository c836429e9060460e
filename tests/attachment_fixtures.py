"""Attachments written for the tests, by code: RFQ spreadsheets in several layouts and languages, specification
PDFs, a Word purchase order, and hostile files. Every name, company and figure in them is invented.

`mail(...)` wraps attachments in an RFC 5322 message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage

import docx
import openpyxl
import xlwt
from fpdf import FPDF
from openpyxl.styles import Font

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _xlsx(build) -> bytes:  # noqa: ANN001
    wb = openpyxl.Workbook()
    build(wb.active)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rfq_xlsx_en() -> bytes:
    """English RFQ: a merged title, a title block of terms, a merged "Quantity" header over "Qty | Unit"."""
    def build(ws) -> None:  # noqa: ANN001
        ws.title = "RFQ"
        ws["A1"] = "REQUEST FOR QUOTATION  RFQ-2026-0417"
        ws.merge_cells("A1:H1")
        ws["A1"].font = Font(bold=True)
        ws["A2"], ws["B2"] = "Project:", "Mombasa Road street lighting, phase 2"
        ws["A3"], ws["B3"] = "Delivery terms:", "CIF Mombasa, Kenya"
        ws["A4"], ws["B4"] = "Payment terms:", "L/C at sight"
        ws["A5"], ws["B5"] = "Certification:", "CE and IEC 62133 for the batteries"
        ws.append([])
        ws.append(["No.", "Description", "Model", "Specification", "Quantity", None, "Target price (USD)", "Delivery"])
        ws.merge_cells("E7:F7")
        ws.append([None, None, None, None, "Qty", "Unit", None, None])
        ws.append([1, "All-in-one solar street light", "BW-SSL60", "60W, 6500K, IP65, LiFePO4 12.8V 30Ah", 400, "sets", 85, "within 45 days"])
        ws.append([2, "Solar flood light with remote control", "BW-SFL100", "100W, IP66", 120, "pcs", 28.5, "within 45 days"])
        ws.append([3, "Galvanised pole 6 m", "", "Q235 steel, hot-dip galvanised", 400, "pcs", None, "within 45 days"])
        ws.append([None, "Total", None, None, 920, None, None, None])
    return _xlsx(build)


def rfq_xlsx_zh() -> bytes:
    """Chinese RFQ: a two-line title block, headers in Chinese with the currency in brackets."""
    def build(ws) -> None:  # noqa: ANN001
        ws.title = "询价单"
        ws["A1"] = "询价单"
        ws["A2"] = "交货地点：迪拜杰贝阿里港"
        ws.append(["序号", "品名", "规格型号", "数量", "单位", "目标价（美元）", "交期", "备注"])
        ws.append([1, "便携式储能电源", "500W 磷酸铁锂 AC220V", 600, "台", 168, "30天内", "中性包装"])
        ws.append([2, "磷酸铁锂电池", "12V 100Ah", 300, "个", 210, "30天内", ""])
    return _xlsx(build)


def rfq_ods_es() -> bytes:
    """Spanish RFQ as an OpenDocument spreadsheet (written by hand: content.xml in a ZIP), the table from column B."""
    def row(*cells: object) -> str:
        out = "<table:table-cell/>"
        for c in cells:
            if isinstance(c, (int, float)):
                out += f'<table:table-cell office:value-type="float" office:value="{c}"><text:p>{c}</text:p></table:table-cell>'
            else:
                out += f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
        return f"<table:table-row>{out}</table:table-row>"

    rows = [
        row("Solicitud de cotización - Ferretería Andes SpA"),
        row("Condiciones:", "CIF Valparaíso, pago 30% anticipo"),
        "<table:table-row><table:table-cell/></table:table-row>",
        row("Ítem", "Descripción", "Modelo", "Cantidad", "Unidad", "Precio objetivo (USD)", "Plazo de entrega"),
        row(1, "Foco LED 100W IP65", "BW-FL100", 1200, "unidades", 9.8, "40 días"),
        row(2, "Foco LED 200W IP65", "BW-FL200", 300, "unidades", 17.5, "40 días"),
    ]
    return ods(rows)


def ods(rows: list[str], sheet: str = "Hoja1") -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{"".join(rows)}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def rfq_csv_de() -> bytes:
    """German RFQ as a semicolon CSV in cp1252."""
    text = ("Anfrage Nr. 2026-118;;;;;\r\nPos.;Bezeichnung;Artikelnummer;Menge;Einheit;Zielpreis (EUR)\r\n"
            "1;LED-Fluter 150W IP66 5000K;BW-FL150;800;Stück;21,40\r\n2;LED-Fluter 200W IP66 5000K;BW-FL200;250;Stück;27,90\r\n")
    return text.encode("cp1252")


def rfq_xls_fr() -> bytes:
    """French RFQ in the legacy Excel format (BIFF8)."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Feuil1")
    rows = [["Demande de prix - Lumière Antilles SARL"], [],
            ["N°", "Désignation", "Référence", "Quantité", "Unité", "Prix cible (EUR)"],
            [1, "Lampadaire solaire tout-en-un 60W", "BW-SSL60", 250, "pièces", 79],
            [2, "Batterie LiFePO4 12V 200Ah", "BW-LFP12200", 40, "pièces", 380]]
    for r, values in enumerate(rows):
        for c, v in enumerate(values):
            ws.write(r, c, v)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rfq_xlsx_pt_two_tables() -> bytes:
    """Portuguese RFQ with the header on row 6 after a wide title block, unit in the quantity header."""
    def build(ws) -> None:  # noqa: ANN001
        ws.title = "Cotação"
        ws["B2"] = "PEDIDO DE COTAÇÃO"
        ws.merge_cells("B2:F3")
        ws["B4"] = "Destino: Porto de Santos, Brasil"
        ws["B6"], ws["C6"], ws["D6"], ws["E6"] = "Produto", "Especificações", "Quantidade (peças)", "Preço alvo (USD)"
        ws["B7"], ws["C7"], ws["D7"], ws["E7"] = "Refletor LED", "150W, IP66, 100-277V", 1500, 19
    return _xlsx(build)


def spec_pdf() -> bytes:
    """A two-page specification sheet: prose terms on page 1, a table of items on page 2."""
    pdf = FPDF()
    pdf.set_auto_page_break(True, 15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 10, "Technical specification - Harbour area lighting", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "Luminaires shall be certified to CE and RoHS. Housing: die-cast aluminium, IP66, IK08. "
                         "Colour temperature 5000K. Packing: export carton, 4 pcs per carton, palletized.")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    with pdf.table(col_widths=(12, 60, 30, 18, 18, 30)) as table:
        for values in (("Item", "Description", "Model", "Qty", "Unit", "Target price"),
                       ("1", "LED flood light 200W, 5000K, IP66", "BW-FL200", "800", "pcs", "USD 24.00"),
                       ("2", "LED flood light 100W, 5000K, IP66", "BW-FL100", "1600", "pcs", "USD 12.50")):
            row = table.row()
            for v in values:
                row.cell(v)
    return bytes(pdf.output())


def purchase_order_docx() -> bytes:
    """A Word purchase order: header paragraphs with terms, a table of lines."""
    d = docx.Document()
    d.add_heading("PURCHASE ORDER PO-2026-7731", level=1)
    for line in ("Buyer: Lakeside Hardware Inc., 410 Harbor Drive, Duluth, MN, USA",
                 "Payment terms: T/T 30% deposit, 70% against copy of B/L",
                 "Trade terms: FOB Ningbo",
                 "Ship by: 15 January 2027, by sea to Duluth"):
        d.add_paragraph(line)
    table = d.add_table(rows=1, cols=5)
    for cell, text in zip(table.rows[0].cells, ("Item", "Description", "Model", "Quantity", "Unit price (USD)"), strict=True):
        cell.text = text
    for values in (("1", "LiFePO4 battery 12V 100Ah with BMS", "BW-LFP12100", "500 pcs", "118.00"),
                   ("2", "LiFePO4 battery 12V 200Ah with BMS", "BW-LFP12200", "200 pcs", "205.00")):
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    d.add_paragraph("Please confirm this order by return.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


# -- hostile files -------------------------------------------------------------------------------------------------

def zip_bomb_xlsx(unpacked_mb: int = 300) -> bytes:
    """A workbook whose one sheet unpacks to `unpacked_mb` MB of rows (about 300 KB packed)."""
    out = io.BytesIO()
    row = b"<row><c t=\"inlineStr\"><is><t>x</t></is></c></row>" * 1000
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            for _ in range(unpacked_mb * 1_000_000 // len(row)):
                member.write(row)
            member.write(b"</sheetData></worksheet>")
    return out.getvalue()


def lying_zip_xlsx() -> bytes:
    """A workbook with a member that claims 2 KB in the ZIP directory but unpacks to 48 MB (forged sizes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(rfq_xlsx_en())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/worksheets/sheet9.xml", b"x" * 2048)
    blob = bytearray(out.getvalue())
    name = b"xl/worksheets/sheet9.xml"
    header = blob.find(name) - 30  # its local header comes before the central directory
    assert blob[header:header + 4] == b"PK\x03\x04"
    comp_size = struct.unpack("<I", blob[header + 18:header + 22])[0]
    start = header + 30 + len(name) + struct.unpack("<H", blob[header + 28:header + 30])[0]
    packed = zlib.compress(b"<row/>" * 8_000_000, 9)[2:-4]  # raw deflate
    return _forge(blob, start, comp_size, packed, header)


def _forge(blob: bytearray, start: int, comp_size: int, packed: bytes, header: int) -> bytes:
    """Put `packed` in place of a member's data, fixing the offsets of the central directory after it."""
    shift = len(packed) - comp_size
    new = bytearray(blob[:start] + packed + blob[start + comp_size:])
    struct.pack_into("<I", new, header + 18, len(packed))  # compressed size: true, so the reader finds the next header
    end = new.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", new[end + 16:end + 20])[0] + shift
    struct.pack_into("<I", new, end + 16, cd_offset)
    pos = cd_offset
    while new[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", new[pos + 28:pos + 34])
        local = struct.unpack("<I", new[pos + 42:pos + 46])[0]
        if local == header:
            struct.pack_into("<I", new, pos + 20, len(packed))
        elif local > header:
            struct.pack_into("<I", new, pos + 42, local + shift)
        pos += 46 + n + m + k
    return bytes(new)


def many_pages_pdf(pages: int = 5000) -> bytes:
    """A PDF of `pages` empty pages, written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [" + " ".join(f"{3 + i} 0 R" for i in range(pages)) + f"] /Count {pages} >>"]
    objects += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    return _pdf(objects)


def cyclic_pdf() -> bytes:
    """A PDF whose page tree contains itself: a reader that follows it without care never ends."""
    return _pdf(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                 "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def inflating_pdf(unpacked_mb: int = 400) -> bytes:
    """A one-page PDF whose content stream inflates to `unpacked_mb` MB of text operators."""
    chunk = b"BT /F1 1 Tf (x) Tj ET\n" * 50_000
    z = zlib.compressobj(9)
    packed = b"".join(z.compress(chunk) for _ in range(unpacked_mb * 1_000_000 // len(chunk))) + z.flush()
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               (f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n").encode("latin-1") + packed + b"\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return _pdf(objects)


def _pdf(objects: list[str | bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        body = obj if isinstance(obj, bytes) else obj.encode("latin-1")
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypted_pdf() -> bytes:
    """A specification PDF that needs a password to open."""
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner-2026", user_password="open-2026")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.cell(0, 10, "Specification: 100W flood light, 2000 pcs")
    return bytes(pdf.output())


def macro_xlsm() -> bytes:
    """A workbook with a VBA project (the macro is a stub: it is never run, only found)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(rfq_xlsx_en())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(info, data)
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"Sub Auto_Open()")
    return out.getvalue()


def html_po() -> bytes:
    """An HTML "purchase order" that is a login form."""
    return (b"<!DOCTYPE html><html><head><title>Purchase Order PO-88213</title></head><body>"
            b"<h2>View Purchase Order</h2><form action=\"https://login-secure.example/po\" method=\"post\">"
            b"Email <input name=\"email\"> Password <input type=\"password\" name=\"pw\"></form>"
            b"<script>document.forms[0].email.focus()</script></body></html>")


def password_zip() -> bytes:
    """A ZIP archive whose one member is encrypted (the password would be in the mail's text)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("PO_88213.pdf.exe", b"MZ" + b"\x00" * 200)
    blob = bytearray(out.getvalue())
    blob[6] |= 0x1  # local header: encrypted
    cd = blob.find(b"PK\x01\x02")
    blob[cd + 8] |= 0x1  # central directory: encrypted
    return bytes(blob)


def iso_image() -> bytes:
    """The start of an ISO 9660 disk image."""
    return b"\x00" * 0x8001 + b"CD001\x01" + b"\x00" * 2042


def executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 100 + b"PE\x00\x00"


def broken_xlsx() -> bytes:
    """A workbook cut in half in transit."""
    data = rfq_xlsx_en()
    return data[: len(data) // 2]


def ods_repeat_bomb() -> bytes:
    """An ODS sheet of a few bytes that repeats one filled cell over a million rows and a thousand columns."""
    cell = '<table:table-cell office:value-type="string" table:number-columns-repeated="1000"><text:p>x</text:p></table:table-cell>'
    return ods([f'<table:table-row table:number-rows-repeated="1000000">{cell}</table:table-row>'], "Sheet1")


# -- messages ------------------------------------------------------------------------------------------------------

def mail(body: str, attachments: list[tuple[str, str, bytes]], subject: str = "RFQ - please quote as attached",
         sender: str = "Wanjiru Kamau <w.kamau@savanna-infra.example>", message_id: str = "",
         date: dt.datetime | None = None) -> bytes:
    """A message with a text body and attachments (name, content type, bytes)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Brightway Sales <sales@brightway-power.example>"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(date or dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC))
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="savanna-infra.example")
    msg.set_content(body)
    for name, ctype, data in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


SIGNATURE = ("\n\nBest regards,\nWanjiru Kamau\nProcurement Officer\nSavanna Infrastructure Ltd\n"
             "Tel: +254 20 765 4321\nwww.savanna-infra.example\n")


def lure_pdf() -> bytes:
    """A one-page "document" whose only content is a sign-in lure with a link to a look-alike of the seller's domain."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Secure document: Purchase Order PO-88213.\nThis document is protected. To view it, click "
                         "VIEW DOCUMENT below and sign in with your email account and password.")
    pdf.set_text_color(0, 0, 255)
    pdf.cell(0, 10, "VIEW DOCUMENT", link="http://brightway-power-docs.login-secure.example/owa/auth/po-view.php")
    return bytes(pdf.output())
