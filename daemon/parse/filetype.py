"""What an attachment is, decided by its content: magic bytes, the member names of a ZIP container, the streams of
an OLE2 compound file. The declared content type and the file name never make a file safer; a name can only make
a plain text file more dangerous (`PO.js` is a script to the system that opens it).

`magic` reads only fixed byte positions and runs in the daemon; `refine` opens the ZIP directory or the OLE2 file
and runs in the attachment worker (see `sandbox`).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

READABLE = frozenset({"xlsx", "xlsb", "xls", "ods", "csv", "text", "pdf", "docx"})
# kinds that are dangerous where an order or a quotation should be, with the reason a salesperson reads
DANGER = {
    "html": "an HTML document (it can run scripts and imitate a login page)",
    "archive": "an archive (its files are not checked; archives are a common way to deliver malware)",
    "disk_image": "a disk image (it mounts as a drive and can carry programs)",
    "executable": "a program",
    "script": "a script",
    "macro_document": "an Office document with macros or ActiveX controls",
    "onenote": "a OneNote file (it can carry embedded programs)",
    "encrypted_office": "a password-protected Office file (its content cannot be checked)",
}
SKIPPED = {
    "image": "an image: no text is read from images",
    "doc": "a legacy Word (.doc) file: not read",
    "rtf": "an RTF file: not read",
    "odt": "an OpenDocument text: not read",
    "presentation": "a presentation: not read",
    "email": "an attached e-mail: not read",
    "empty": "an empty file",
    "unknown": "a file of unknown type: not read",
    "ole": "an OLE2 compound file of unknown type: not read",
}
REFUSED = {"damaged": "a damaged file"}
_SCRIPT_NAMES = (".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".ps1", ".psm1", ".bat", ".cmd", ".sh", ".hta",
                 ".scr", ".pif", ".com", ".reg", ".url", ".lnk", ".svg", ".htm", ".html", ".xhtml", ".shtml", ".mht")
_ARCHIVES = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd",
             b"LZIP", b"MSCF", b"\x60\xea", b"ITSF")
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")
_EXECUTABLES = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                b"\xca\xfe\xba\xbe", b"L\x00\x00\x00\x01\x14\x02\x00", b"dex\n")
_DISK_IMAGES = (b"conectix", b"vhdxfile", b"KDMV", b"QFI\xfb")
_ONENOTE = b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML_MARKS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<iframe", b"<meta ", b"<form",
               b"<frameset", b"<hta:")
_MSI_CLSID = "000C1084-0000-0000-C000-000000000046"


@dataclass(frozen=True, slots=True)
class Kind:
    """An attachment's kind and, for a container, what it holds ("3 files: a.exe, b.txt, ..."), or why it is
    encrypted."""

    kind: str
    note: str = ""

    @property
    def danger(self) -> str:
        return DANGER.get(self.kind, "")


def magic(data: bytes, filename: str = "") -> str:
    """The kind from fixed byte positions alone: `zip` and `ole` containers still need `refine`."""
    if not data:
        return "empty"
    head = data[:16]
    if data[:1024].find(b"%PDF-") >= 0:
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(_OLE):
        return "ole"
    if head.startswith(_ONENOTE):
        return "onenote"
    if head.startswith(_EXECUTABLES):
        return "executable"
    if head.startswith(_ARCHIVES) or data[257:262] == b"ustar" or data[7:14] == b"**ACE**" or data[2:5] == b"-lh":
        return "archive"
    if head.startswith(_DISK_IMAGES) or _iso9660(data) or data[-512:-504] == b"conectix" or data[-512:-508] == b"koly":
        return "disk_image"
    if _boot_sector(data):
        return "disk_image"
    if head.startswith(_IMAGES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") or head[4:12] in (b"ftypheic", b"ftypmif1"):
        return "image"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    return _text_kind(data, filename)


def _iso9660(data: bytes) -> bool:
    return any(data[at:at + 5] in (b"CD001", b"BEA01", b"NSR02", b"NSR03") for at in (0x8001, 0x8801, 0x9001))


def _boot_sector(data: bytes) -> bool:
    """A raw disk or floppy image: the boot signature and a FAT or NTFS file system name."""
    return len(data) >= 512 and data[510:512] == b"\x55\xaa" and (
        data[3:7] == b"NTFS" or data[54:57] == b"FAT" or data[82:85] == b"FAT" or data[3:8] == b"MSDOS"
    )


def _text_kind(data: bytes, filename: str) -> str:
    sample = data[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        sample = sample.decode("utf-16", "ignore").encode("utf-8", "ignore")
    if b"\x00" in sample:
        return "unknown"
    low = sample.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if low.startswith(_HTML_MARKS) or any(mark in low[:1024] for mark in (b"<html", b"<script", b"<svg", b"<iframe")):
        return "html"
    if low.startswith((b"mime-version:", b"content-type: multipart/related")) and b"text/html" in low:
        return "html"  # MHTML: a saved web page
    name = filename.lower().strip().rstrip(".")
    if low.startswith(b"#!") or name.endswith(_SCRIPT_NAMES):
        return "script"
    if low.startswith((b"received:", b"return-path:", b"from:", b"message-id:")) and b"\nsubject:" in low:
        return "email"
    printable = sum(1 for b in sample if b >= 32 or b in (9, 10, 13))
    if printable < 0.95 * len(sample):
        return "unknown"
    return "csv" if name.endswith((".csv", ".tsv")) or _delimited(sample) else "text"


def _delimited(sample: bytes) -> bool:
    """Several lines with the same number (1 or more) of commas, semicolons or tabs."""
    lines = [ln for ln in sample.splitlines()[:12] if ln.strip()]
    if len(lines) < 3:
        return False
    for sep in (b",", b";", b"\t"):
        counts = {ln.count(sep) for ln in lines[:-1]}  # the last line may be cut
        if len(counts) == 1 and counts.pop() >= 1:
            return True
    return False


def refine(kind: str, data: bytes, max_members: int = 5000) -> Kind:
    """A ZIP or OLE2 container's kind from its member names or streams (other kinds as they are)."""
    if kind == "zip":
        return _zip_kind(data, max_members)
    if kind == "ole":
        return _ole_kind(data)
    return Kind(kind)


