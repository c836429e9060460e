"""Attachments end to end: the real CLI as a subprocess (explain, and `run --once` on a Maildir and on a real Dovecot
over IMAP), with RFQ files in several languages and layouts and a hostile set; every hostile file is refused within
the limits, nothing crashes, and the messages after them are processed."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import attachment_fixtures as fx
from tests.clihelp import cli
from tests.dovecot import Dovecot, append, drafts, running_dovecot, write_config

PW = "PW_SALES"
DATE = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)
SIG = fx.SIGNATURE

# (id, body, subject, attachments, language, action, line items, first line item (product, quantity, target price, source))
GOOD = [
    ("en-xlsx", "Dear Brightway team,\n\nPlease quote the items in the attached RFQ." + SIG, "RFQ-2026-0417",
     [("RFQ_2026.xlsx", fx.XLSX, fx.rfq_xlsx_en)], "en", "precise_quote", 3,
     ("All-in-one solar street light", "400 sets", "USD 85", "RFQ_2026.xlsx, RFQ!A9:H9")),
    ("zh-xlsx", "您好，\n\n请按附件询价单报价，谢谢。\n\n陈志远\n采购经理\n深圳市远航贸易有限公司\n电话：+86 755 2345 6789\nwww.yuanhang-trade.example",
     "询价：储能电源", [("询价单.xlsx", fx.XLSX, fx.rfq_xlsx_zh)], "zh", "precise_quote", 2,
     ("便携式储能电源", "600 台", "USD 168", "询价单.xlsx, 询价单!A4:H4")),
    ("es-ods", "Estimados señores:\n\nAdjuntamos nuestra solicitud de cotización. Les agradeceremos su mejor oferta.\n\n"
     "Saludos cordiales,\nCarolina Muñoz\nGerente de Compras\nFerretería Andes SpA\nTel: +56 2 2345 6789\nwww.ferreteria-andes.example",
     "Solicitud de cotización focos LED", [("solicitud.ods", "application/vnd.oasis.opendocument.spreadsheet", fx.rfq_ods_es)],
     "es", "precise_quote", 2, ("Foco LED 100W IP65", "1200 unidades", "USD 9.8", "solicitud.ods, Hoja1!B5:H5")),
    ("de-csv", "Sehr geehrte Damen und Herren,\n\nanbei unsere Anfrage als CSV-Datei. Bitte um Ihr Angebot." + SIG,
     "Anfrage 2026-118", [("anfrage.csv", "text/csv", fx.rfq_csv_de)], "de", "follow_up_questions", 2,
     ("LED-Fluter 150W IP66 5000K", "800 Stück", "EUR 21,40", "anfrage.csv, A3:F3")),
    ("fr-xls", "Bonjour,\n\nVeuillez trouver ci-joint notre demande de prix.\n\nCordialement," + SIG, "Demande de prix",
     [("demande.xls", "application/vnd.ms-excel", fx.rfq_xls_fr)], "fr", "follow_up_questions", 2,
     ("Lampadaire solaire tout-en-un 60W", "250 pièces", "EUR 79", "demande.xls, Feuil1!A4:F4")),
    ("en-pdf", "Hello,\n\nOur specification is attached; please send your offer." + SIG, "Harbour lighting tender",
     [("spec.pdf", "application/pdf", fx.spec_pdf)], "en", "precise_quote", 2,
     ("LED flood light 200W, 5000K, IP66", "800 pcs", "USD 24.00", "spec.pdf, page 2")),
    ("en-docx-po", "Hello,\n\nPlease find our purchase order attached and confirm." + SIG, "Purchase order PO-2026-7731",
     [("PO-2026-7731.docx", fx.DOCX, fx.purchase_order_docx)], "en", "order_confirmation", 2,
     ("LiFePO4 battery 12V 100Ah with BMS", "500 pcs", "USD 118.00", "PO-2026-7731.docx, table 1, row 2")),
]

# (id, subject, attachment, status, reason words, whether the mail is a lure)
HOSTILE = [
    ("zip-bomb-xlsx", "RFQ attached", ("RFQ.xlsx", fx.XLSX, fx.zip_bomb_xlsx), "refused", "ZIP bomb", False),
    ("forged-zip", "RFQ attached", ("RFQ.xlsx", fx.XLSX, fx.lying_zip_xlsx), "refused", "Bad CRC-32", False),
    ("pdf-5000-pages", "Specification", ("spec.pdf", "application/pdf", fx.many_pages_pdf), "refused", "5000 pages", False),
    ("pdf-inflating", "Specification", ("spec.pdf", "application/pdf", fx.inflating_pdf), "refused", "decompression bomb", False),
    ("pdf-cyclic", "Specification", ("spec.pdf", "application/pdf", fx.cyclic_pdf), "refused", "cyclic", False),
    ("pdf-encrypted", "Specification", ("spec.pdf", "application/pdf", fx.encrypted_pdf), "refused", "password", False),
    ("macro-workbook", "Purchase order", ("PO.xlsm", fx.XLSX, fx.macro_xlsm), "refused", "macros", True),
    ("html-po", "Purchase order PO-88213", ("PO_88213.html", "text/html", fx.html_po), "refused", "HTML", True),
    ("password-zip", "Purchase order PO-88213", ("PO_88213.zip", "application/zip", fx.password_zip), "refused", "password-protected", True),
]


def good_mail(case: tuple) -> bytes:
    _, body, subject, files, *_ = case
    sender = "Buyer <buyer@" + case[0] + ".example>"
    return fx.mail(body, [(n, t, make()) for n, t, make in files], subject=subject, sender=sender, date=DATE)


def hostile_mail(case: tuple) -> bytes:
    name, subject, (file, ctype, make), *_ = case
    body = "Please see the attached file and reply with your offer." + SIG
    return fx.mail(body, [(file, ctype, make())], subject=subject, sender=f"Buyer <buyer@{name}.example>", date=DATE)


@pytest.fixture(scope="module")
def explained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """`explain --json` of every good and hostile mail, in one run of the CLI."""
    folder = tmp_path_factory.mktemp("att")
    paths = []
    for case in GOOD:
        paths.append(folder / f"{case[0]}.eml")
        paths[-1].write_bytes(good_mail(case))
    for case in HOSTILE:
        paths.append(folder / f"{case[0]}.eml")
        paths[-1].write_bytes(hostile_mail(case))
    result = cli("explain", "--json", *map(str, paths), timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    return {p.stem: json.loads(line) for p, line in zip(paths, lines, strict=True)}


@pytest.mark.parametrize("case", GOOD, ids=[c[0] for c in GOOD])
def test_explain_shows_line_items_and_the_attachment(explained: dict[str, dict], case: tuple) -> None:
    name, _, _, files, language, action, count, (product, quantity, price, source) = case
    out = explained[name]
    first = out["line_items"][0]
    assert (out["language"], out["action"], len(out["line_items"])) == (language, action, count)
    assert (first["product"], first["quantity"], first["target_price"], first["source"]) == (product, quantity, price, source)
    (att,) = out["attachments"]
    assert (att["file"], att["status"], att["contributed"]["line_items"]) == (files[0][0], "read", count)
    assert out["items"]["specs"]["part"] == "attachment" and out["items"]["specs"]["source"].startswith(files[0][0] + ", ")
    assert att["contributed"]["items"]["specs"] == out["items"]["specs"]["source"]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_explain_shows_the_refusal(explained: dict[str, dict], case: tuple) -> None:
    name, _, (file, *_), status, words, lure = case
    out = explained[name]
    (att,) = out["attachments"]
    assert (att["file"], att["status"], words in att["reason"]) == (file, status, True), att["reason"]
    assert out["signals"]["invalid"] is lure
    if lure:
        assert file in out["signal_reasons"]["invalid"]


def _drafts_by_parent(folder: Path) -> dict[str, email.message.EmailMessage]:
    out = {}
    for path in sorted((folder / "cur").glob("*")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out[str(msg["In-Reply-To"]).strip()] = msg
    return out


def _message_ids(mails: list[bytes]) -> list[str]:
    return [str(email.message_from_bytes(m, policy=email.policy.default)["Message-ID"]).strip() for m in mails]


def _mixed() -> tuple[list[bytes], set[int]]:
    """The hostile mails between good ones, a good one last; the positions of the lures (no draft)."""
    mails = [good_mail(GOOD[0])]
    lures = set()
    for case in HOSTILE:
        if case[5]:
            lures.add(len(mails))
        mails.append(hostile_mail(case))
    mails.append(good_mail(GOOD[6]))
    return mails, lures


def _text(msg: email.message.EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_maildir_run_once_survives_the_hostile_set(tmp_path: Path) -> None:
    mails, lures = _mixed()
    inbox = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True)
    for n, data in enumerate(mails):
        (inbox / "new" / f"{1790000000 + n}.M{n}P1.att{n}").write_bytes(data)
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "sqlite:///triage.sqlite3"\n\n[[mailboxes]]\nname = "sales"\nkind = "maildir"\n'
                      'path = "Maildir"\ndrafts = "Drafts"\n', encoding="utf-8")
    result = cli("--config", str(config), "run", "--once", cwd=tmp_path, timeout=300)
    log = result.stderr.decode()
    assert result.returncode == 0 and "Traceback" not in log, log[-3000:]
    with sqlite3.connect(tmp_path / "triage.sqlite3") as db:
        statuses = sorted(s for (s,) in db.execute("SELECT status FROM messages"))
    assert statuses == sorted(["drafted"] * (len(mails) - len(lures)) + ["skipped"] * len(lures))
    ids = _message_ids(mails)
    saved = _drafts_by_parent(tmp_path / "Drafts")
    assert set(saved) == {ids[i] for i in range(len(mails)) if i not in lures}
    rfq, po = _text(saved[ids[0]]), _text(saved[ids[-1]])
    assert "as listed in your RFQ_2026.xlsx" in rfq and "All-in-one solar street light (BW-SSL60)" in rfq
    assert "LiFePO4 battery 12V 200Ah with BMS (BW-LFP12200)" in po and "200 pcs" in po


@pytest.fixture(scope="module")
def server() -> Iterator[Dovecot]:
    with running_dovecot() as s:
        yield s


def test_imap_run_once_survives_the_hostile_set(server: Dovecot, tmp_path: Path) -> None:
    mails, lures = _mixed()
    user, pw = server.add_user()
    with server.connect(user, pw) as c:
        append(c, mails)
    config = write_config(tmp_path, server.mailbox_toml("sales", user, PW, backfill_days=3650))
    result = cli("--config", str(config), "run", "--once", cwd=tmp_path, env={PW: pw}, timeout=300)
    log = result.stderr.decode()
    assert result.returncode == 0 and "Traceback" not in log and "quarantined" not in log, log[-3000:]
    with server.connect(user, pw) as c:
        saved = {in_reply: msg for in_reply, msg in ((str(m["In-Reply-To"]).strip(), m) for m in
                 (email.message_from_bytes(d, policy=email.policy.default) for _, _, d in drafts(c)))}
    ids = _message_ids(mails)
    assert set(saved) == {ids[i] for i in range(len(mails)) if i not in lures}
    assert "as listed in your RFQ_2026.xlsx" in _text(saved[ids[0]])  # type: ignore[arg-type]


def test_explain_on_a_terminal_lists_the_attachment_and_the_places_of_its_evidence(tmp_path: Path) -> None:
    path = tmp_path / "rfq.eml"
    path.write_bytes(good_mail(GOOD[0]))
    result = cli("explain", str(path), env={"COLUMNS": "200"})
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "attachment RFQ_2026.xlsx (xlsx, 5.5 KB): read - 1 sheet(s), 11 rows" in out
    assert "part RFQ_2026.xlsx, RFQ: " in out and "gave 3 line item(s)" in out
    assert "RFQ_2026.xlsx, RFQ!A3:B3" in out  # where CIF Mombasa stands, beside its evidence
