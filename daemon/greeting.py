"""Who the buyer is as a person writes to them: the name they sign with, a title when they give one.

The name comes from the buyer's sign-off ("Best regards,\\nKatrin" or "Katrin Vogel" heading the signature), else
from the sender's display name when it reads as a person's name (never a company, a department or an address).
A buyer who signs with the first name alone is greeted by it; a title (Mr, Frau, Sra., Mme, 先生...) tells the form
of address; nothing is guessed from the name itself. Each language's template turns this into its greeting
(`greeting` in `reply_templates/<lang>/_macros.j2`); nameparser splits Latin-script names into title, first and
last names.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex
from nameparser import HumanName

from extractors.core.model import ParsedMessage

_MALE = {"mr", "mister", "herr", "sr", "senor", "señor", "m", "monsieur", "sig", "signor", "bay", "sn", "господин",
         "г-н", "السيد", "senhor"}
_FEMALE = {"ms", "mrs", "miss", "frau", "sra", "srta", "senora", "señora", "mme", "madame", "mlle", "sig.ra", "sigra",
           "signora", "bayan", "госпожа", "г-жа", "السيدة", "senhora", "dona"}
_DOCTOR = {"dr", "doctor", "prof", "professor", "dott", "dra", "doktor"}
_SIGNOFF = regex.compile(
    r"^\s*(?:(?:best|kind|warm|warmest|many)\s)?(?:regards|wishes|thanks|thank\syou|cheers|sincerely|yours(?:\s(?:sincerely|faithfully|truly))?|"
    r"br|thx|mit\sfreundlichen\sgr(?:ü|ue)(?:ß|ss)en|viele\sgr(?:ü|ue)(?:ß|ss)e|beste\sgr(?:ü|ue)(?:ß|ss)e|gr(?:ü|ue)(?:ß|ss)e|"
    r"saludos(?:\scordiales)?|un\ssaludo|atentamente|cordialmente|cordiales\ssaludos|gracias|"
    r"cordialement|bien\s[àa]\svous|salutations(?:\sdistingu[ée]es)?|merci|"
    r"atenciosamente|abra[çc]os|obrigad[oa]|"
    r"cordiali\ssaluti|distinti\ssaluti|saluti|grazie|"
    r"с\sуважением|спасибо|"
    r"sayg[ıi]lar[ıi]mla|iyi\sçal[ıi][şs]malar|te[şs]ekk[üu]rler|"
    r"مع\s(?:خالص\s)?(?:التحية|تحياتي)|(?:و\s?)?شكرا|تحياتي|"
    r"met\svriendelijke\sgroet(?:en)?|groeten|pozdrawiam|z\spowa[żz]aniem|"
    r"此致|祝好|顺祝商祺|谢谢|感谢)[\s,.!，。،]*(?P<rest>.{0,60})$",
    regex.I | regex.M,
)
# the second line of a closing (此致 / 敬礼), never a name
_CLOSING = regex.compile(r"^(?:敬礼|商祺|顺颂商祺|顺祝商祺|祝好|谢谢)[!！。]?$")
_NOT_NAME = regex.compile(
    r"\b(?:ltd|limited|gmbh|co|corp|corporation|inc|llc|plc|sa|s\.a|srl|s\.r\.l|spa|bv|ag|kg|company|trading|group|"
    r"industr\w*|international|import|export|sales|team|dept|department|purchasing|procurement|manager|director|"
    r"office|info|admin|service|support|customer|store|shop|marketing|buyer|logistics|accounts?|enquir\w*|inquir\w*|"
    r"noreply|no-reply|webmaster|reception|contact|hello|the|and|de|von|via|on\sbehalf|"
    # a mail client's footer under the sign-off ("Sent from my iPhone", "Von meinem Samsung gesendet")
    r"sent|envoy[ée]|enviado|inviato|gesendet|verzonden|отправлено|g[öo]nderildi|iphone|ipad|android|outlook|"
    r"blackberry|galaxy|samsung|huawei|xiaomi|mobile|m[óo]vil|celular|smartphone|handy)\b",
    regex.I,
)
_WORD = regex.compile(r"^[\p{Lu}\p{Ll}][\p{L}'’.-]*$")
_HAN_NAME = regex.compile(r"^\p{Han}{2,4}$")
_ARABIC_NAME = regex.compile(r"^[\p{Arabic}]{2,}(?:\s[\p{Arabic}]{2,}){0,3}$")
_CYRILLIC = regex.compile(r"\p{Cyrillic}")
_PATRONYMIC = regex.compile(r"(?:ович|евич|ич|овна|евна|ична|инична)$", regex.I)
# two-character Chinese surnames; every other Chinese name starts with a one-character surname
_HAN_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "澹台", "轩辕")
# a Chinese job title in the signature that a greeting uses after the surname (陈经理)
_HAN_ROLES = (("总经理", "总"), ("董事长", "总"), ("总裁", "总"), ("总监", "总监"), ("经理", "经理"), ("主管", "主管"), ("工程师", "工"))


@dataclass(frozen=True, slots=True)
class Person:
    """The buyer's name for a greeting: empty strings where unknown."""

    full: str = ""
    first: str = ""
    last: str = ""
    title: str = ""  # "m", "f", "dr" or ""
    informal: bool = False  # the buyer signs with the first name alone
    patronymic: str = ""  # Russian: the second name of "Иван Петрович Сидоров"
    han_surname: str = ""  # Chinese: 陈 of 陈志远
    han_role: str = ""  # Chinese: 经理 when the signature says 采购经理

    def as_dict(self) -> dict[str, str | bool]:
        return {"full": self.full, "first": self.first, "last": self.last, "title": self.title,
                "informal": self.informal, "patronymic": self.patronymic, "han_surname": self.han_surname,
                "han_role": self.han_role}


