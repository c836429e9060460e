"""Security through the real CLI: hostile content stays inert in drafts, a user regex that backtracks is bounded,
configuration and secret files readable by others are reported (or refused), TLS needs a trusted certificate."""

from __future__ import annotations

import email
import email.policy
import os
import time
from pathlib import Path

import pytest

from tests.clihelp import cli
from tests.dovecot import append, message, running_dovecot, write_config

HOSTILE = (b"From: Ada Eze <ada@buyer.example>\nTo: sales@brightway-power.example\n"
           b"Subject: RFQ {{ 7*191 }} <script>alert(1)</script>\nMessage-ID: <inert-1@buyer.example>\n"
           b"Date: Mon, 02 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
           b"<p>Please quote 500 pcs of 60W solar street lights, CIF Lagos.</p><script>alert('x')</script>"
           b"<p>{{ 7*191 }} {% for x in range(3) %}loop{% endfor %} <img src=x onerror=alert(1)></p>\n")


def test_hostile_html_and_template_text_stay_inert_in_the_draft(tmp_path: Path) -> None:
    inbox = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True)
    (inbox / "new" / "1.hostile").write_bytes(HOSTILE)
    config = tmp_path / "c.toml"
    config.write_text('[store]\nurl = "sqlite:///t.sqlite3"\n[[mailboxes]]\nname = "m"\nkind = "maildir"\npath = "Maildir"\n'
                      'drafts = "Drafts"\n', encoding="utf-8")
    assert cli("--config", str(config), "run", "--once").returncode == 0
    (path,) = (tmp_path / "Drafts" / "cur").iterdir()
    draft = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    html = draft.get_body(("html",)).get_content()
    text = draft.get_body(("plain",)).get_content()
    assert "<script" not in html and "<img src=x" not in html and "&lt;script&gt;" in html
    assert "1337" not in html + text + str(draft["Subject"]) and "looplooploop" not in html + text
    assert "{{ 7*191 }}" in text and str(draft["Subject"]) == "Re: RFQ {{ 7*191 }} <script>alert(1)</script>"


def test_a_backtracking_user_regex_is_bounded_at_run_time(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay" / "en"
    overlay.mkdir(parents=True)
    # (a|aa)+ passes the static check (no unbounded quantifier inside the group) but takes exponential time on a
    # run of a's that does not end in the expected letter: about 2^40 steps here without a bound
    (overlay / "slow.toml").write_text('[[rule]]\nid = "SPECS_SLOW"\nitem = "specs"\ndescription = "slow"\n'
                                       "regex = ['(a|aa)+c']\n", encoding="utf-8")
    assert cli("rules", "check", str(tmp_path / "overlay")).returncode == 0
    mail = tmp_path / "m.eml"
    mail.write_bytes(b"From: a@b.example\nSubject: RFQ\n\nWe need " + b"a" * 60 + b"b lights, " + b"a" * 60 + b"d.\n")
    config = tmp_path / "c.toml"
    config.write_text(f'[rules]\noverlay = "{tmp_path / "overlay"}"\n', encoding="utf-8")
    started = time.monotonic()
    result = cli("--config", str(config), "explain", "--json", str(mail), timeout=120)
    assert result.returncode == 0 and time.monotonic() - started < 60, result.stderr.decode()[-2000:]


@pytest.mark.parametrize("where", ["config", "password_file"])
def test_files_readable_by_others_are_reported_or_refused(tmp_path: Path, where: str) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("not-used\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "sqlite:///t.sqlite3"\npassword_file = "{secret}"\n[daemon]\n', encoding="utf-8")
    os.chmod(config, 0o600)
    os.chmod(secret, 0o600)
    os.chmod(config if where == "config" else secret, 0o644)
    exposed = config if where == "config" else secret
    warned = cli("--config", str(config), "db", "upgrade")
    assert warned.returncode == 0 and f"{exposed} can be read by every user of this host (mode 0644)" in warned.stderr.decode()
    config.write_text(config.read_text() + 'readable_secrets = "refuse"\n', encoding="utf-8")
    refused = cli("--config", str(config), "db", "upgrade")
    assert refused.returncode == 2 and 'readable_secrets = "refuse": not starting' in refused.stderr.decode()
    os.chmod(exposed, 0o600)
    quiet = cli("--config", str(config), "db", "upgrade")
    assert quiet.returncode == 0 and "can be read by every user" not in quiet.stderr.decode()


def test_tls_with_a_self_signed_certificate_is_refused_unless_its_ca_file_is_configured(tmp_path: Path) -> None:
    with running_dovecot(tls=True, self_signed=True) as server:
        user, pw = server.add_user()
        with server.connect(user, pw) as c:
            append(c, message(1))
        trusting = server.mailbox_toml("sales", user, "PW")
        untrusting = "\n".join(line for line in trusting.splitlines() if not line.startswith("ca_file")) + "\n"
        refused = cli("--config", str(write_config(tmp_path, untrusting)), "run", "--once", env={"PW": pw})
        err = refused.stderr.decode()
        assert refused.returncode == 3 and "was not verified" in err and "set ca_file" in err, err[-2000:]
        accepted = cli("--config", str(write_config(tmp_path, trusting)), "run", "--once", env={"PW": pw})
        assert accepted.returncode == 0, accepted.stderr.decode()[-2000:]
