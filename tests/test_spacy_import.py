"""spaCy is imported without its command line, which stays importable (see `extractors.spacy_import`).

Each case runs in a fresh interpreter: this test process has imported spaCy long before.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("cli-not-loaded", "import extractors.engine, sys; print(sorted({'typer', 'weasel', 'requests', 'httpx', 'spacy.cli'} & set(sys.modules)))", "[]"),
    ("matcher-works", "import extractors.engine; from extractors.tokenize import blank; print(len(blank('en').make_doc('CE and RoHS')))", "3"),
    ("cli-importable-later", "import extractors.engine; import spacy.cli; print(callable(spacy.cli.download))", "True"),
    ("info-loads-cli", "import extractors.engine, spacy; print(sorted(spacy.info(silent=True))[-1])", "spacy_version"),
]


@pytest.mark.parametrize(("code", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_spacy_import(code: str, expected: str) -> None:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1:] == [expected], out.stderr[-2000:]
