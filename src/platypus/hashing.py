"""Content hashes used to name, verify and cache artefacts."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes. Remembered per process by (path, inode, size, modification
    and change times), so the many stages that name the same model weights read them once; the
    change time, which no program can set back, catches an edit that restored the others."""
    path = Path(path).resolve()
    st = path.stat()
    return _sha256(str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def weights_fingerprint(folder: str | Path) -> str:
    """The weight files of a model or adapter folder, as short hashes; the folder's name when
    it holds none (a hub id)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    return "-".join(file_sha256(f)[:16] for f in files) or str(folder)


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
