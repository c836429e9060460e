"""The seller profile and catalogue: who the drafts come from, and the only source of prices and facts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractors.core.errors import RulesError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Company(_Strict):
    name: str
    website: str = ""
    domains: list[str] = []


class Sender(_Strict):
    name: str
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    title: str = ""
    phone: str = ""
    language: str = "en"  # the language of notes to the salesperson (a mail held back for checking)


class PriceBand(_Strict):
    min_qty: int = 0
    max_qty: int | None = None
    min: float
    max: float


_RATING = regex.compile(r"(?<![0-9A-Za-z.])(\d+(?:\.\d+)?)\s*(w|kw|wh|kwh|ah|v)(?![a-z])", regex.I)


def ratings_in(text: str) -> set[tuple[str, str]]:
    """The ratings a text names, as (number, unit): "150W" -> ("150", "w"); "12.8 V" -> ("12.8", "v")."""
    return {(m.group(1), m.group(2).lower()) for m in _RATING.finditer(text)}


class Product(_Strict):
    name: str
    names: dict[str, str] = {}  # the name in other languages, e.g. {zh = "...", es = "..."}
    models: list[str] = []
    keywords: list[str] = []
    ratings: list[str] = []  # e.g. ["150W"]: a text that names another rating of the same unit is not this product
    currency: str | None = None  # overrides [catalogue] currency
    moq: int | None = None
    lead_time_days: int | None = None
    material: str | None = None
    materials: dict[str, str] = {}  # the standard material in other languages
    certifications: list[str] = []
    prices: list[PriceBand] = []
    warranty_years: float | None = None  # overrides [terms] warranty_years

    def label(self, lang: str) -> str:
        return self.names.get(lang) or self.name

    def material_in(self, lang: str) -> str:
        return self.materials.get(lang) or self.material or ""

    def band(self, quantity: float | None) -> PriceBand | None:
        if not self.prices:
            return None
        if quantity is None:
            return self.prices[0]
        for band in self.prices:
            if quantity >= band.min_qty and (band.max_qty is None or quantity <= band.max_qty):
                return band
        return self.prices[0] if quantity < self.prices[0].min_qty else self.prices[-1]


class Catalogue(_Strict):
    pdf: str | None = None
    currency: str = "USD"
    sample_fee: float | None = None
    content_dir: str | None = None


class Terms(_Strict):
    """The seller's standard terms: what a quote states and what the buyer's own terms are compared with."""

    payment: str = ""  # as a quote writes it, e.g. "T/T 30% deposit, 70% before shipment"
    payments: dict[str, str] = {}  # the same in other languages
    accepted_payment: list[str] = []  # methods accepted, e.g. ["T/T", "L/C at sight"]
    deposit_pct: int | None = None
    incoterm: str = ""  # the price basis of a quote, e.g. "FOB"
    port: str = ""  # e.g. "Ningbo"
    quote_validity_days: int | None = None
    sample_lead_days: int | None = None
    warranty_years: float | None = None
    oem: bool | None = None  # logo printing, private label and custom packaging offered
    oem_min_qty: int | None = None  # from this quantity on

    def payment_in(self, lang: str) -> str:
        return self.payments.get(lang) or self.payment


class SellerFile(_Strict):
    company: Company
    sender: Sender
    signature: dict[str, str] = {}
    catalogue: Catalogue = Catalogue()
    terms: Terms = Terms()
    product: list[Product] = []


@dataclass(frozen=True)
class Seller:
    """A loaded seller profile; paths resolved against the profile's folder."""

    data: SellerFile
    base: Path

    @property
    def company(self) -> Company:
        return self.data.company

    @property
    def sender(self) -> Sender:
        return self.data.sender

    @property
    def products(self) -> list[Product]:
        return self.data.product

    @property
    def terms(self) -> Terms:
        return self.data.terms

    def signature(self, lang: str) -> str:
        sig = self.data.signature
        return sig.get(lang) or sig.get("en") or f"{self.sender.name}\n{self.company.name}"

    def catalogue_pdf(self) -> Path | None:
        if not self.data.catalogue.pdf:
            return None
        path = self.base / self.data.catalogue.pdf
        return path if path.is_file() else None

    def content(self, lang: str) -> str:
        """The first case study or compliance note for the language (falling back to English), or ''. Read once
        per loaded profile (a reload, e.g. on SIGHUP, loads a new one)."""
        if lang not in self._content:
            self._content[lang] = self._read_content(lang)
        return self._content[lang]

    def _read_content(self, lang: str) -> str:
        items = self.content_items(lang)
        return items[0][1] if items else ""

    def content_items(self, lang: str) -> list[tuple[str, str]]:
        """Every case study or compliance note of `[catalogue] content_dir` for the language (else the English
        ones), as (name, text) in file-name order; the name is the file's without `.<lang>.txt`."""
        if not self.data.catalogue.content_dir:
            return []
        folder = self.base / self.data.catalogue.content_dir
        for code in (lang, "en"):
            files = sorted(folder.glob(f"*.{code}.txt")) if folder.is_dir() else []
            items = [(f.name.removesuffix(f".{code}.txt"), f.read_text(encoding="utf-8").strip()) for f in files]
            items = [(name, text) for name, text in items if text]
            if items:
                return items
        return []

    @cached_property
    def _content(self) -> dict[str, str]:
        return {}

    @cached_property
    def _models(self) -> list[tuple[Product, list[regex.Pattern[str]]]]:
        """Each product's model numbers as patterns, compiled once."""
        return [(p, [regex.compile(rf"(?<![\w-]){regex.escape(m.lower())}") for m in p.models]) for p in self.products]

    @cached_property
    def _ratings(self) -> list[set[tuple[str, str]]]:
        """Each product's own ratings (value, unit), parsed once."""
        return [set().union(*(ratings_in(r) for r in p.ratings)) if p.ratings else set() for p in self.products]

    @property
    def own_domains(self) -> tuple[str, ...]:
        domains = list(self.company.domains) + [self.sender.address.rpartition("@")[2]]
        return tuple(dict.fromkeys(d.lower() for d in domains if d))

    def match(self, text: str) -> list[Product]:
        """Catalogue entries the text names, best first.

        Model numbers win: when the text names catalogue models, only those products match. Otherwise a product
        matches by keyword unless the text names a rating of the same unit it does not have (a "100W flood light"
        is not the 150W one), so no price is ever quoted for a product the buyer did not ask for.
        """
        low = text.lower()
        by_model = [p for p, patterns in self._models if any(pattern.search(low) for pattern in patterns)]
        if by_model:
            return by_model
        named = ratings_in(text)
        scored = []
        for product, own in zip(self.products, self._ratings, strict=True):
            score = sum(len(k) for k in product.keywords if k.lower() in low)
            if not score:
                continue
            units = {u for _, u in own}
            if any(u in units for _, u in named) and not own & named:
                continue
            scored.append((score + 100 * len(own & named), product))
        scored.sort(key=lambda x: -x[0])
        return [p for _, p in scored]


def bundled_profile() -> Path:
    return Path(str(resources.files("daemon") / "samples" / "seller.toml"))


def load(path: Path | None = None) -> Seller:
    path = path or bundled_profile()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"{path}: cannot read the seller profile: {e}") from e
    try:
        return Seller(SellerFile.model_validate(data), path.parent)
    except ValidationError as e:
        raise RulesError([f"{path} [{' -> '.join(map(str, err['loc']))}] {err['msg']}" for err in e.errors()]) from e
