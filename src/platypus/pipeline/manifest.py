"""Stage identity and completion markers.

A stage's key hashes its name, its configuration (without output locations), the keys of the
stages it reads from and any outside inputs (the data files' sizes and times, model weights).
Its outputs go to `<run_dir>/<stage>-<key[:12]>/`; `manifest.json`, written last, marks the
stage finished. Same key and a manifest: skip. A changed config changes that stage's key and,
through the chain, the keys of every stage after it, and nothing before it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from platypus.io.writers import write_bytes
from platypus.version import __version__

MANIFEST = "manifest.json"


def stage_key(name: str, config: dict, upstream: dict[str, str], outside: dict) -> str:
    blob = json.dumps([name, config, upstream, outside, __version__], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, or None when there is none or it is unreadable (a run killed while
    writing it never finished)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def write_manifest(folder: Path, manifest: dict) -> None:
    manifest = manifest | {
        "version": __version__,
        "code": code_version(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    # A new, uniquely named temporary file (never one that exists, so never a planted link),
    # then moved over the manifest.
    write_bytes(folder / MANIFEST, (json.dumps(manifest, indent=1, default=str) + "\n").encode())


def code_version() -> str:
    """The git commit of the platypus checkout, when it is one (recorded, not hashed)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        )
        return out.stdout.strip() or __version__
    except (OSError, subprocess.SubprocessError):
        return __version__
