"""What the receiving mail server already concluded: spam-filter flags and failed sender authentication.

SpamAssassin writes `X-Spam-Flag: YES` and `X-Spam-Status: Yes, score=...`; rspamd writes `X-Spam: Yes`,
`X-Spam-Status` and, with extended headers, `X-Spamd-Result: default: True [...]` and `X-Rspamd-Action` (the action
it chose: "add header", "rewrite subject" and "reject" mean spam; "no action" and "greylist" do not); the receiving server records SPF,
DKIM and DMARC results in `Authentication-Results` (RFC 8601) and SPF alone in `Received-SPF` (RFC 7208). Each
verdict found becomes a signal with the header and the words that carry it, so `explain` shows why. A failure only
ever counts against the sender: a forged "pass" changes nothing.
"""

from __future__ import annotations

import regex

from extractors.core.model import ParsedMessage, Signal

# the header names this module reads; the parse stage keeps them (daemon/parse/message.py SIGNAL_HEADERS)
HEADERS = ("authentication-results", "received-spf", "x-spam-flag", "x-spam-status", "x-spam", "x-spamd-result",
           "x-rspamd-action")
_YES = regex.compile(r"^\W*yes\b", regex.I)
_SPAMD_SPAM = regex.compile(r"\bdefault\s*:\s*true\b", regex.I)
_RSPAMD_ACTION = regex.compile(r"^\W*(?:add\sheader|rewrite\ssubject|reject)\b", regex.I)
# dmarc=fail, dkim=fail, spf=fail; softfail and neutral are too weak to hold a buyer's mail back
_AUTH_FAIL = regex.compile(r"\b(?P<method>dmarc|dkim|spf)\s*=\s*(?P<result>fail|permerror)\b", regex.I)
_SPF_FAIL = regex.compile(r"^\W*fail\b", regex.I)


def _short(value: str) -> str:
    return value if len(value) <= 80 else value[:77].rsplit(" ", 1)[0] + " ..."


def spam_verdict(msg: ParsedMessage) -> Signal | None:
    """The first spam-filter flag among the headers, as an `upstream_spam` signal."""
    for name, rule in (("x-spam-flag", "UPSTREAM_SPAM_FLAG"), ("x-spam", "UPSTREAM_RSPAMD_SPAM"),
                       ("x-spam-status", "UPSTREAM_SPAM_STATUS")):
        value = msg.header(name)
        if value and _YES.search(value):
            return Signal("upstream_spam", rule, f"the receiving server's spam filter flagged it ({name}: {_short(value)})")
    value = msg.header("x-spamd-result")
    if value and _SPAMD_SPAM.search(value):
        return Signal("upstream_spam", "UPSTREAM_SPAMD_RESULT", f"rspamd judged it spam (x-spamd-result: {_short(value)})")
    value = msg.header("x-rspamd-action")
    if value and _RSPAMD_ACTION.search(value):
        return Signal("upstream_spam", "UPSTREAM_RSPAMD_ACTION", f"rspamd judged it spam (x-rspamd-action: {_short(value)})")
    return None


def auth_verdict(msg: ParsedMessage) -> Signal | None:
    """A failed DMARC, DKIM or SPF check recorded by the receiving server, as an `upstream_auth_fail` signal."""
    failed = sorted({m.group("method").lower() for m in _AUTH_FAIL.finditer(msg.header("authentication-results"))},
                    key=("dmarc", "dkim", "spf").index)
    if _SPF_FAIL.search(msg.header("received-spf")) and "spf" not in failed:
        failed.append("spf")
    if not failed:
        return None
    return Signal("upstream_auth_fail", "UPSTREAM_AUTH_FAIL",
                  f"the sender's domain failed {', '.join(f.upper() for f in failed)} at the receiving server "
                  "(the mail may not come from the company it names)")


def verdicts(msg: ParsedMessage) -> list[Signal]:
    """Every upstream verdict of the message, spam first."""
    return [s for s in (spam_verdict(msg), auth_verdict(msg)) if s is not None]
