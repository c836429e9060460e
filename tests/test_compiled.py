"""The compiled hot modules of the rules engine: used only while current, and the same results as the sources."""

from __future__ import annotations

import importlib.machinery
import json
import os
from pathlib import Path

import pytest

from extractors import compiled
from tests.clihelp import ROOT, cli

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "mini.jsonl"
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _package(tmp_path: Path, modules: dict[str, tuple[float, float | None]]) -> Path:
    """A package folder with, per module, its source and compiled file written at these times (None: no compiled
    file)."""
    for name, (source_time, compiled_time) in modules.items():
        source = tmp_path / f"{name}.py"
        source.write_text("")
        os.utime(source, (source_time, source_time))
        if compiled_time is not None:
            built = tmp_path / f"{name}{SUFFIX}"
            built.write_bytes(b"")
            os.utime(built, (compiled_time, compiled_time))
    return tmp_path


# (source and compiled file times per module, INQUIRY_TRIAGE_PURE, the modules that run from source)
CASES = [
    ({"checks": (100, 200), "engine": (100, 200)}, False, set()),
    ({"checks": (300, 200), "engine": (100, 200)}, False, {"checks"}),  # edited after compiling
    ({"checks": (100, None), "engine": (100, 200)}, False, set()),  # never compiled: its source anyway
    ({"checks": (100, 200), "engine": (100, 200)}, True, {"checks", "engine"}),
    ({"not_a_hot_module": (300, 200)}, False, set()),
]


@pytest.mark.parametrize(("modules", "pure", "expected"), CASES)
def test_modules_run_from_source(tmp_path: Path, modules: dict, pure: bool, expected: set[str]) -> None:
    assert compiled.sources_first(_package(tmp_path, modules), pure) == expected


@pytest.fixture(scope="module")
def scores() -> dict[str, dict]:
    out = {}
    for mode, env in (("compiled", {}), ("source", {"INQUIRY_TRIAGE_PURE": "1"})):
        result = cli("eval", "--json", str(CORPUS), env=env)
        assert result.returncode == 0, result.stderr.decode()
        out[mode] = json.loads(result.stdout)
    return out


def test_hot_modules_are_compiled() -> None:
    running = compiled.in_use()
    assert all(running.values()), (
        f"not compiled: {sorted(m for m, c in running.items() if not c)}; run `make compiled` "
        "(needs Cython, a C compiler and the Python headers: apt-get install gcc python3-dev)"
    )


def test_compiled_modules_find_what_the_sources_find(scores: dict[str, dict]) -> None:
    assert scores["compiled"] == scores["source"]
