"""Charset repairs applied before any mail is decoded.

Mail labelled gb2312 or gbk often carries GBK or GB18030 characters (names such as 镕 or 堃); decoding it with the
label's codec garbles it. GB18030 is a superset of both, so the family is aliased to it. The same holds for
Big5 (Big5-HKSCS is its superset) and Korean EUC-KR (cp949).
"""

from __future__ import annotations

import codecs
import encodings.aliases

_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "csgb2312": "gb18030",
    "euc_cn": "gb18030",
    "euccn": "gb18030",
    "x_gbk": "gb18030",
    "gb_2312_80": "gb18030",
    "chinese": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "936": "gb18030",
    "big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "x_x_big5": "big5hkscs",
    "euc_kr": "cp949",
    "ks_c_5601_1987": "cp949",
    "ks_c_5601": "cp949",
}


def install() -> None:
    """Alias the legacy charset families to their supersets (idempotent)."""
    encodings.aliases.aliases.update(_SUPERSETS)
    # codecs caches lookups; a codec looked up before install() must be forgotten
    codecs.lookup("gb18030")
    try:
        encodings._cache.clear()  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover
        pass


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text of unknown or doubtful charset: declared, then UTF-8, then GB18030, then cp1252."""
    for name in (declared, "utf-8", "gb18030", "cp1252"):
        if not name:
            continue
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


install()
