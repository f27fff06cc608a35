"""Datasets of any schema for dedup, decontamination and training, through a column mapping.

`ColumnMapping` (platypus.settings) says which columns hold the text: a named `format` (alpaca,
prompt_completion, messages, sharegpt), `text_fields` (every field but the last is the prompt,
the last the response; one field is both) or `messages_field` (a chat column of {role, content}
or ShareGPT's {from, value}: user turns are the prompt, assistant turns the response; system and
tool turns are not compared). `detect_format` names the convention of an unmapped file. Each row
becomes a `Record` for the comparison (and, for a chat row, a `Dialogue` with every turn, which
training renders whole):

- instruction: the first non-empty prompt field (or the user turns, joined by a blank line);
- input: the other non-empty prompt fields, one per line;
- output: the response (the assistant turns, joined by a blank line): its length decides which
  duplicate is kept, as for Open-Platypus rows;
- id: the `id_field` value as a string, else the 0-based row index.

A null value counts as empty text. A row whose prompt is empty is not compared: it is counted as
skipped with its reason and written out as it came. The rows themselves are never rebuilt from
records: the kept rows are the input's own (a jsonl file's lines byte for byte, a parquet
file's table rows with its schema, a JSON array's objects), in the input's format.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.data.record import FIELDS, Dialogue, Record
from platypus.errors import DataError
from platypus.io.readers import iter_jsonl_lines, read_json
from platypus.settings import OPTIONAL_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from platypus.settings import ColumnMapping

FORMATS = {".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
REMOVED_IDS = "removed_ids.jsonl"  # what a stage removed from a mapped set: one row per row
SKIPPED_LISTED = 20  # skipped rows named in a summary (all are counted)


def file_format(path: str | Path | None) -> str:
    """jsonl, json or parquet, by the file's suffix (jsonl when there is no file yet)."""
    if path is None:
        return "jsonl"
    return FORMATS.get(Path(str(path)).suffix.lower(), "jsonl")


def mapped_output(folder: Path, stem: str, input_path: str | Path | None) -> Path:
    """Where a stage puts its mapped rows: `<stem>.<the input's format>`. Without the input (a
    finished folder read back, whose manifest records no input path), the file its dataset
    card names."""
    if input_path is None and folder.name:
        from platypus.cards import dataset_file

        named = dataset_file(folder)
        if named is not None and named.stem == stem:
            return named
    return folder / f"{stem}.{file_format(input_path)}"


@dataclass
class MappedRows:
    """A table of any schema: its rows as read, and a record for each row with text."""

    path: Path
    format: str  # jsonl, json or parquet
    ids: list[Any]  # every row's id: the id_field value, else its 0-based index
    records: list[Record]  # rows with a prompt, in input order
    row_of: dict[str, int]  # record id -> row index
    skipped: list[tuple[int, str]]  # (row index, reason): rows with nothing to compare
    lines: list[bytes] = field(default_factory=list)  # jsonl: each row's line as read
    objects: list[Any] = field(default_factory=list)  # json: each row's object
    table: Any = None  # parquet: the pyarrow table
    dialogues: dict[str, Dialogue] = field(default_factory=dict)  # chat rows: every turn

    @property
    def rows(self) -> int:
        return len(self.ids)

    def skipped_summary(self) -> dict:
        return {
            "rows_skipped": len(self.skipped),
            "skipped": dict(sorted(Counter(reason for _, reason in self.skipped).items())),
            "skipped_rows": [
                {"id": self.ids[row], "row": row, "reason": reason}
                for row, reason in self.skipped[:SKIPPED_LISTED]
            ],
        }

    def write(self, path: Path, rows: Sequence[int]) -> None:
        """The given rows (indices, in order) as they came, in the input's format."""
        from platypus.io.writers import atomic_path, write_bytes

        if self.format == "jsonl":
            lines = (self.lines[i] if self.lines[i].endswith(b"\n") else self.lines[i] + b"\n"
                     for i in rows)  # fmt: skip
            write_bytes(path, b"".join(lines))
        elif self.format == "json":
            chosen = [self.objects[i] for i in rows]
            write_bytes(path, (json.dumps(chosen, ensure_ascii=False, indent=1) + "\n").encode())
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = self.table.take(pa.array(list(rows), type=pa.int64()))
            with atomic_path(path) as tmp:
                pq.write_table(table, tmp, compression="zstd")


