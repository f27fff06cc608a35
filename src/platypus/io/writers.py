"""Deterministic writers: the same records give the same bytes."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from platypus.data.record import FIELDS, Record


@contextmanager
def atomic_path(path: Path):
    """Yield a temp path beside `path`; move it into place only if the block succeeds, so a
    crash never leaves a half-written output that looks finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_file(path.parent, f".{path.name}.")
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _new_file(folder: Path, prefix: str) -> str:
    """Create an empty, uniquely named file with the usual mode (0666 less the umask), where
    tempfile.mkstemp would give 0600 and the moved-in output would keep it."""
    while True:
        tmp = str(folder / f"{prefix}{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def jsonl_bytes(records: Iterable[Record]) -> bytes:
    lines = (json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records)
    return "".join(lines).encode("utf-8")


def write_dict_rows(path: Path, rows: Iterable[dict]) -> None:
    write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))


def provenance(input_path: Path, config, rows_in: int) -> dict:
    """The head of every stage summary: what ran, on which input, with which settings."""
    from platypus.hashing import file_sha256
    from platypus.version import __version__

    return {
        "version": __version__,
        "input": str(input_path),
        "input_sha256": file_sha256(input_path),
        "config": config.model_dump(mode="json"),
        "rows_in": rows_in,
    }


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_parquet(path: Path, records: list[Record]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.string()) for name in FIELDS])
    columns = {name: [getattr(r, name) for r in records] for name in FIELDS}
    table = pa.Table.from_pydict(columns, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def remove_path(path: Path) -> None:
    """A file or a folder (a link is removed, never followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