def _title_kind(word: str) -> str:
    w = word.lower().strip(".").replace(" ", "")
    return "m" if w in _MALE else "f" if w in _FEMALE else "dr" if w in _DOCTOR else ""


def _clean(line: str) -> str:
    return " ".join(line.replace("\u00a0", " ").strip().strip(",;:.!-–—|").split())


def plausible_name(text: str) -> bool:
    """A person's name as written: 1-4 words of letters (or a Chinese or Arabic name), no company or role words."""
    text = _clean(text)
    if not text or _SIGNOFF.match(text) or len(text) > 50 or "@" in text or any(ch.isdigit() for ch in text) or _NOT_NAME.search(text):
        return False
    if _HAN_NAME.match(text) or _ARABIC_NAME.match(text):
        return True
    words = text.replace(",", " ").split()
    if not 1 <= len(words) <= 4 or not all(_WORD.match(w) for w in words):
        return False
    return any(w[0].isupper() for w in words) or all(w.islower() for w in words)


def _signed_name(msg: ParsedMessage) -> str:
    """The name under (or beside) the buyer's sign-off, or heading the signature block."""
    for text in (msg.signature, msg.text[-400:]):
        lines = [line for line in text.splitlines() if line.strip()]
        for i, line in enumerate(lines):
            m = _SIGNOFF.match(line)
            if m is None:
                continue
            rest = _clean(m.group("rest"))
            if rest and plausible_name(rest):
                return rest
            following = [x for x in lines[i + 1 : i + 3] if not _CLOSING.match(x.strip())]
            if not rest and following and plausible_name(following[0]):
                return _clean(following[0])
        if text is msg.signature and lines and plausible_name(lines[0]) and len(lines[0].split()) >= 2:
            return _clean(lines[0])
    return ""


_FORM_NAME = regex.compile(r"^\s*(?:name|your\s+name|full\s+name|contact(?:\s+person)?|nombre|nom|nome|имя|isim|ad\s+soyad|الاسم|姓名|联系人)\s*[:：]\s*(?P<name>[^\n]{2,50})$", regex.I | regex.M)


def _form_name(msg: ParsedMessage) -> str:
    """The name a web or platform form gives for the buyer ("Name: Laura Chen")."""
    for text in (msg.form, msg.text):
        m = _FORM_NAME.search(text or "")
        if m and plausible_name(m.group("name")):
            return _clean(m.group("name"))
    return ""


def _capitalised(word: str) -> str:
    """A word as a name is written: 'VOGEL' and 'vogel' -> 'Vogel' (hyphens and apostrophes kept)."""
    if word.isupper() or word.islower():
        return regex.sub(r"(^|[-'’])(\p{L})", lambda m: m.group(1) + m.group(2).upper(), word.lower())
    return word


def _role(msg: ParsedMessage) -> str:
    for title, short in _HAN_ROLES:
        if title in msg.signature:
            return short
    return ""


def person_of(msg: ParsedMessage) -> Person:
    """The buyer's name as the draft's greeting uses it; Person() when neither sign-off nor display name tells."""
    if msg.platform:
        display = ""
    else:
        display = _clean(msg.from_name.strip('"'))
        if not plausible_name(display) or "@" in display:
            display = ""
    signed = _signed_name(msg) or _form_name(msg)
    name = signed or display
    if not name:
        return Person()
    if _HAN_NAME.match(name):
        surname = name[:2] if name.startswith(_HAN_COMPOUND) and len(name) > 2 else name[0]
        return Person(full=name, first=name[len(surname):], last=surname, han_surname=surname, han_role=_role(msg))
    if _ARABIC_NAME.match(name):
        words = name.split()
        return Person(full=name, first=words[0], last=words[-1] if len(words) > 1 else "")
    informal = False
    if signed and len(signed.split()) == 1:
        informal = True
        if signed.lower() in (w.lower() for w in display.split()) and len(display.split()) > 1:
            name = display
        else:
            name = signed
    return _parsed(name, informal)


def _parsed(name: str, informal: bool) -> Person:
    words = name.split()
    upper = [w for w in words if w.isupper() and len(w) > 1]
    if len(words) == 2 and len(upper) == 1:  # "VOGEL Katrin": the surname in capitals
        last, first = upper[0], next(w for w in words if w is not upper[0])
        return Person(full=f"{_capitalised(first)} {_capitalised(last)}", first=_capitalised(first),
                      last=_capitalised(last), informal=informal)
    h = HumanName(name)
    title = _title_kind(h.title.split()[0]) if h.title else ""
    first = " ".join(_capitalised(w) for w in h.first.split())
    last = " ".join(_capitalised(w) for w in h.last.split())
    middle = " ".join(_capitalised(w) for w in h.middle.split())
    patronymic = middle if _CYRILLIC.search(middle) and _PATRONYMIC.search(middle) else ""
    full = " ".join(x for x in (first, middle, last) if x)
    # "Mr Smith": a title and one name is a surname; "Katrin": one name alone is a first name
    if not first and not title:
        first, last = last, ""
    return Person(full=full, first=first, last=last, title=title, informal=informal and bool(first),
                  patronymic=patronymic)