def write_kept(path: Path, kept: Sequence[Record], table: MappedRows | None,
               parquet: Path | None = None) -> str:  # fmt: skip
    """The rows a stage keeps, as its input came: the project's records as jsonl at `path` (and
    as parquet at `parquet`), a mapped table's own rows in its own format at `path`. Returns the
    sha256 of the file at `path` (the one the dataset card names)."""
    from platypus.hashing import bytes_sha256, file_sha256
    from platypus.io.writers import jsonl_bytes, write_bytes, write_parquet

    if table is not None:  # rows without text to compare were never candidates: they stay
        compared = set(table.row_of.values())
        kept_rows = {table.row_of[r.id] for r in kept}
        table.write(path, [i for i in range(table.rows) if i in kept_rows or i not in compared])
        return file_sha256(path)
    data = jsonl_bytes(kept)
    if parquet is not None:
        write_parquet(parquet, list(kept))
    write_bytes(path, data)
    return bytes_sha256(data)


def read_mapped(path: str | Path, mapping: ColumnMapping) -> MappedRows:
    """Read a .jsonl, .json or .parquet file of any schema under `mapping`. Errors (a missing
    column, a value that is no text, an empty or malformed messages list, a repeated id) are
    one line naming the file and the row (its 0-based index, and line in a jsonl file)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(path, f"unsupported file type {path.suffix!r} (use .jsonl, .json or "
                        ".parquet)")  # fmt: skip
    wanted = _columns(mapping)
    lines: list[bytes] = []
    objects: list[Any] = []
    table = None
    if fmt == "jsonl":
        rows, where = [], []
        for lineno, raw, obj in iter_jsonl_lines(path):
            lines.append(raw)
            where.append(f"index {len(rows)}, line {lineno}")
            rows.append(_as_object(path, where[-1], obj))
    elif fmt == "json":
        data = read_json(path)
        if not isinstance(data, list):
            raise DataError(path, "expected a JSON array of objects")
        where = [f"index {i}" for i in range(len(data))]
        rows = [_as_object(path, w, obj) for w, obj in zip(where, data, strict=True)]
        objects = data
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(path, f"unreadable parquet: {exc}") from None
        missing = [c for c in _required(mapping) if c not in table.column_names]
        if missing:
            raise DataError(path, f"no column {missing[0]!r} (columns: "
                            f"{', '.join(table.column_names)})")  # fmt: skip
        wanted = [c for c in wanted if c in table.column_names]
        columns = {c: table.column(c).to_pylist() for c in wanted}
        rows = [{c: columns[c][i] for c in wanted} for i in range(table.num_rows)]
        where = [f"index {i}" for i in range(table.num_rows)]
    if not rows:
        raise DataError(path, "no rows")
    return _map(path, fmt, rows, where, mapping, lines, objects, table)


def _columns(mapping: ColumnMapping) -> list[str]:
    text_fields, messages_field = mapping.columns()
    cols = list(text_fields or []) + ([messages_field] if messages_field else [])
    return cols + ([mapping.id_field] if mapping.id_field and mapping.id_field not in cols else [])


def _required(mapping: ColumnMapping) -> list[str]:
    """The columns every row must have (a named format's optional ones may be absent)."""
    optional = OPTIONAL_COLUMNS if mapping.format else set()
    return [c for c in _columns(mapping) if c not in optional]


def _as_object(path: Path, where: str, obj: Any) -> dict:
    if not isinstance(obj, dict):
        raise DataError(path, f"expected a JSON object, got {type(obj).__name__}", row=where)
    return obj


def _map(path: Path, fmt: str, rows: list[dict], where: list[str], mapping: ColumnMapping,
         lines: list[bytes], objects: list[Any], table: Any) -> MappedRows:  # fmt: skip
    ids: list[Any] = []
    records: list[Record] = []
    row_of: dict[str, int] = {}
    skipped: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    dialogues: dict[str, Dialogue] = {}
    source = path.name
    text_fields, messages_field = mapping.columns()
    required = _required(mapping)
    for i, row in enumerate(rows):
        for column in required:
            if column not in row:
                raise DataError(path, f"missing column {column!r}{_hint(row, mapping)}",
                                row=where[i])  # fmt: skip
        ident: Any = i
        if mapping.id_field:
            ident = row[mapping.id_field]
            if isinstance(ident, bool) or not isinstance(ident, str | int):
                raise DataError(path, f"id {mapping.id_field!r} should be a string or an "
                                f"integer, got {_kind(ident)}", row=where[i])  # fmt: skip
        key = str(ident)
        if key in seen:
            raise DataError(path, f"duplicate id {ident!r} (also at row index {seen[key]})",
                            row=where[i])  # fmt: skip
        seen[key] = i
        ids.append(ident)
        if messages_field:
            turns = _turns(path, where[i], messages_field, row[messages_field])
            prompt, response = _chat(turns)
            dialogues[key] = Dialogue(key, turns, source)
            reason = "no user turn with text"
        else:
            fields = text_fields or []
            texts = [_text(path, where[i], f, row.get(f)) for f in fields]
            prompt = texts[:-1] if len(texts) > 1 else texts
            response = texts[-1]
            reason = "empty " + " and ".join(fields[:-1] if len(fields) > 1 else fields)
        prompt = [p for p in prompt if p.strip()]
        if not prompt:
            skipped.append((i, reason))
            continue
        records.append(Record(key, prompt[0], "\n".join(prompt[1:]), response, source))
        row_of[key] = i
    return MappedRows(path, fmt, ids, records, row_of, skipped, lines, objects, table, dialogues)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(path: Path, where: str, column: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(path, f"column {column!r} should be text, got {_kind(value)}", row=where)
    return value


# ShareGPT's speaker names, and a few other spellings of the three roles
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
         "model": "assistant", "bot": "assistant", "system": "system"}  # fmt: skip


def _turns(path: Path, where: str, column: str, value: Any) -> tuple[tuple[str, str], ...]:
    """A messages list as (role, content) turns: {role, content} or ShareGPT's {from, value}."""
    if not isinstance(value, list):
        raise DataError(path, f"column {column!r} should be a list of messages, got "
                        f"{_kind(value)}", row=where)  # fmt: skip
    if not value:
        raise DataError(path, f"column {column!r} is an empty list of messages", row=where)
    turns = []
    for n, message in enumerate(value):
        keys = ("role", "content") if isinstance(message, dict) and "role" in message else (
            "from", "value")  # fmt: skip
        if not isinstance(message, dict) or not isinstance(message.get(keys[0]), str):
            raise DataError(path, f"{column}[{n}] should be a {{role, content}} (or ShareGPT "
                            "{from, value}) object", row=where)  # fmt: skip
        content = _text(path, where, f"{column}[{n}].{keys[1]}", message.get(keys[1]))
        role = message[keys[0]]
        turns.append((ROLES.get(role.lower(), role), content))
    return tuple(turns)


def _chat(turns: tuple[tuple[str, str], ...]) -> tuple[list[str], str]:
    """(user turns, assistant turns joined): what dedup and decontamination compare."""
    user = [c for role, c in turns if role == "user" and c.strip()]
    assistant = [c for role, c in turns if role == "assistant" and c.strip()]
    return ["\n\n".join(user)], "\n\n".join(assistant)


def detect_format(path: str | Path) -> str | None:
    """The dataset convention of a file's first row: `records` (the project's schema), one of
    config.DATA_FORMATS, or None when its columns match none. A file without rows is an error."""
    from platypus.io.readers import iter_table

    for _, row in iter_table(path):
        return format_of(row)
    raise DataError(Path(path), "no rows")


def format_of(row: dict) -> str | None:
    if all(f in row for f in FIELDS):
        return "records"
    if isinstance(row.get("messages"), list):
        return "messages"
    if isinstance(row.get("conversations"), list):
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if "prompt" in row and "completion" in row:
        return "prompt_completion"
    return None


def _hint(row: dict, mapping: ColumnMapping) -> str:
    named = format_of(row)
    if named is None or named == mapping.format:
        return ""
    return f" (the row looks like {named} data: format: {named})"
