"""The rules engine's hot modules compiled with Cython, unchanged: about 10 % fewer machine instructions per
extraction (see docs/benchmarks.md). Optional: without a compiled module, its Python source runs, with the same
results.

`python -m extractors.compiled build` compiles the modules in place (needs Cython, a C compiler and the Python
headers; `make compiled` does it for a checkout, the Containerfile for the image); `remove` deletes them. A
compiled module older than its source is not used (its source is, with a warning), so an edited module never runs
stale; `INQUIRY_TRIAGE_PURE=1` in the environment runs every module from its source.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
MODULES = ("checks", "engine", "prefilter", "multiscan", "cues", "normalise", "identity", "safe_regex", "checklist")


def compiled_file(name: str, package: Path = PACKAGE) -> Path | None:
    """The compiled module `name` of the package, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = package / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def sources_first(package: Path = PACKAGE, pure: bool | None = None) -> frozenset[str]:
    """The hot modules that run from their source although compiled: all of them when `pure` (by default:
    INQUIRY_TRIAGE_PURE=1), else those whose source changed after they were compiled."""
    if pure is None:
        pure = os.environ.get("INQUIRY_TRIAGE_PURE") == "1"
    out = set()
    for name in MODULES:
        path = compiled_file(name, package)
        if path is not None and (pure or (package / f"{name}.py").stat().st_mtime > path.stat().st_mtime):
            out.add(name)
    return frozenset(out)


def in_use() -> dict[str, bool]:
    """For each hot module: whether it runs compiled (imports them)."""
    out = {}
    for name in MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        out[name] = not str(module.__file__).endswith(".py")
    return out


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules of this package as their Python source (ahead of a compiled file)."""

    def __init__(self, names: frozenset[str]):
        self.names = {f"{__package__}.{name}": name for name in names}

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        name = self.names.get(fullname)
        if name is None:
            return None
        return importlib.util.spec_from_file_location(fullname, PACKAGE / f"{name}.py")


def install_source_finder() -> None:
    """Run from source the compiled modules that must not run compiled (see `sources_first`)."""
    names = sources_first()
    if not names:
        return
    if os.environ.get("INQUIRY_TRIAGE_PURE") != "1":
        log.warning("extractors: %s changed after compiling; running from source (run `make compiled` or "
                    "`python -m extractors.compiled build` to compile again)", ", ".join(sorted(f"{n}.py" for n in names)))
    sys.meta_path.insert(0, _SourceFinder(names))


def build() -> None:
    """Compile the hot modules in place."""
    from Cython.Build import cythonize  # noqa: PLC0415 - only for building
    from setuptools import Distribution  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="extractors-build-") as tmp:
        extensions = cythonize(
            [str(PACKAGE / f"{name}.py") for name in MODULES],
            build_dir=tmp,
            compiler_directives={"language_level": "3"},
            nthreads=os.cpu_count() or 1,
            quiet=True,
        )
        dist = Distribution({"ext_modules": extensions})
        cmd = dist.get_command_obj("build_ext")
        cmd.inplace = False
        cmd.build_lib = str(PACKAGE.parent)
        cmd.build_temp = tmp
        cmd.parallel = os.cpu_count() or 1
        cmd.ensure_finalized()
        cmd.run()


def remove() -> None:
    for name in MODULES:
        if (path := compiled_file(name)) is not None:
            path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in (["build"], ["remove"]):
        print("usage: python -m extractors.compiled build|remove", file=sys.stderr)
        return 2
    if args == ["remove"]:
        remove()
        print("extractors: compiled modules removed; extraction runs from source")
        return 0
    try:
        build()
    except ImportError as e:
        print(f"extractors: not compiled ({e}); extraction runs from source. Install Cython: pip install 'cython>=3,<4'")
        return 0
    except Exception as e:  # noqa: BLE001 - a compiler error: the sources run, with the same results
        print(f"extractors: not compiled ({type(e).__name__}: {e}); extraction runs from source. Compiling needs "
              "a C compiler and the Python headers (Debian: apt-get install gcc python3-dev); run "
              "`python -m extractors.compiled build` to see the compiler's messages")
        return 0
    print(f"extractors: {len(MODULES)} modules compiled in {PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
