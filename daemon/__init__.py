"""inquiry-triage: triage buyer inquiries in a sales mailbox and draft the right reply."""

__version__ = "0.1.0"
