"""Reading and writing instruction sets in the project's record schema."""

from __future__ import annotations

from pathlib import Path

from platypus.data.record import FIELDS, Record
from platypus.errors import DataError
from platypus.io.readers import iter_table


def read_records(path: str | Path) -> list[Record]:
    """Records from a .jsonl/.json/.parquet file written by `platypus data build` (or any file
    with the same five string fields). Ids must be unique: later stages refer to rows by id.
    Instruction and output must say something (as the build requires); input may be empty."""
    path = Path(path)
    records: list[Record] = []
    seen: set[str] = set()
    for row_id, row in iter_table(path):
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise DataError(path, f"missing fields {missing}", row=row_id)
        bad = [f for f in FIELDS if not isinstance(row[f], str)]
        if bad:
            raise DataError(path, f"fields {bad} should be strings", row=row_id)
        empty = [f for f in ("instruction", "output") if not row[f].strip()]
        if empty:
            raise DataError(path, f"empty {' and '.join(empty)}", row=row_id)
        if row["id"] in seen:
            raise DataError(path, f"duplicate id {row['id']!r}", row=row_id)
        seen.add(row["id"])
        records.append(Record(**{f: row[f] for f in FIELDS}))
    if not records:
        raise DataError(path, "no rows")
    return records
