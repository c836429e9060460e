"""Tokenizers: spaCy's blank pipelines, with a CJK tokenizer that keeps Latin words and numbers whole."""

from __future__ import annotations

from typing import Any

import regex

from extractors.spacy_import import import_spacy

import_spacy()  # before any module here imports spaCy: without its command line (see `spacy_import`)

import spacy  # noqa: E402
from spacy.errors import MatchPatternError  # noqa: E402
from spacy.language import Language  # noqa: E402
from spacy.matcher import Matcher, PhraseMatcher  # noqa: E402
from spacy.tokens import Doc  # noqa: E402
from spacy.vocab import Vocab  # noqa: E402

__all__ = ["CJKTokenizer", "Language", "MatchPatternError", "Matcher", "PhraseMatcher", "Vocab", "blank"]

_CJK_TOKEN = regex.compile(r"[A-Za-z]+|\d+(?:[.,]\d+)*|\p{Han}| |\s+|\S", regex.V0)
CJK_LANGS = {"zh", "ja"}
SPACY_LANGS = {"en", "es", "de", "fr", "pt", "it", "nl", "pl", "ru", "tr", "zh", "ko", "ar"}


class CJKTokenizer:
    """One token per Han character; Latin words and numbers stay whole (so "CE" never matches inside "FACE")."""

    def __init__(self, vocab: Vocab):
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        for m in _CJK_TOKEN.finditer(text):
            token = m.group()
            if token == " " and words and not spaces[-1] and not words[-1].isspace():
                spaces[-1] = True
                continue
            words.append(token)
            spaces.append(False)
        return Doc(self.vocab, words=words, spaces=spaces)


def _keep_cache_on(nlp: Language) -> Language:
    """Drop the whitespace-only special cases (" ", "\\n", "\\t", "\\xa0") from spaCy's tokenizer.

    They only say that such a span is one token, which it is anyway, but any special case sets a per-Doc flag
    in spaCy's tokenizer after which no further word of that text enters its cache (spaCy issue #1250): every
    multi-line text was re-tokenized from scratch (~0.5 ms for 1 KB instead of ~25 us). Tokens are unchanged.
    """
    tokenizer: Any = nlp.tokenizer
    rules = tokenizer.rules
    if rules and any(not key.strip() for key in rules):
        tokenizer.rules = {key: value for key, value in rules.items() if key.strip()}
    return nlp


def blank(lang: str) -> Language:
    """A new blank pipeline for the language (tokenizer only; nothing is downloaded), with its own vocabulary."""
    if lang in CJK_LANGS:
        nlp = spacy.blank("zh" if lang == "zh" else "xx")
        nlp.tokenizer = CJKTokenizer(nlp.vocab)
        return nlp
    return _keep_cache_on(spacy.blank(lang if lang in SPACY_LANGS else "xx"))
