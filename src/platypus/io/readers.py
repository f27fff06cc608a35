"""Strict readers for raw source files. Every failure names the file (and row when known)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from platypus.errors import DataError


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError(path, "file not found")
    if not path.is_file():
        raise DataError(path, "expected a file, found a folder")


def read_text(path: str | Path) -> str:
    path = Path(path)
    _require_file(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(path, f"not valid UTF-8 (byte {exc.start})", row=f"line {line}") from None


def _json_problem(exc: Exception) -> str:
    """What json.loads's failure means, in a few words: beyond its syntax errors, Python's
    parser gives up on nesting deeper than the interpreter's stack (RecursionError) and on
    integers of more than 4,300 digits (ValueError)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg}"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    return f"invalid JSON: {str(exc).splitlines()[0][:120]}"


_JSON_ERRORS = (ValueError, RecursionError)  # JSONDecodeError is a ValueError


def read_json(path: str | Path) -> Any:
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text)
    except _JSON_ERRORS as exc:
        line = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else None
        raise DataError(path, _json_problem(exc), row=line) from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(1-based line number, object) for each non-blank line."""
    for lineno, _, obj in iter_jsonl_lines(path):
        yield lineno, obj


def iter_jsonl_lines(path: str | Path) -> Iterator[tuple[int, bytes, Any]]:
    """(1-based line number, the line's bytes as read, object) for each non-blank line."""
    path = Path(path)
    _require_file(path)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(path, f"not valid UTF-8 (byte {exc.start})", row=lineno) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except _JSON_ERRORS as exc:
                raise DataError(path, _json_problem(exc), row=lineno) from None
            yield lineno, raw, obj


def iter_tsv(path: str | Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(1-based data row number, row dict) of a tab-separated file with a header."""
    path = Path(path)
    reader = csv.DictReader(read_text(path).splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    for rowno, row in enumerate(reader, start=1):
        if None in row or any(v is None for v in row.values()):
            raise DataError(path, "wrong number of columns", row=rowno)
        yield rowno, row


def iter_table(path: str | Path) -> Iterator[tuple[int | str, dict[str, Any]]]:
    """Rows of a .jsonl, .json or .parquet file as (row id, row): rows are numbered from 1, except
    in a JSON object of objects, where the row id is the object's key."""
    path = Path(path)
    _require_file(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for lineno, obj in iter_jsonl(path):
            yield lineno, _as_row(path, lineno, obj)
    elif suffix == ".json":
        data = read_json(path)
        if isinstance(data, dict):
            items = data.items()
        elif isinstance(data, list):
            items = enumerate(data, start=1)
        else:
            raise DataError(path, "expected a JSON array of objects or an object of objects")
        for key, obj in items:
            yield key, _as_row(path, key, obj)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(path, f"unreadable parquet: {exc}") from None
        for i, obj in enumerate(table.to_pylist(), start=1):
            yield i, obj
    else:
        raise DataError(path, f"unsupported file type {suffix!r} (use .jsonl, .json or .parquet)")


def _as_row(path: Path, row: int | str, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DataError(path, f"expected a JSON object, got {type(obj).__name__}", row=row)
    return obj
