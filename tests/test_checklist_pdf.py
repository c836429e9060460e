"""checklist print --format pdf through the real CLI, read back with pypdf: a page per language with its title, the
numbered items and their drawn tick boxes; the clear error (and no file) when no font covers a language."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pypdf import PdfReader

from daemon.draft_context import TEMPLATE_LANGS
from daemon.drafting import load_labels
from extractors.core.model import ITEM_IDS
from extractors.rules import shipped_dir
from tests.clihelp import ROOT, cli

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core: Latin, Cyrillic, Arabic; no CJK
BOX = re.compile(rb" 12\.76 -12\.76 re S")  # a 4.5 mm tick box drawn as a rectangle


def title(lang: str) -> str:
    words = tomllib.loads((shipped_dir() / "sheet.toml").read_text(encoding="utf-8"))["sheet"]
    return str(words.get(lang, words["en"])["title"])


def fontconfig_covers(lang: str) -> bool:
    """What the machine's fontconfig lists for the language: the test's expectation follows it."""
    listed = subprocess.run(["fc-list", f":lang={'zh-cn' if lang == 'zh' else lang}", "file"], capture_output=True,
                            text=True, check=True).stdout
    return bool(listed.strip())


def numbered(text: str) -> dict[int, set[str]]:
    """The words of each numbered item line (brackets dropped: an extracted right-to-left line mirrors them)."""
    out: dict[int, set[str]] = {}
    for line in text.splitlines():
        if m := re.match(r"(\d+)(?!\d)\s*(.*)", line.strip()):
            out.setdefault(int(m[1]), set(re.sub(r"[()]", " ", m[2]).split()))
    return out


def check_pages(data: bytes, langs: tuple[str, ...], count: int) -> list[tuple[str, bool, int, int]]:
    """Per page: its language, whether the title is there, how many items read back as printed, the boxes drawn."""
    labels = load_labels(shipped_dir())
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == len(langs)
    rows = []
    for lang, page in zip(langs, reader.pages, strict=True):
        text, items = page.extract_text(), numbered(page.extract_text())
        same = sum(items.get(n) == set(re.sub(r"[()]", " ", labels.label(i, lang)).split())
                   for n, i in enumerate(ITEM_IDS[:count], 1))
        rows.append((lang, title(lang) in text, same, len(BOX.findall(page.get_contents().get_data()))))
    return rows


@pytest.fixture(scope="module")
def every_language() -> subprocess.CompletedProcess[bytes]:
    """Every template language to stdout, which is a pipe here (not a terminal), so the PDF goes there."""
    return cli("checklist", "print", "--format", "pdf", "--items", "12")


def test_every_language_a_page_or_the_missing_font_named(every_language: subprocess.CompletedProcess[bytes]) -> None:
    missing = [lang for lang in TEMPLATE_LANGS if not fontconfig_covers(lang)]
    if missing:  # e.g. no CJK font installed: the error names the language and the fix, and nothing is printed
        err = every_language.stderr.decode()
        assert (every_language.returncode, f"the {missing[0]} page" in err, "--font" in err,
                every_language.stdout) == (2, True, True, b""), err
        return
    assert every_language.returncode == 0, every_language.stderr.decode()
    assert check_pages(every_language.stdout, TEMPLATE_LANGS, 12) == [(lang, True, 12, 12) for lang in TEMPLATE_LANGS]


def test_all_items_on_one_page_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    result = cli("checklist", "print", "--format", "pdf", "--items", "18", "--lang", "en", "--out", str(out))
    assert (result.returncode, result.stdout, f"checklist written to {out}" in result.stderr.decode()) == (0, b"", True)
    assert check_pages(out.read_bytes(), ("en",), 18) == [("en", True, 18, 18)]


def fonts_conf(tmp_path: Path) -> dict[str, str]:
    """A fontconfig that knows only DejaVu: no font for Chinese."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<fontconfig><dir>{DEJAVU.parent}</dir>'
                    f"<cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n", encoding="utf-8")
    return {"FONTCONFIG_FILE": str(conf)}


# (case, arguments, environment, text the error must hold)
ERROR_CASES = [
    ("--font without CJK for zh", ("--lang", "en,zh", "--font", str(DEJAVU)), None,
     "no font given covers the zh page (Chinese;"),
    ("fontconfig without CJK for zh", ("--lang", "en,zh"), fonts_conf,
     "no font covers the zh page (Chinese): fontconfig lists no font for :lang=zh-cn"),
]


@pytest.mark.parametrize(("args", "env", "text"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_no_font_for_a_language(tmp_path: Path, args: tuple[str, ...], env: object, text: str) -> None:
    out = tmp_path / "sheet.pdf"
    result = cli("checklist", "print", "--format", "pdf", "--out", str(out), *args,
                 env=env(tmp_path) if callable(env) else None)
    err = result.stderr.decode()
    assert (result.returncode, text in err, "apt-get install fonts-wqy-zenhei or fonts-noto-cjk" in err,
            "--font PATH" in err, out.exists()) == (2, True, True, True, False), err


def test_pdf_refused_to_a_terminal() -> None:
    leader, terminal = os.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "daemon", "checklist", "print", "--format", "pdf"], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=terminal, capture_output=False,
                                stderr=subprocess.PIPE, timeout=180, check=False)
    finally:
        os.close(terminal)
        os.close(leader)
    assert (result.returncode, "write it with --out FILE" in result.stderr.decode()) == (2, True), result.stderr
