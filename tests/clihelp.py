"""Running the real CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("INQUIRY_TRIAGE_CONFIG", None) if env is None or "INQUIRY_TRIAGE_CONFIG" not in env else None
    return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=cwd or ROOT, input=stdin, env=full_env,
                          capture_output=True, timeout=timeout, check=False)
