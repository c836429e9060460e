"""Append the bundled sample inbox (daemon/samples/inbox) to the INBOX of every demo mailbox of the try-out's
Dovecot (deploy/compose.yaml): `docker compose -f deploy/compose.yaml run --rm seed`."""

import imaplib
import os
import time
from importlib.resources import files

HOST, USERS = "dovecot", ("sales1", "sales2", "sales3", "sales4")
samples = sorted(p for p in files("daemon").joinpath("samples", "inbox").iterdir() if p.name.endswith(".eml"))
for user in USERS:
    for _attempt in range(30):  # Dovecot may still be starting
        try:
            imap = imaplib.IMAP4(HOST, 143)
            break
        except OSError:
            time.sleep(1)
    else:
        raise SystemExit(f"no IMAP server at {HOST}:143")
    imap.login(user, os.environ["DEMO_MAILBOX_PASSWORD"])
    for sample in samples:
        imap.append("INBOX", None, None, sample.read_bytes())
    imap.logout()
    print(f"{user}: {len(samples)} messages appended")
