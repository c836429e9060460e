"""Offline language detection: script ranges first (fast and certain for CJK), then py3langid's bundled model."""

from __future__ import annotations

import functools
import os

import regex
from py3langid import langid

CANDIDATES = ["en", "es", "zh", "de", "fr", "pt", "it", "nl", "pl", "ru", "tr", "ar", "ko", "ja", "vi", "id"]
_HAN = regex.compile(r"\p{Han}")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HANGUL = regex.compile(r"\p{Hangul}")
_LETTER = regex.compile(r"\p{L}")
MIN_CONFIDENCE = 0.6


@functools.lru_cache(maxsize=1)
def _identifier() -> langid.LanguageIdentifier:
    cls = langid.LanguageIdentifier
    if hasattr(cls, "from_pickled_model"):  # py3langid 0.3
        ident = cls.from_pickled_model(langid.MODEL_FILE, norm_probs=True)
    else:
        ident = cls.from_modelpath(os.path.join(os.path.dirname(langid.__file__), langid.MODEL_FILE), norm_probs=True)
    ident.set_languages(CANDIDATES)
    # set_languages keeps the all-language table (about 28 MB) to allow a later reset; we never reset, so the
    # subset becomes the "full" model and the big table is freed.
    ident._full_model = (ident.nb_ptc, ident.nb_pc, ident.nb_classes)  # noqa: SLF001
    return ident


def detect(text: str) -> tuple[str, bool]:
    """(ISO 639-1 code, known). Unknown or too short text gives ("en", False): English rules apply."""
    sample = text[:2000]
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return "en", False
    if _HANGUL.search(sample) and len(_HANGUL.findall(sample)) / letters > 0.2:
        return "ko", True
    if _KANA.search(sample) and len(_KANA.findall(sample)) / letters > 0.1:
        return "ja", True
    if len(_HAN.findall(sample)) / letters > 0.2:
        return "zh", True
    if letters < 12:
        return "en", False
    lang, confidence = _identifier().classify(sample)
    if confidence < MIN_CONFIDENCE:
        return "en", False
    return str(lang), True
