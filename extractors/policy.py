"""What the playbook decides at the extract stage, as data: the buyer-strength points (`[strength]`) and the
conditions of the buyer signals (`[signals]`), read from `rules/decisions.toml` (or an overlay's).

A buyer signal (`invalid`, `price_only`, `auto_reply`, ...) is the first of its conditions that holds. A condition
names facts that must all hold (`when`), facts of which one must (`when_any`), and at most how many concrete
requirements the message states (`concrete_max`, counted over `[signals] concrete`, or over its own `concrete`
list). A fact is a signal a rule fed (`lure`, `generic_greeting`, ...) or one of the facts of the message that
`FACTS` lists. `{fact}` in a reason is what that fact found (a rule's evidence, a link's host).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from extractors.core.errors import RulesError
from extractors.core.model import ITEM_IDS

# facts of a message the signal stage knows besides the rules' signals
FACTS = {
    "look_alike_link": "a link to a host that looks like one of our own domains but is not",
    "mass_mailed": "sent to at least [signals] mass_recipients recipients (To and Cc)",
    "reply_to_freemail": "replies diverted from a corporate sender to a free-mail address",
    "freemail": "the sender's domain is a free-mail provider",
    "no_company": "no company identified",
    "sample_item": "the buyer states a sample need (the `sample` item)",
    "risky_attachment": "an attachment whose content is HTML, an archive, a disk image, a program, a script or a macro document",
    "reply_to_look_alike": "replies diverted to a domain one or two letters away from the sender's",
    "sender_look_alike": "the sender's or Reply-To domain is one letter away from a company name the mail writes, or up to "
                         "two from a name of [signals] look_alike_names",
    "upstream_spam": "the receiving server's spam filter flagged the mail (X-Spam-Flag, X-Spam, X-Spam-Status, X-Spamd-Result)",
    "upstream_auth_fail": "the sender's domain failed DMARC, DKIM or SPF at the receiving server (Authentication-Results, Received-SPF)",
}
# signs of a strong buyer the strength stage scores (their points and reasons are data)
SIGNS = ("corporate_domain", "freemail", "website_matches", "company", "title", "phone", "stated_size",
         "large_quantity", "verified_badge", "repeat_customer")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sign(_Strict):
    points: int
    reason: str = Field(min_length=1)


class StrengthRules(_Strict):
    high_min: int = 6
    medium_min: int = 3
    large_quantity: int = 1000  # an amount from this many units (or any container load) is a large quantity
    signs: dict[str, Sign] = {}

    @model_validator(mode="after")
    def _known(self) -> StrengthRules:
        unknown = [s for s in self.signs if s not in SIGNS]
        if unknown:
            raise ValueError(f"unknown sign {unknown[0]!r} under [strength.signs]; one of: {', '.join(SIGNS)}")
        if self.medium_min > self.high_min:
            raise ValueError("medium_min must not exceed high_min")
        return self


class Condition(_Strict):
    id: str = ""  # the rule id reported; default: the rule that fed the first fact of `when`
    when: list[str] = []
    when_any: list[str] = []
    concrete_max: int | None = None
    counted: str = "concrete"  # the list of [signals.counts] that concrete_max counts over
    reason: str = ""  # default: the reason of the rule that fed the first fact of `when`

    @model_validator(mode="after")
    def _something(self) -> Condition:
        if not self.when and not self.when_any and self.concrete_max is None:
            raise ValueError("a condition needs `when`, `when_any` or `concrete_max`")
        return self


class SignalRules(_Strict):
    counts: dict[str, list[str]] = {"concrete": ["specs", "quantity", "lead_time", "material", "target_price", "customization"]}
    mass_recipients: int = 5
    # names lures imitate in a sender domain (aIibaba.com, docusiqn.net): platforms, file-transfer and e-signature
    # services, carriers, payment services
    look_alike_names: list[str] = []
    # signal -> its conditions, the first that holds decides (in this order in the checklist)
    auto_reply: list[Condition] = []
    invalid: list[Condition] = []
    sample_requested: list[Condition] = []
    is_order: list[Condition] = []
    declines_to_clarify: list[Condition] = []
    price_only: list[Condition] = []

    @model_validator(mode="after")
    def _consistent(self) -> SignalRules:
        for name, items in self.counts.items():
            unknown = [i for i in items if i not in ITEM_IDS]
            if unknown:
                raise ValueError(f"[signals.counts] {name}: unknown item {unknown[0]!r}; use one of the 18 item ids")
        for signal, conditions in self.conditions():
            for n, c in enumerate(conditions, 1):
                if c.concrete_max is not None and c.counted not in self.counts:
                    raise ValueError(f"[[signals.{signal}]] #{n}: counted = {c.counted!r} is not a list of [signals.counts]")
        return self

    def conditions(self) -> list[tuple[str, list[Condition]]]:
        return [(name, getattr(self, name)) for name in
                ("auto_reply", "invalid", "sample_requested", "is_order", "declines_to_clarify", "price_only")]


class Policy(_Strict):
    strength: StrengthRules = StrengthRules()
    signals: SignalRules = SignalRules()


def load_policy(path: Path) -> Policy:
    """The [strength] and [signals] sections of a decisions file (the rest is the assess stage's)."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"{path}: cannot read decision rules: {e}") from e
    try:
        return Policy.model_validate({k: data[k] for k in ("strength", "signals") if k in data})
    except ValidationError as e:
        raise RulesError([f"{path} [{' -> '.join(map(str, err['loc']))}] {err['msg'].removeprefix('Value error, ')}"
                          for err in e.errors()]) from e
