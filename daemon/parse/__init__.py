"""The parse stage: raw bytes -> ParsedMessage.

MIME decoding and charset repairs (`message`, `charset`), HTML to text (`htmltext`), the buyer's new text apart
from quotes, forwards and signature (`quotes`), language detection (`language`) and B2B-platform notification
adapters (`platforms`). Pure: no I/O.
"""
