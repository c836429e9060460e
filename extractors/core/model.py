"""The frozen values that travel through the pipeline, one stage to the next.

fetch -> RawMessage -> parse -> ParsedMessage -> extract -> Checklist -> assess -> Assessment
-> draft -> Draft | None -> deliver -> record.  Every value carries its MessageKey.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ITEM_IDS: tuple[str, ...] = (
    "specs",
    "quantity",
    "lead_time",
    "certification",
    "material",
    "payment_terms",
    "trade_terms",
    "destination",
    "packaging",
    "target_price",
    "customization",
    "sample",
    "company",
    "contact",
    "application",
    "purchase_plan",
    "shipping",
    "quality_inspection",
)
SCREENING_CORE = ITEM_IDS[:4]
CORE_ITEMS = ITEM_IDS[:10]
SIGNAL_IDS: tuple[str, ...] = (
    "invalid",
    "price_only",
    "sample_requested",
    "is_order",
    "declines_to_clarify",
    "auto_reply",
)
# What a buyer may ask the seller (each detected as the signal `asks_<topic>` and answered in the draft).
QUESTION_TOPICS: tuple[str, ...] = (
    "moq", "price", "lead_time", "certificates", "oem", "payment", "shipping_cost", "samples", "catalogue", "warranty",
)
# Signs that an order- or payment-shaped mail may be a lure (each a signal; see daemon/assess.py).
RISK_SIGNALS: tuple[str, ...] = (
    "risk_portal", "risk_attachment", "risk_card_payment", "risk_private_shipper", "risk_overpayment",
    "risk_bank_change", "risk_freemail_order", "risk_platform_spoof", "upstream_spam", "upstream_auth_fail",
)
# Further kinds of message a signal tells apart: payment-shaped mail (remittance, payment advice, bank details)
# and a re-order that refers to an earlier order.
CONTEXT_SIGNALS: tuple[str, ...] = ("payment_mail", "refers_to_earlier_order")


@dataclass(frozen=True, slots=True, order=True)
class MessageKey:
    """Where a message lives; also the store's unique key."""

    account: str
    folder: str
    uidvalidity: int
    uid: int

    def __str__(self) -> str:
        return f"{self.account}/{self.folder};UIDVALIDITY={self.uidvalidity};UID={self.uid}"


@dataclass(frozen=True, slots=True)
class RawMessage:
    """The bytes of one message as the mailbox holds them."""

    key: MessageKey
    data: bytes
    flags: tuple[str, ...] = ()
    source_ref: str = ""  # mailbox-specific handle (a Maildir file name, an IMAP UID)
    may_have_draft: bool = True  # an earlier pass may have saved its draft: look in Drafts before saving one