def _zip_kind(data: bytes, max_members: int) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            names = [i.filename for i in infos[:max_members]]
            lowered = {n.lower() for n in names}
            encrypted = any(i.flag_bits & 0x1 for i in infos)
            mimetype = z.read("mimetype")[:100] if "mimetype" in names and not encrypted and z.getinfo("mimetype").file_size < 200 else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError, KeyError) as e:
        return Kind("damaged", f"a damaged ZIP file ({type(e).__name__}: {' '.join(str(e).split())[:80]})")
    if "[content_types].xml" in lowered and not encrypted:
        macros = sorted(n for n in names if n.lower().endswith("vbaproject.bin") or "/activex/" in n.lower())
        if macros:
            return Kind("macro_document", f"holds {', '.join(macros[:3])}")
        if "xl/workbook.xml" in lowered:
            return Kind("xlsx")
        if "xl/workbook.bin" in lowered:
            return Kind("xlsb")
        if "word/document.xml" in lowered:
            return Kind("docx")
        if "ppt/presentation.xml" in lowered:
            return Kind("presentation")
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        if any(n.startswith(("basic/", "scripts/")) for n in lowered):
            return Kind("macro_document", "holds Basic macros or scripts")
        if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
            return Kind("ods")
        return Kind("odt" if b"opendocument.text" in mimetype else "unknown")
    if "meta-inf/manifest.mf" in lowered and any(n.endswith(".class") for n in lowered):
        return Kind("executable", "a Java archive")
    if "androidmanifest.xml" in lowered and "classes.dex" in lowered:
        return Kind("executable", "an Android package")
    shown = ", ".join(n for n in names[:8]) + (", ..." if len(infos) > 8 else "")
    lock = "password-protected; " if encrypted else ""
    return Kind("archive", f"{lock}{len(infos)} file(s): {shown}")


def _ole_kind(data: bytes) -> Kind:
    import olefile  # the worker only

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except (OSError, ValueError, IndexError, TypeError, RecursionError) as e:
        return Kind("damaged", f"a damaged OLE2 file ({type(e).__name__})")
    try:
        streams = {"/".join(s).lower() for s in ole.listdir(streams=True, storages=True)}
        clsid = (ole.root.clsid or "").upper() if ole.root is not None else ""
    except (OSError, ValueError, IndexError, TypeError, RecursionError) as e:
        return Kind("damaged", f"a damaged OLE2 file ({type(e).__name__})")
    finally:
        ole.close()
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        return Kind("encrypted_office", "encrypted with a password")
    if clsid == _MSI_CLSID:
        return Kind("executable", "a Windows installer package")
    vba = any(s.startswith(("_vba_project_cur", "macros", "vba")) or "/vba/" in s for s in streams)
    if "workbook" in streams or "book" in streams:
        return Kind("macro_document", "holds a VBA project") if vba else Kind("xls")
    if "worddocument" in streams:
        return Kind("macro_document", "holds a VBA project") if vba else Kind("doc")
    if "powerpoint document" in streams:
        return Kind("macro_document", "holds a VBA project") if vba else Kind("presentation")
    return Kind("ole")
