"""TrueType fonts for the printed checklist: a font per language found with fontconfig (`fc-list :lang=xx`) or
named with --font, each checked against the characters its page prints."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from fontTools.ttLib import TTFont, TTLibError

from extractors.core.errors import ConfigError

# fontconfig's language tags where a template language's own is too wide (zh: the pages are Simplified Chinese)
_FC_LANG = {"zh": "zh-cn"}
# the Debian package whose font covers the language
_PACKAGE = {"zh": "fonts-wqy-zenhei or fonts-noto-cjk"}
_DEFAULT_PACKAGE = "fonts-dejavu-core"
_NOT_REGULAR = ("bold", "italic", "oblique", "condensed", "narrow", "light", "thin", "black", "heavy")


@dataclass(frozen=True, slots=True)
class Face:
    """One face of a font file (a .ttc collection holds several, by index)."""

    path: Path
    index: int = 0

    def __str__(self) -> str:
        return f"{self.path}#{self.index}" if self.index else str(self.path)


class FontFinder:
    """Finds, for each language, a face whose character map holds every character of the text it must print."""

    def __init__(self, given: tuple[Path, ...] = ()) -> None:
        self.given = tuple(Face(p) for p in given)
        self._cmaps: dict[Face, frozenset[int]] = {}

    def face(self, lang: str, text: str) -> Face:
        """The first face covering `text`: of those given with --font in their order, else of fontconfig's."""
        needed = {ord(c) for c in text if not c.isspace()}
        candidates = self.given or _fontconfig(lang)
        for face in candidates:
            if needed <= self._cmap(face):
                return face
        raise ConfigError(self._missing(lang, needed, candidates))

    def _cmap(self, face: Face) -> frozenset[int]:
        if face not in self._cmaps:
            try:
                with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
                    self._cmaps[face] = frozenset(font.getBestCmap() or ())
            except (OSError, TTLibError, AssertionError) as e:
                if face in self.given:
                    raise ConfigError(f"--font {face.path}: not a readable TrueType or OpenType font ({e}); "
                                      "name a .ttf, .otf or .ttc file") from e
                self._cmaps[face] = frozenset()
        return self._cmaps[face]

    def _missing(self, lang: str, needed: set[int], candidates: tuple[Face, ...]) -> str:
        name = Locale.parse(lang).english_name
        package = _PACKAGE.get(lang, _DEFAULT_PACKAGE)
        fix = (f"install a font that covers it (Debian: apt-get install {package}) "
               f"or name one with --font PATH; nothing was written")
        if self.given:
            best = min(self.given, key=lambda f: len(needed - self._cmap(f)))
            lacking = "".join(chr(c) for c in sorted(needed - self._cmap(best))[:8])
            return (f"--font {', '.join(str(f.path) for f in self.given)}: no font given covers the {lang} page "
                    f"({name}; {best.path.name} lacks {lacking!r}); {fix}")
        fc_lang = _FC_LANG.get(lang, lang)
        if shutil.which("fc-list") is None:
            looked = "fontconfig's fc-list is not installed (Debian: apt-get install fontconfig)"
        elif not candidates:
            looked = f"fontconfig lists no font for :lang={fc_lang}"
        else:
            looked = f"each of the {len(candidates)} fonts fontconfig lists for :lang={fc_lang} lacks some of its characters"
        return f"no font covers the {lang} page ({name}): {looked}; {fix}"


def _fontconfig(lang: str) -> tuple[Face, ...]:
    """fontconfig's fonts for the language, the most fitting first: regular, proportional, sans-serif."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ()
    out = subprocess.run([fc_list, "--format", "%{file}|%{index}|%{style}|%{family}|%{spacing}\n",
                          f":lang={_FC_LANG.get(lang, lang)}"], capture_output=True, text=True, timeout=30,
                         check=False).stdout
    ranked = []
    for line in out.splitlines():
        path, index, style, family, spacing = (line.split("|") + [""] * 5)[:5]
        if not path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            continue
        first_family = family.split(",")[0]
        rank = (any(word in style.lower() for word in _NOT_REGULAR), spacing == "100", "sans" not in first_family.lower(),
                len(first_family), path, int(index or 0))
        ranked.append((rank, Face(Path(path), int(index or 0))))
    return tuple(face for _, face in sorted(ranked))
