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
    if prose != sample:
        if _SCRIPT_LETTERS.search(prose) and (by_script := _by_script(prose, len(_LETTER.findall(prose)))):
            return by_script, True  # a short greeting in Chinese or Russian above English fields
        if len(_LETTER.findall(prose)) >= MIN_LETTERS * 2:
            found = _detect(prose)
            if found[1]:
                return found
    return _detect(sample)


# scripts that tell the language (of those we expect) when CLD2 is unsure of a short text: most of the letters
_SCRIPTS = (("ko", regex.compile(r"\p{Hangul}"), 0.2), ("ja", regex.compile(r"[\p{Hiragana}\p{Katakana}]"), 0.1),
            ("zh", regex.compile(r"\p{Han}"), 0.2), ("ru", regex.compile(r"\p{Cyrillic}"), 0.5),
            ("ar", regex.compile(r"\p{Arabic}"), 0.5))
_CERTAIN = frozenset({"ko", "ja", "zh"})  # their scripts decide at once; Cyrillic and Arabic only when CLD2 is unsure
_SCRIPT_LETTERS = regex.compile(r"[\p{Hangul}\p{Hiragana}\p{Katakana}\p{Han}\p{Cyrillic}\p{Arabic}]")


def _by_script(sample: str, letters: int) -> str:
    """The language its script tells: Korean, Japanese or Chinese by their characters; Russian or Arabic when most
    letters are Cyrillic or Arabic (the languages with rules among those scripts' languages). "" otherwise."""
    if letters < 2:
        return ""
    for code, pattern, share in _SCRIPTS:
        if len(pattern.findall(sample)) / letters > share:
            return code
    return ""


def _detect(sample: str) -> tuple[str, bool]:
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return "en", False
    script = _by_script(sample, letters) if _SCRIPT_LETTERS.search(sample) else ""
    if script in _CERTAIN:
        return script, True
    if letters < MIN_LETTERS:
        return (script, True) if script else ("en", False)
    found = _cld2(sample)
    return found if found[1] or not script else (script, True)


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
