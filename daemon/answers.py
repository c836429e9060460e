"""The buyer's own questions answered, and the buyer's order terms set against the seller's standard terms.

Every answer comes from the seller profile (`[terms]`, `[catalogue]`, the matched `[[product]]`s) or is left for
the salesperson as a marked placeholder: nothing is invented. The templates phrase each answer in the buyer's
language (`answers` in `reply_templates/<lang>/_macros.j2`); here each is data: its topic and the facts.
"""

from __future__ import annotations

from typing import Any

import regex

from daemon.seller import Product, Seller
from extractors.core.model import QUESTION_TOPICS, Checklist, Finding

_LC = regex.compile(r"\bL\s?/\s?C\b|\bletters?\sof\scredit\b|信用证|carta\sde\scr[ée]dito|lettre\sde\scr[ée]dit|Akkreditiv|аккредитив|اعتماد|akreditif|lettera\sdi\scredito", regex.I)
_TT = regex.compile(r"\bT\s?/\s?T\b|\btelegraphic\b|\bwire\b|\bbank\stransfer\b|电汇|transferencia|virement|[ÜU]berweisung|transfer[êe]ncia|bonifico|перевод|حوالة|havale", regex.I)
_PCT = regex.compile(r"(\d{1,3})\s?%|%\s?(\d{1,3})")
_DAYS = regex.compile(r"(\d{1,3})\s?(?:days?|d[ií]as|jours|Tage[n]?|dias|giorni|дн\w{0,3}|gün|يوم|天)", regex.I)


def asked(checklist: Checklist) -> list[str]:
    """The topics the buyer asks about, in the order of QUESTION_TOPICS."""
    return [t for t in QUESTION_TOPICS if checklist.signal(f"asks_{t}")]


def answers(topics: list[str], seller: Seller, products: list[Product], lang: str, has_catalogue: bool,
            destination: str) -> list[dict[str, Any]]:
    """One entry per topic asked: {"topic": ..., facts...}; a fact the profile lacks is None (the template writes a
    placeholder for it)."""
    t = seller.terms
    one = products[:3]
    out: list[dict[str, Any]] = []
    for topic in topics:
        entry: dict[str, Any] = {"topic": topic}
        if topic == "moq":
            entry["items"] = [{"name": p.label(lang), "moq": p.moq} for p in one]
        elif topic == "lead_time":
            entry["items"] = [{"name": p.label(lang), "days": p.lead_time_days} for p in one]
        elif topic == "certificates":
            entry["items"] = [{"name": p.label(lang), "certifications": list(p.certifications)} for p in one]
        elif topic == "oem":
            entry.update(offered=t.oem, min_qty=t.oem_min_qty)
        elif topic == "payment":
            stated = t.payment.casefold()
            entry.update(terms=t.payment_in(lang) or None,
                         accepted=[m for m in t.accepted_payment if m.casefold() not in stated])
        elif topic == "shipping_cost":
            entry.update(destination=destination, incoterm=t.incoterm, port=t.port)
        elif topic == "samples":
            fee = seller.data.catalogue.sample_fee
            entry.update(fee=fee, currency=seller.data.catalogue.currency, days=t.sample_lead_days)
        elif topic == "catalogue":
            entry.update(attached=has_catalogue)
        elif topic == "warranty":
            years = next((p.warranty_years for p in one if p.warranty_years is not None), t.warranty_years)
            entry.update(years=_whole(years))
        elif topic == "price":
            entry.update(quoted=bool(one) and any(p.prices for p in one))
        out.append(entry)
    return out


def _whole(x: float | None) -> float | int | None:
    return int(x) if x is not None and float(x).is_integer() else x


def deposit_of(text: str) -> int | None:
    """The deposit percentage of payment terms as written ("30% deposit" -> 30; L/C at sight -> 0; unknown -> None)."""
    if _LC.search(text) and not _PCT.search(text):
        return 0
    m = _PCT.search(text)
    return int(m.group(1) or m.group(2)) if m else None


def method_of(text: str) -> str:
    return "L/C" if _LC.search(text) else "T/T" if _TT.search(text) else ""


def term_differences(checklist: Checklist, seller: Seller, lang: str, deposit_pct: int, buyer_words: Any,
                     labels: Any, products: list[Product], unit_price: Any) -> list[dict[str, Any]]:
    """Each of the buyer's order terms that differs from the seller's standard: {id, label, buyer, ours}. The
    buyer's words are shown as written; the salesperson settles each difference before confirming."""
    t = seller.terms
    out: list[dict[str, Any]] = []
    trade = checklist.get("trade_terms")
    if trade is not None and t.incoterm:
        value = trade.value if isinstance(trade.value, dict) else {}
        term = str(value.get("term") or "").upper()
        ours = " ".join(x for x in (t.incoterm, t.port) if x)
        if term and term != t.incoterm.upper():
            out.append({"id": "trade_terms", "label": labels("trade_terms"), "buyer": buyer_words(trade), "ours": ours})
    pay = checklist.get("payment_terms")
    ours_pay = t.payment_in(lang)
    if pay is not None and ours_pay:
        words = str(pay.evidence or "")
        value = pay.value if isinstance(pay.value, dict) else {}
        deposit = value.get("deposit_pct") if isinstance(value.get("deposit_pct"), int) else deposit_of(words)
        if deposit is None:  # the rule's evidence may be a part of the statement: read the whole of it
            deposit = deposit_of(str(buyer_words(pay)))
        method, our_method = method_of(words), method_of(t.payment)
        # a deposit other than the profile's (a customer of high change risk): the template states it, also when the
        # buyer's terms name no deposit
        raised = deposit_pct if deposit_pct != (t.deposit_pct or deposit_pct) else None
        if (method and our_method and method != our_method) or (deposit is not None and deposit != deposit_pct) \
                or (raised is not None and deposit is None):
            out.append({"id": "payment_terms", "label": labels("payment_terms"), "buyer": buyer_words(pay), "ours": ours_pay,
                        "deposit_pct": raised})
    lead = checklist.get("lead_time")
    days = _days(lead)
    slowest = max((p.lead_time_days for p in products if p.lead_time_days), default=None)
    if lead is not None and days is not None and slowest is not None and days < slowest:
        out.append({"id": "lead_time", "label": labels("lead_time"), "buyer": buyer_words(lead), "ours": f"{slowest}"})
    price = checklist.get("target_price")
    floor = _floor(products, checklist)
    amount = price.value.get("amount") if price is not None and isinstance(price.value, dict) else None
    if isinstance(amount, (int, float)) and floor is not None and amount < floor[0]:
        out.append({"id": "target_price", "label": labels("target_price"), "buyer": buyer_words(price),
                    "ours": unit_price(floor)})
    return out


def _days(f: Finding | None) -> int | None:
    if f is None:
        return None
    if isinstance(f.value, dict) and isinstance(f.value.get("days"), (int, float)):
        return int(f.value["days"])
    m = _DAYS.search(f.evidence or "")
    return int(m.group(1)) if m else None


def _floor(products: list[Product], checklist: Checklist) -> tuple[float, float, str] | None:
    """The lowest catalogue price band (min, max, currency) for the quantity, of the first matched product."""
    if not products or not products[0].prices:
        return None
    q = checklist.get("quantity")
    qty = q.value.get("amount") if q is not None and isinstance(q.value, dict) and not q.value.get("container") else None
    band = products[0].band(float(qty) if isinstance(qty, (int, float)) else None)
    return (band.min, band.max, products[0].currency or "") if band else None
