"""Who the buyer is: `company` and `contact` items from the signature and sender, and the buyer's strength."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
import regex

from extractors.core.model import Finding, ParsedMessage
from extractors.rules import RuleSet

_WEBSITE = regex.compile(r"(?<![@\w.])(?:https?://)?(?:www\.)(?P<domain>[\w-]{1,63}(?:\.[\w-]{1,63}){1,4})|https?://(?P<domain2>[\w-]{1,63}(?:\.[\w-]{1,63}){1,4})", regex.I)
_EMAIL = regex.compile(r"[\w.+-]{1,64}@(?P<domain>[\w-]{1,63}(?:\.[\w-]{1,63}){1,4})")
_PHONE_LABELLED = regex.compile(
    r"(?:telephone(?:\s+number)?|tel|phone(?:\s+number)?|mobile|mob|cell|whats\s?app|fax|direct|office|contact|电话|手机|座机|"
    r"tel[eé]fono|celular|móvil|telefon|t[ée]l[ée]phone|t[ée]l|telefone|portable|handy|gsm|cep|тел|телефон|моб|"
    r"هاتف|جوال|موبايل|m)\b\.?\s*[:：.]?\s*"
    r"(?P<v>\+?[\d(][\d\s().\-/]{5,22}\d)",
    regex.I,
)
_PHONE_INTL = regex.compile(r"(?<![\w+])\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,5}){2,4}(?!\d)")
_ADDRESS = regex.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[\p{Lu}][\p{L}.'-]{1,20}\s){0,3}(?:st|street|str|road|rd|avenue|ave|av|boulevard|blvd|lane|ln|way|drive|dr|"
    r"strasse|straße|weg|platz|calle|avenida|carrer|rua|via)\b|(?i:str(?:asse|aße|\.)|calle|avenida|av\.|carrer|rua)\s+[\p{L} ]{2,30}\d{1,5}|"
    r"(?i:地址|住址|address|addr|adresse|anschrift|direcci[oó]n|endere[cç]o|indirizzo|sede|адрес|adres|العنوان)\s*[:：]\s*\S|"
    r"[\p{Han}\d]{2,16}(?:路|街|大道|号|栋|楼)|\b\d{4,6}\s+[\p{Lu}][\p{L}]{2,20}\b(?:,\s*[\p{Lu}][\p{L}]+)?",
    regex.U,
)
_STATED_SIZE = regex.compile(
    r"\b\d[\d,.]*\s*(?:\+\s*)?(?:stores|shops|branches|outlets|employees|staff|warehouses|supermarkets|retail stores|tiendas|sucursales|empleados)\b|"
    r"\b(?:annual|yearly)\s+(?:turnover|revenue|sales)\b|家(?:门店|分店|连锁店)|员工\s*\d+|年销售额",
    regex.I,
)
_CN_COMPANY = regex.compile(r"[\p{Han}（）()]{2,30}(?:有限公司|股份公司|集团|公司|商行|厂)")
_CN_NOT_A_NAME = regex.compile(r"[我您你这]|贵(?:公司|司|方)")  # pronouns: a sentence about a company, not its name
_FILE_NAME = regex.compile(r"\w_\w|\.(?:pdf|docx?|xlsx?|zip|rar|jpe?g|png|html?)\b", regex.I)
_CN_COMPANY_ENDS = ("公司", "集团", "商行", "厂")  # a text without one of these has no _CN_COMPANY match
_VERIFIED = regex.compile(r"verified buyer|verified|已认证|认证买家", regex.I)
_LINE = regex.compile(r"[^\n]{2,120}")
_HAN = regex.compile(r"\p{Han}")
_HAN_NAME = regex.compile(r"\p{Han}{2,4}")
_LETTERS = regex.compile(r"[\p{L}]+")
_SPACES = regex.compile(r"\s+")
# a text without one of these cannot match the pattern: the scan is skipped
_WEBSITE_WORDS = ("www.", "http")
# Where phonenumbers' matcher can find a possible number: a line with a plus sign, or with seven digits or more
# (the fewest a US number has) in one candidate, i.e. separated by at most four of its punctuation characters
# (`phonenumberutil._VALID_PUNCTUATION`; candidates never span lines). Matching only those lines finds what a
# scan of the whole text finds first, at a fraction of the cost.
_PHONE_PUNCTUATION = "-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \t\u00a0\u00ad\u200b\u2060\u3000()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e"
_PHONE_SPOT = re.compile(rf"\d(?:[{_PHONE_PUNCTUATION}]{{0,4}}\d){{6}}|[+\uff0b]")
# the number part of _PHONE_LABELLED in the stdlib (whose \s holds the `regex` module's): a text without one has
# no labelled number, and the stdlib finds that by first characters, where the label alternation tries every one
_PHONE_DIGITS = re.compile(r"[\d(][\d\s().\-/]{5,22}\d")
_POSSIBLE = phonenumbers.Leniency.POSSIBLE
_CAPITALISED = regex.compile(r"[\p{Lu}][\p{L}.'-]*$")


@dataclass(frozen=True, slots=True)
class Identity:
    company: Finding | None
    contact: Finding | None
    corporate_domain: bool
    website_matches: bool
    has_title: bool
    has_phone: bool
    stated_size: bool
    freemail: bool


def _terms(ruleset: RuleSet, name: str) -> list[str]:
    vocab = ruleset.vocab.get(name)
    return [] if vocab is None else list(vocab.terms) + list(vocab.case_sensitive)


class IdentityReader:
    """Reads company and contact from the signature (and the text) using the `titles`, `company_suffixes`
    and `freemail` vocabularies."""

    def __init__(self, ruleset: RuleSet):
        self.freemail = {d.lower() for d in _terms(ruleset, "freemail")}
        self._freemail_subdomains = tuple("." + d for d in sorted(self.freemail))
        titles = sorted(_terms(ruleset, "titles"), key=len, reverse=True)
        suffixes = sorted(_terms(ruleset, "company_suffixes"), key=len, reverse=True)
        self.title = _whole_words(titles, han_inside=True)
        self.suffix = _whole_words(suffixes)
        self.platform_owners = tuple(t.casefold() for t in _terms(ruleset, "platform_owners"))
        self._suffix_spots = _whole_words(suffixes, bounded=False)

    def is_freemail(self, domain: str) -> bool:
        domain = domain.lower()
        return domain in self.freemail or domain.endswith(self._freemail_subdomains)

    def read(self, msg: ParsedMessage, verified_hint: bool = False) -> Identity:
        domain = msg.from_addr.rpartition("@")[2].lower()
        sig = msg.signature
        parts: Sequence[tuple[str, str]] = (("signature", sig), ("text", msg.text))
        freemail = not domain or self.is_freemail(domain) or domain.endswith((".invalid", "localhost"))
        corporate = bool(domain) and not freemail and not msg.platform
        websites = [
            (m.group("domain") or m.group("domain2") or "").lower()
            for _, t in parts
            if any(w in t.lower() for w in _WEBSITE_WORDS)
            for m in _WEBSITE.finditer(t)
        ]
        website_matches = bool(domain) and any(w == domain or w.endswith("." + domain) or domain.endswith("." + w) for w in websites)
        company = self._company(parts, domain if corporate else "", websites)
        contact, has_title, has_phone = self._contact(msg, parts)
        stated = any(_STATED_SIZE.search(t) for _, t in parts)
        return Identity(company, contact, corporate, website_matches, has_title, has_phone, stated, freemail)

    def _company(self, parts: Sequence[tuple[str, str]], corp_domain: str, websites: list[str]) -> Finding | None:
        """A company name plus a website, or plus a corporate domain that the name recognisably matches."""
        if not corp_domain and not websites:
            return None
        for part, text in parts:
            # where a suffix stands, and whether a Chinese company name may
            spots = [] if self._suffix_spots is None else [m.start() for m in self._suffix_spots.finditer(text)]
            chinese = any(end in text for end in _CN_COMPANY_ENDS)
            if not spots and not chinese:
                continue
            for line_m in _LINE.finditer(text):
                line = line_m.group().strip()
                name = None
                if (
                    self.suffix is not None
                    and (_within(spots, *line_m.span()) or _cut(text, line_m.end()))
                    and self.suffix.search(line)
                    and len(line.split()) <= 12
                ):
                    name = line
                elif chinese and (m2 := _CN_COMPANY.search(line)):
                    name = m2.group()
                if name and not self._may_be_company(name):
                    continue
                if name and not websites and not _name_matches_domain(name, corp_domain):
                    continue
                if name:
                    ref = corp_domain or websites[0]
                    start = line_m.start() + line_m.group().find(name)
                    return Finding("company", f"{name}, {ref}", name, start, start + len(name), "COMPANY_NAME_AND_DOMAIN", 0.8, part)
        return None

    def _may_be_company(self, name: str) -> bool:
        """Not a file name (Company_profile_8253.pdf), a sentence that speaks of a company (这是对我们公司...) or
        the platform that relayed the message (阿里巴巴香港有限公司 in a notification's footer)."""
        folded = name.casefold()
        return not (_FILE_NAME.search(name) or _CN_NOT_A_NAME.search(name) or any(p in folded for p in self.platform_owners))

    def _contact(self, msg: ParsedMessage, parts: Sequence[tuple[str, str]]) -> tuple[Finding | None, bool, bool]:
        title_m, title_part, title_text = None, "", ""
        for part, text in parts:
            if self.title is not None and (m := self.title.search(text)):
                title_m, title_part, title_text = m, part, text
                break
        phone = None
        for _part, text in parts:
            phone = _phone(text)
            if phone:
                break
        name = _person_name(msg.from_name)
        if title_m is not None and not name:
            name = _name_near(title_text, title_m.start())
        if title_m is None or not name:
            return None, title_m is not None, phone is not None
        # a phone, else an address, else an e-mail address in the block below the title
        way = phone or next((_address_line(t, m) for _, t in parts if (m := _ADDRESS.search(t))), None) or _email_below(title_text, title_m.end())
        if not way:
            return None, True, phone is not None
        title = title_text[title_m.start() : title_m.end()]
        value = ", ".join(x for x in (name, title, way) if x)
        start, end = _block(title_text, title_m.start(), title_m.end(), name, way)
        return (
            Finding("contact", value, title_text[start:end], start, end, "CONTACT_NAME_TITLE_PHONE", 0.8, title_part),
            True,
            phone is not None,
        )


_BLOCK_LINES = 8  # the most lines of a signature block read as one contact


def _block(text: str, a: int, b: int, name: str, way: str | None) -> tuple[int, int]:
    """The signature block that states the contact, as the buyer wrote it: from the line of the name (when it
    stands at most a few lines above the title) to the line of the phone or address (when it stands at most a few
    lines below), else the title's line."""
    start = text.rfind("\n", 0, a) + 1
    end = len(text) if (e := text.find("\n", b)) < 0 else e
    if name:
        above = text.rfind(name, max(0, start - 200), a)
        if above >= 0 and text.count("\n", above, start) <= _BLOCK_LINES // 2:
            start = text.rfind("\n", 0, above) + 1
    if way:
        below = text.find(way, b, end + 400)
        if below >= 0 and text.count("\n", end, below) <= _BLOCK_LINES:
            end = len(text) if (e := text.find("\n", below + len(way))) < 0 else e
    return start, end


def _whole_words(words: list[str], bounded: bool = True, han_inside: bool = False) -> re.Pattern[str] | None:
    """The words as one whole-word pattern: the long ones in any case, the short ones in their exact case (e.g.
    "AS", "PT", "Co"), as tries (one branch per character: the stdlib tries a few characters at a position instead
    of every word); not `bounded`: wherever they stand, inside longer words too; `han_inside`: the Chinese ones
    also inside a longer run of characters (Chinese has no spaces: 采购部经理 holds 经理). None without words."""
    if not words:
        return None
    han = [w for w in words if han_inside and _HAN.match(w)]
    caseless, exact = _by_case([w for w in words if w not in han])
    alternatives = "|".join(a for a in (f"(?i:{_trie(caseless)})" if caseless else "", _trie(exact) if exact else "") if a)
    pattern = rf"(?<![^\W_])(?:{alternatives})(?![^\W\d_])" if bounded else alternatives
    return re.compile(pattern + (f"|{_trie(han)}" if han else ""))


def _by_case(words: list[str]) -> tuple[list[str], list[str]]:
    """(the words matched in any case, the short ones matched only in their exact case, e.g. "AS", "PT", "Co")."""
    return [w for w in words if len(w.strip(".")) > 3], [w for w in words if len(w.strip(".")) <= 3]


def _trie(words: list[str]) -> str:
    """A regex matching the longest of the words at a position, written as a trie (lowercase for any case)."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        branches = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def _within(spots: list[int], a: int, b: int) -> bool:
    """Some suffix stands (inside a longer word or not) starting in [a, b)."""
    i = bisect.bisect_left(spots, a)
    return i < len(spots) and spots[i] < b


def _cut(text: str, end: int) -> bool:
    """A line of over 120 characters is read in pieces: a word cut at the end of one may match there alone."""
    return end < len(text) and text[end] != "\n"


def _name_matches_domain(name: str, domain: str) -> bool:
    """A word of the company name (4+ letters, or its initials) appears in the domain; CJK names always match."""
    if _HAN.search(name):
        return True
    host = domain.lower().rsplit(".", 1)[0].replace("-", "").replace(".", "")
    words = [w.lower() for w in _LETTERS.findall(name)]
    if any(len(w) >= 4 and w in host for w in words):
        return True
    initials = "".join(w[0] for w in words if w)
    return len(initials) >= 2 and host.startswith(initials[:3]) or any(len(w) >= 3 and host.startswith(w) for w in words)


def _phone(text: str) -> str | None:
    if found := _phone_by_matcher(text):
        return found
    if _PHONE_DIGITS.search(text) and (m := _PHONE_LABELLED.search(text)):
        return m.group("v").strip()
    if "+" in text and (m := _PHONE_INTL.search(text)):
        return m.group().strip()
    return None


def _phone_by_matcher(text: str) -> str | None:
    """The first possible number phonenumbers' matcher finds in the text (only the lines that can hold one)."""
    spot = _PHONE_SPOT.search(text)
    while spot is not None:
        a, b = text.rfind("\n", 0, spot.start()) + 1, text.find("\n", spot.end())
        for m in _SpotMatcher(text[a:] if b < 0 else text[a:b], "US", leniency=_POSSIBLE):
            return m.raw_string
        spot = None if b < 0 else _PHONE_SPOT.search(text, b)
    return None


class _SpotMatcher(phonenumbers.PhoneNumberMatcher):
    """phonenumbers' matcher, passing over a candidate without a spot (`_PHONE_SPOT`) before parsing it and the
    numbers inside it: a line of figures ("80000mAh/296wh;AC:350W ... 200*170*170mm") has a dozen such candidates
    and cost a parse each. Such a candidate holds a possible number only when letters make up its digits
    (phonenumbers reads the "ext" of "2144ext." as 398, so "2144ext" passes as a 7-digit US number): it is
    passed over as the line filter passes over a line that has nothing else. Without the hook (a phonenumbers
    release that renames it), every candidate is parsed."""

    def _extract_match(self, candidate: str, offset: int) -> Any:
        if _PHONE_SPOT.search(candidate) is None:
            return None
        return super()._extract_match(candidate, offset)


def _person_name(display: str) -> str:
    """A display name that looks like a person's full name (two or more words, or a CJK name)."""
    display = display.strip().strip('"')
    if not display or "@" in display:
        return ""
    if _HAN_NAME.fullmatch(display):
        return display
    words = [w for w in _SPACES.split(display) if w]
    if 2 <= len(words) <= 5 and all(_CAPITALISED.match(w) or w.isupper() for w in words):
        lowered = display.lower()
        if any(x in lowered for x in ("department", "team", "sales", "dept", "procurement", "purchasing", "support", "info", "admin", "service", "message")):
            return ""
        return display
    return ""


def _name_near(text: str, pos: int) -> str:
    """The line just above a title line, when it looks like a person's name (also as typed in lowercase after a
    capital: "Stanley ruttler", or behind a field label: "Contact person: Mr Wang John"), else a labelled name
    line just below it ("Position: Buyer" then "Name: Ana Lima")."""
    before = text[:pos].rstrip().splitlines()
    for line in reversed(before[-3:]):
        bare, labelled = _NAME_LABEL.subn("", line.strip(), count=1)
        bare = bare.strip().strip(",")
        name = _person_name(bare) or _typed_name(bare) or (_caseless_name(bare) if labelled else "")
        if name:
            return name
    after = text[pos:].splitlines()[1:4]
    for line in after:
        bare, labelled = _NAME_LABEL.subn("", line.strip(), count=1)
        if labelled and (name := _person_name(bare.strip().strip(",")) or _caseless_name(bare)):
            return name
    return ""


_CASELESS_NAME = regex.compile(r"\p{Arabic}{2,20}(?:\s\p{Arabic}{2,20}){1,3}")


def _caseless_name(text: str) -> str:
    """A name of two to four words in a script without capitals (Arabic), read only behind a name label: in such a
    script nothing else tells a name from other words."""
    text = text.strip().strip(",")
    return text if _CASELESS_NAME.fullmatch(text) else ""


# the label of a name field in a signature or form, in the languages with rules
_NAME_LABEL = regex.compile(
    r"^(?:contact(?:\s+person|\s+name)?|(?:full\s+)?name|attn\.?|attention|ansprechpartner(?:in)?|kontakt(?:person)?|"
    r"nom|interlocut(?:eur|rice)|personne\s+[àa]\s+contacter|nombre|contacto|persona\s+de\s+contacto|nome|contato|"
    r"pessoa\s+de\s+conta(?:c)?to|referente|контактное\s+лицо|контакт|имя|фио|yetkili(?:\s+ki[şs]i)?|ilgili\s+ki[şs]i|"
    r"ad[ıi]?\s+soyad[ıi]?|isim|الاسم|جهة\s+الاتصال|联系人|姓名)\s*[:：]\s*",
    regex.I,
)


_NOT_NAME_WORDS = frozenset({"regards", "thanks", "thank", "best", "kind", "yours", "sincerely", "dear", "hello", "hi",
                             "team", "cheers", "greetings", "wishes", "faithfully", "truly", "you", "warm", "respectfully"})
_TYPED_NAME = regex.compile(r"\p{Lu}\p{Ll}{1,20}(?:\s\p{L}[\p{Ll}'-]{1,20}){1,2}")


def _typed_name(line: str) -> str:
    """A name of two or three words whose first is capitalised, the others typed in lowercase."""
    if _TYPED_NAME.fullmatch(line) and not any(w.casefold() in _NOT_NAME_WORDS for w in line.split()):
        return line
    return ""


def _address_line(text: str, m: regex.Match[str]) -> str:
    """The address as written: the matched words to the end of their line (at most 120 characters)."""
    end = text.find("\n", m.end())
    return text[m.start() : min(m.start() + 120, len(text) if end < 0 else end)].strip().rstrip(",")


def _email_below(text: str, pos: int) -> str | None:
    """An e-mail address at most a few lines below the title, as the way to reach the person."""
    m = _EMAIL.search(text, pos, pos + 400)
    return m.group() if m and text.count("\n", pos, m.start()) <= _BLOCK_LINES else None
