"""Offline language detection: script ranges first (fast and certain for CJK), then CLD2 (pycld2).

CLD2's tables are compiled into its shared library, so detection costs about 1 MB of resident memory and a few
microseconds per message; a pure-Python n-gram model with a comparable language list keeps tens of MB resident.
"""

from __future__ import annotations

import pycld2
import regex

# The languages we expect in export sales mail. When CLD2's best guess is another language, a candidate among its
# runners-up is preferred (Galician or Catalan wording inside a Spanish inquiry stays Spanish).
CANDIDATES = frozenset({"en", "es", "zh", "de", "fr", "pt", "it", "nl", "pl", "ru", "tr", "ar", "ko", "ja", "vi", "id"})
_HAN = regex.compile(r"\p{Han}")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HANGUL = regex.compile(r"\p{Hangul}")
_LETTER = regex.compile(r"\p{L}")
# CLD2 rejects C0/C1 control characters and non-characters as invalid input; they carry no language anyway.
_UNSUPPORTED = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\p{Cs}\p{Noncharacter_Code_Point}]+")
# CLD2 still uses a few withdrawn ISO 639 codes.
_CODES = {"iw": "he", "jw": "jv", "in": "id", "tl": "fil"}
MIN_LETTERS = 12
# A line "Label: value" with a label of a few words: a platform card's or form's field ("Quantity Required: 500
# Piece/Pieces", "Material: Coated Paper"), often English whatever language the buyer typed in.
_FIELD_LINE = regex.compile(r"^[ \t]*\p{L}[\p{L}\p{N} ./()&'-]{0,30}[:：][^\n]*$", regex.M)


def detect(text: str) -> tuple[str, bool]:
    """(ISO 639-1 code, known). Unknown or too short text gives ("en", False): English rules apply. The language
    is that of the lines other than fields ("Label: value") where they hold a sentence's letters and are read
    with certainty: a card's English fields do not outweigh a short text the buyer typed in Spanish."""
    sample = text[:2000]
    prose = _FIELD_LINE.sub("", sample)
    if prose != sample and len(_LETTER.findall(prose)) >= MIN_LETTERS * 2:
        found = _detect(prose)
        if found[1]:
            return found
    return _detect(sample)


def _detect(sample: str) -> tuple[str, bool]:
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return "en", False
    if _HANGUL.search(sample) and len(_HANGUL.findall(sample)) / letters > 0.2:
        return "ko", True
    if _KANA.search(sample) and len(_KANA.findall(sample)) / letters > 0.1:
        return "ja", True
    if len(_HAN.findall(sample)) / letters > 0.2:
        return "zh", True
    if letters < MIN_LETTERS:
        return "en", False
    return _cld2(sample)


def _cld2(sample: str) -> tuple[str, bool]:
    clean = _UNSUPPORTED.sub(" ", sample).encode("utf-8", "replace")
    try:
        reliable, _, details = pycld2.detect(clean, isPlainText=True)
    except pycld2.error:
        return "en", False
    found = [_code(d[1]) for d in details if d[1] != "un" and d[2] > 0]
    if not reliable or not found:
        return "en", False
    return next((c for c in found if c in CANDIDATES), found[0]), True


def _code(cld2_code: str) -> str:
    base = cld2_code.split("-")[0]
    return _CODES.get(base, base)
