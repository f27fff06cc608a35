"""File hashes: remembered on disk for large files (model weights) by a stat key, recomputed
when the file changes."""

import os

from platypus import hashing
from platypus.hashing import REMEMBER_BYTES, file_sha256


def test_large_files_hash_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(os.urandom(1024) * (REMEMBER_BYTES // 1024))
    first = file_sha256(weights)
    memos = list((tmp_path / "cache" / "sha256").rglob("*"))
    memo = next(m for m in memos if m.is_file())
    assert memo.read_text() == first
    # A new process (the in-memory cache cleared) reads the memo: here, a planted value.
    hashing._sha256.cache_clear()
    memo.write_text("f" * 64)
    assert file_sha256(weights) == "f" * 64
    # The file changed (its change time moves even if its modification time is set back):
    # hashed again.
    hashing._sha256.cache_clear()
    st = weights.stat()
    with weights.open("r+b") as f:
        f.write(b"x")
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = file_sha256(weights)
    assert again not in (first, "f" * 64) and len(again) == 64
    # Small files are not remembered on disk.
    small = tmp_path / "card.md"
    small.write_text("hello")
    hashing._sha256.cache_clear()
    file_sha256(small)
    assert len([m for m in (tmp_path / "cache" / "sha256").rglob("*") if m.is_file()]) == 2
