"""customers, export --csv, checklist print and leads add through the real CLI, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import shutil
from pathlib import Path

import pytest

from daemon.demo import sample_files
from tests.clihelp import cli

MAIL = ("01-detailed-rfq-germany", "02-medium-solar-street-nigeria", "08-chinese-power-station-shenzhen")
EXPORT_HEADER = ["company", "contact", "email", "country", "tier", "clarity", "priority", "last_inquiry", "status"]


@pytest.fixture
def workdir(maildir_workdir: Path) -> Path:
    """A folder with a Maildir of three inquiries and a configuration whose store is SQLite or PostgreSQL."""
    by_stem = {p.stem: p for p in sample_files()}
    for n, stem in enumerate(MAIL):
        shutil.copyfile(by_stem[stem], maildir_workdir / "Maildir" / "new" / f"{1790000000 + n}.M{n}P1.{stem}")
    return maildir_workdir


def run(workdir: Path, *args: str, ok: bool = True) -> str:
    result = cli("--config", str(workdir / "config.toml"), *args, cwd=workdir)
    if ok:
        assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def exported(workdir: Path) -> dict[str, dict[str, str]]:
    text = run(workdir, "export", "--csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == EXPORT_HEADER
    return {r[2]: dict(zip(EXPORT_HEADER, r, strict=True)) for r in rows[1:]}


def drafts(workdir: Path) -> list[email.message.EmailMessage]:
    folder = workdir / "Drafts" / "cur"
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]  # type: ignore[misc]


# (address, company, country, tier, clarity, priority, status) after the three inquiries
MAIL_EXPORT = [
    ("k.vogel@nordlicht-handel.example", "Nordlicht Handel GmbH", "", "A", "17", "high", "drafted"),
    ("chinedu.okafor@sunhaven-energy.example", "Sunhaven Energy Solutions Ltd", "", "C", "7", "medium", "drafted"),
    ("chenzy@huatuo-trade.example", "深圳市华拓进出口贸易有限公司", "", "A", "13", "high", "drafted"),
]


def test_customers_from_mail_list_show_and_export(workdir: Path) -> None:
    run(workdir, "run", "--once")
    rows = exported(workdir)
    got = [(a, rows[a]["company"], rows[a]["country"], rows[a]["tier"], rows[a]["clarity"], rows[a]["priority"],
            rows[a]["status"]) for a, *_ in MAIL_EXPORT if a in rows]
    assert (got, len(rows)) == (MAIL_EXPORT, len(MAIL))
    listing = run(workdir, "customers", "list")
    assert all(a in listing for a, *_ in MAIL_EXPORT)
    shown = run(workdir, "customers", "show", "1")
    assert ("history (oldest first)" in shown, "fast_track" in shown or "guided" in shown) == (True, True)
    unknown = cli("--config", str(workdir / "config.toml"), "customers", "show", "999", cwd=workdir)
    assert (unknown.returncode, "no customer 999" in unknown.stderr.decode()) == (1, True)
    run(workdir, "export", "--csv", "--out", str(workdir / "crm.csv"))
    text = (workdir / "crm.csv").read_text(encoding="utf-8")
    assert (text.splitlines()[0], len(text.splitlines())) == (",".join(EXPORT_HEADER), 1 + len(MAIL))


LEADS = (
    "email,company,contact,country,specs,quantity,lead_time,certification,payment_terms,destination,sample,notes\n"
    'ana.torres@andes-solar.cl,Andes Solar SpA,Ana Torres,,"150W solar street light, IP66",800 pcs,45 days,CE,x,'
    "Valparaiso,,met at the booth\n"
    "li.wei@example.com,,Li Wei,China,x,,,,,,x,\n"
    "=cmd@evil.example,=HYPERLINK(1),Eve,,,,,,,,,\n"
)
# (address, company, contact, country, tier, clarity, priority, status)
LEAD_EXPORT = [
    ("ana.torres@andes-solar.cl", "Andes Solar SpA", "Ana Torres", "Chile", "B", "8", "high", "lead"),
    ("li.wei@example.com", "", "Li Wei", "China", "C", "3", "low", "lead"),
    ("'=cmd@evil.example", "'=HYPERLINK(1)", "Eve", "", "C", "2", "low", "lead"),  # no formula reaches a spreadsheet
]


def test_leads_add_scores_stores_and_drafts_once(workdir: Path) -> None:
    (workdir / "leads.csv").write_text(LEADS, encoding="utf-8")
    out = run(workdir, "leads", "add", "--from-csv", str(workdir / "leads.csv"), "--event", "Intersolar 2026")
    assert out.count("saved") == 3
    rows = exported(workdir)
    got = [(a, rows[a]["company"], rows[a]["contact"], rows[a]["country"], rows[a]["tier"], rows[a]["clarity"],
            rows[a]["priority"], rows[a]["status"]) for a, *_ in LEAD_EXPORT]
    assert got == LEAD_EXPORT
    first = {str(d["To"]): d for d in drafts(workdir)}
    ana = first["Ana Torres <ana.torres@andes-solar.cl>"]
    body = ana.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (str(ana["Subject"]), ana["In-Reply-To"], "800 pcs" in body, "Payment terms: [[what was said at Intersolar 2026]]" in body) \
        == ("Intersolar 2026: Andes Solar SpA", None, True, True)
    again = run(workdir, "leads", "add", "--from-csv", str(workdir / "leads.csv"), "--event", "Intersolar 2026")
    shown = run(workdir, "customers", "show", "1")
    assert (again.count("added before"), len(drafts(workdir)), "inquiries: 1" in shown) == (3, 3, True)
    assert ("source: lead" in shown, "Intersolar 2026: Andes Solar SpA" in shown) == (True, True)


BAD_LEADS = [
    ("unknown column", "email,company,colour\na@b.example,A,red\n", ":1: unknown column 'colour'"),
    ("no email column", "company,quantity\nA,5\n", ":1: no email column"),
    ("bad address", "email,quantity\nnot-an-address,5\n", ":2: email 'not-an-address' is not an e-mail address"),
    ("cells off", "email,quantity\na@b.example,5,6\n", ":2: 3 cells but the header has 2 columns"),
    ("bad language", "email,language\na@b.example,xx\n", ":2: language 'xx' is not a template language"),
    ("second row bad", "email,quantity\na@b.example,5\n\nc@d,7\n", ":4: email 'c@d' is not an e-mail address"),
    ("empty file", "", ":1: empty file"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in BAD_LEADS], ids=[c[0] for c in BAD_LEADS])
def test_leads_bad_input_names_file_line_and_fix(tmp_path: Path, text: str, message: str) -> None:
    """The file is read whole before anything is stored: the error names file, line and fix, and no store is made."""
    path = tmp_path / "leads.csv"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "config.toml").write_text(f'[store]\nurl = "sqlite:///{tmp_path / "triage.sqlite3"}"\n', encoding="utf-8")
    result = cli("--config", str(tmp_path / "config.toml"), "leads", "add", "--from-csv", str(path), cwd=tmp_path)
    err = result.stderr.decode()
    assert (result.returncode, f"{path}{message}" in err, (tmp_path / "triage.sqlite3").exists()) == (2, True, False), err


def test_leads_with_a_bad_row_store_nothing_of_the_good_ones(workdir: Path) -> None:
    path = workdir / "leads.csv"
    path.write_text("email,quantity\na@b.example,5\nc@d,7\n", encoding="utf-8")
    result = cli("--config", str(workdir / "config.toml"), "leads", "add", "--from-csv", str(path), cwd=workdir)
    assert (result.returncode, drafts(workdir)) == (2, [])
    run(workdir, "db", "upgrade")
    assert run(workdir, "export", "--csv").splitlines()[1:] == []  # nothing stored


def test_leads_item_names_as_printed_are_columns(workdir: Path) -> None:
    (workdir / "leads.csv").write_text("E-mail,Company,Quantity,Lead time,Target price\nb@c.example,B Ltd,200 pcs,x,\n",
                                       encoding="utf-8")
    run(workdir, "leads", "add", "--from-csv", str(workdir / "leads.csv"))
    assert exported(workdir)["b@c.example"]["clarity"] == "3"


# (arguments, exit code, text that must be there, tick boxes expected)
PRINT_CASES = [
    ("md all languages", ("--format", "md"), 0, "# Trade-show checklist (en)", 12 * 10),
    ("md 18 en zh", ("--format", "md", "--items", "18", "--lang", "en,zh"), 0, "展会客户需求清单", 18 * 2),
    ("html default 12", ("--format", "html"), 0, '<section lang="ar" dir="rtl">', 12 * 10),
    ("html 4 de", ("--items", "4", "--lang", "de"), 0, "Messe-Checkliste", 4),
    ("too many items", ("--items", "19"), 2, "--items 19: choose 1 to 18", 0),
    ("unknown language", ("--lang", "en,xx"), 2, "--lang xx: not a template language", 0),
]


@pytest.mark.parametrize(("args", "code", "text", "boxes"), [c[1:] for c in PRINT_CASES], ids=[c[0] for c in PRINT_CASES])
def test_checklist_print(args: tuple[str, ...], code: int, text: str, boxes: int) -> None:
    result = cli("checklist", "print", *args)
    out = result.stdout.decode()
    assert (result.returncode, text in out + result.stderr.decode(),
            out.count("- [ ]") + out.count('role="checkbox"')) == (code, True, boxes)
