"""Content hashes used to name, verify and cache artefacts."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes. Remembered per process by (path, inode, size, modification
    and change times), so the many stages that name the same model weights read them once, and
    for files of REMEMBER_BYTES or more on disk too; the change time, which no program can set
    back, catches an edit that restored the others."""
    path = Path(path).resolve()
    st = path.stat()
    return _sha256(str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# Files this large also have their hash remembered on disk (in the cache folder, under the same
# key): model weights are merged, trained on and evaluated many times, and hashing a 1B model's
# 4.4 GB costs seconds each time. The key is git's kind of stat cache, with the change time.
REMEMBER_BYTES = 64 << 20


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    memo = _memo(path, inode, size, mtime_ns, ctime_ns) if size >= REMEMBER_BYTES else None
    if memo is not None:
        try:
            known = memo.read_text().strip()
            if len(known) == 64:
                return known
        except OSError:
            pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    if memo is not None:
        try:  # written whole or not at all; a cache that cannot be written is no error
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(digest)
            os.replace(tmp, memo)
        except OSError:
            pass
    return digest


def _memo(path: str, *stat: int) -> Path | None:
    from platypus.paths import cache_dir

    key = hashlib.sha256("\0".join([path, *map(str, stat)]).encode()).hexdigest()
    try:
        return cache_dir() / "sha256" / key[:2] / key
    except OSError:
        return None


def weights_fingerprint(folder: str | Path) -> str:
    """The weight files of a model or adapter folder, as short hashes; the folder's name when
    it holds none (a hub id)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    return "-".join(file_sha256(f)[:16] for f in files) or str(folder)


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_fingerprint(root: Path) -> str:
    """Names and content hashes of every file under `root`: an edited item is another input
    even where its size and modification time are kept (hashes are remembered per process by
    path, size and time, so a second stage reading the same tree pays nothing)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            p = Path(dirpath) / f
            if p.is_file():
                h.update(f"{p.relative_to(root)}\0{file_sha256(p)}\n".encode())
    return h.hexdigest()