@dataclass(frozen=True, slots=True)
class AttachmentText:
    """Text read from one attachment (a sheet, a document, all pages of a PDF), a part of the message of its own.
    `places` marks where each stretch of the text stands in the file: (offset in `text`, place), in order, e.g.
    (0, "Sheet1!A1:F1"), (22, "Sheet1!A2:B2") or (0, "page 1"), (1804, "page 2")."""

    file: str  # the attachment's file name
    name: str  # the part of the file: "Sheet1", or "" for the whole file
    text: str
    places: tuple[tuple[int, str], ...] = ()
    language: str = "en"

    @property
    def title(self) -> str:
        """"RFQ_2026.xlsx, Sheet1" or "spec.pdf"."""
        return f"{self.file}, {self.name}" if self.name else self.file

    def source(self, offset: int) -> str:
        """The file and the place of `offset` in it: "RFQ_2026.xlsx, Sheet1!A2:B2", "spec.pdf, page 2"."""
        place = self.place_at(offset)
        return f"{self.file}, {place}" if place else self.title

    def place_at(self, offset: int) -> str:
        """The place of the stretch holding `offset` ("" when the text has no places)."""
        found = ""
        for start, place in self.places:
            if start > offset:
                break
            found = place
        return found


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of cells as an attachment lays them out, each row with its place in the file. A grid (a sheet, a CSV
    file, a Word table) has one cell per column; laid-out text (a PDF page) has the runs of text of each line, with
    the character column each run starts at in `columns`."""

    file: str  # the attachment's file name
    name: str  # "Sheet1", "table 1", "page 2"
    rows: tuple[tuple[str, ...], ...]
    places: tuple[str, ...]  # per row: "Sheet1!A5:F5", "table 1, row 3", "page 2"
    columns: tuple[tuple[int, ...], ...] = ()  # laid-out text only: per row, the start column of each cell


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to the message: its type as its content shows it, and what reading it came to."""

    filename: str
    content_type: str  # as declared in the message
    size: int
    kind: str = ""  # decided by content: xlsx, xls, ods, csv, pdf, docx, text, image, html, archive, ...
    status: str = ""  # read | skipped | refused
    reason: str = ""  # what was read ("1 sheet, 7 rows"), or why it was skipped or refused
    danger: str = ""  # why the file type is dangerous where an order or quotation should be ("" when it is not)
    texts: tuple[AttachmentText, ...] = ()
    tables: tuple[Table, ...] = ()
    links: tuple[str, ...] = ()  # link targets inside the file (a PDF's link annotations), never followed


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """One message decoded: headers that matter, the buyer's new text, quoted history, signature."""

    key: MessageKey
    message_id: str
    subject: str
    from_name: str
    from_addr: str
    reply_to: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: dt.datetime | None
    in_reply_to: str
    references: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]  # lower-cased names of the headers signals need
    text: str  # the buyer's new text (no quotes, no signature)
    signature: str
    quoted: str
    full_text: str  # the whole decoded body as text
    language: str
    language_known: bool
    is_html_only: bool
    attachments: tuple[Attachment, ...] = ()
    platform: str = ""  # name of the B2B platform adapter that extracted the buyer's part
    form: str = ""  # "Field: value" lines of a platform notification's form
    links: tuple[str, ...] = ()
    content_hash: str = ""
    notes: tuple[str, ...] = ()  # what the parse stage cut or left out, and why (e.g. text over the limit)
    tables: tuple[Table, ...] = ()  # the tables of an HTML body, row by row (its text has them flattened)

    def header(self, name: str) -> str:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One checklist item stated by the buyer, with its evidence."""

    item: str
    value: Any
    evidence: str
    start: int
    end: int
    rule: str
    confidence: float
    part: str = "text"  # text | subject | signature | form | attachment
    source: str = ""  # an attachment finding's file and place in it: "RFQ_2026.xlsx, Sheet1!A5:F5"

    def as_json(self) -> dict[str, Any]:
        out = {
            "value": self.value,
            "evidence": self.evidence,
            "rule": self.rule,
            "confidence": round(self.confidence, 3),
            "span": [self.start, self.end],
            "part": self.part,
        }
        if self.source:
            out["source"] = self.source
        return out


@dataclass(frozen=True, slots=True)
class LineItem:
    """One product the buyer asks for, in the buyer's own words: a line of a list or table, a clause of prose, a
    platform card. `amount` and `unit` are the normalised quantity; the texts are as written."""

    product: str
    model: str = ""
    parameters: str = ""
    quantity: str = ""
    amount: float | None = None
    unit: str = ""
    target_price: str = ""
    evidence: str = ""  # the whole line, row or clause
    source: str = "text"  # the part it came from: text | subject | form, or an attachment with its place in it

    def as_json(self) -> dict[str, Any]:
        return {
            "product": self.product, "model": self.model, "parameters": self.parameters, "quantity": self.quantity,
            "amount": self.amount, "unit": self.unit, "target_price": self.target_price, "evidence": self.evidence,
            "source": self.source,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Signal:
    """A buyer signal that fired, with its reason."""

    name: str
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Checklist:
    """The 18 items (a Finding or None each), the buyer signals and the buyer's strength."""

    key: MessageKey
    language: str
    items: tuple[tuple[str, Finding | None], ...]
    signals: tuple[Signal, ...] = ()
    strength: str = "low"
    strength_reasons: tuple[str, ...] = ()
    line_items: tuple[LineItem, ...] = ()  # the products asked for, in order (empty when none is told apart)
    thread_items: tuple[str, ...] = ()  # the items earlier buyer messages of the thread stated (empty: no thread)

    def get(self, item: str) -> Finding | None:
        for name, finding in self.items:
            if name == item:
                return finding
        raise KeyError(item)

    @property
    def yes(self) -> tuple[str, ...]:
        return tuple(name for name, finding in self.items if finding is not None)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name, finding in self.items if finding is None)

    @property
    def clarity(self) -> int:
        return len(self.yes)

    def signal(self, name: str) -> bool:
        return any(s.name == name for s in self.signals)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The decisions for one inquiry, each with its reason."""

    key: MessageKey
    checklist: Checklist
    priority: str | None
    tier: str | None
    follow_up_mode: str | None
    quote: str | None
    sample: str | None
    action: str
    reasons: tuple[tuple[str, str], ...] = ()
    questions: tuple[str, ...] = ()  # item ids to ask about, in order
    response_due_hours: int | None = None
    order_risk: tuple[tuple[str, Any], ...] = ()
    changes: tuple[tuple[str, Any, Any], ...] = ()  # (item, finding-json at the last order or None, finding-json now)
    last_order_known: bool = False  # the store holds the customer's last order (changes are against it)

    @property
    def clarity(self) -> int:
        return self.checklist.clarity

    @property
    def drafts_reply(self) -> bool:
        return self.action != "none"


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply ready to be stored in a Drafts folder."""

    key: MessageKey
    message_id: str
    action: str
    to: str
    subject: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one message came to, for the store and the log."""

    key: MessageKey
    message_id: str
    status: str  # drafted | skipped | quarantined
    action: str
    reason: str = ""
    assessment: Assessment | None = None
    draft: Draft | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
