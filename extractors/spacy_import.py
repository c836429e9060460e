"""Import spaCy without its command line.

spaCy's package `__init__` imports `spacy.cli` only to re-export `spacy.info`. The command line pulls in typer,
weasel, requests, httpx, urllib3 and pygments: about 15 MB resident in a daemon that never uses them. While
spaCy is imported, `spacy.cli` and `spacy.cli.info` stand in `sys.modules` as placeholders; they are removed as
soon as it is, so a later `import spacy.cli` loads the real package, and `spacy.info(...)` loads it when called.
If a spaCy version reads anything else from `spacy.cli` during its import, the placeholder loads the real package
then and hands that over (the saving is lost, nothing else).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_PLACEHOLDERS = ("spacy.cli.info", "spacy.cli")


def _drop_placeholders() -> None:
    for name in _PLACEHOLDERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__placeholder__", False):
            del sys.modules[name]


def _real(name: str) -> types.ModuleType:
    _drop_placeholders()
    return importlib.import_module(name)


def _info(*args: Any, **kwargs: Any) -> Any:
    """spacy.info, from the real command line."""
    return _real("spacy.cli.info").info(*args, **kwargs)


def _cli_attribute(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_real("spacy.cli"), name)


def _placeholder(name: str) -> types.ModuleType:
    module = types.ModuleType(name, "placeholder for spaCy's command line while spaCy is imported")
    module.__placeholder__ = True  # type: ignore[attr-defined]
    return module


def import_spacy() -> None:
    """Import spaCy (once) without loading its command line."""
    if "spacy" in sys.modules:
        return
    cli, info = _placeholder("spacy.cli"), _placeholder("spacy.cli.info")
    cli.__path__ = []  # type: ignore[attr-defined]  # a package, so that `spacy.cli.info` can be its child
    cli.__getattr__ = _cli_attribute  # type: ignore[method-assign]  # anything but `info`: the real package
    cli.info = info  # type: ignore[attr-defined]
    info.info = _info  # type: ignore[attr-defined]
    sys.modules["spacy.cli"], sys.modules["spacy.cli.info"] = cli, info
    try:
        importlib.import_module("spacy")
    finally:
        _drop_placeholders()
        spacy = sys.modules.get("spacy")
        if spacy is not None and getattr(getattr(spacy, "cli", None), "__placeholder__", False):
            delattr(spacy, "cli")
