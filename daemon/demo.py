"""`demo`: the bundled sample inbox triaged once, on SQLite, drafts to a Maildir."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from daemon.config import Config, MaildirMailboxConfig, StoreConfig


def sample_files() -> list[Path]:
    folder = Path(str(resources.files("daemon") / "samples" / "inbox"))
    return sorted(folder.glob("*.eml"))


def prepare(workdir: Path) -> Config:
    """Copy the sample inbox into workdir/Maildir (once; re-runs keep what is there) and return its config."""
    workdir = workdir.resolve()
    inbox = workdir / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    for n, src in enumerate(sample_files()):
        name = f"{1_790_000_000 + n * 60}.M{n:04d}P0Q0.{src.stem}"
        if not any((inbox / sub / name).exists() for sub in ("cur", "new")) and not list((inbox / "cur").glob(name + ":*")):
            dest = inbox / "new" / name
            shutil.copyfile(src, dest)
            os.utime(dest, (1_790_000_000 + n * 60, 1_790_000_000 + n * 60))
    return Config(
        store=StoreConfig(url="sqlite:///inquiry-triage.sqlite3"),
        mailboxes=[MaildirMailboxConfig(name="demo", kind="maildir", path=Path("Maildir"), drafts=Path("Maildir/.Drafts"))],
        base_dir=workdir,
        source=f"demo ({workdir})",
    )
