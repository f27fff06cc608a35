"""Rows -> token ids with the spans that are learned: the prompt is context, the response is
learned.

A training set is the project's records or any dataset through a column mapping
(`platypus.data.columns`): a named `format` (alpaca, prompt_completion, messages, sharegpt) or
the columns named. An unmapped file that is not in the project's schema has its convention
detected from its first row. The prompt format (`template.FORMATS`) renders each row and says
which tokens carry loss, so every boundary is exact.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from platypus.data.columns import detect_format, read_mapped
from platypus.data.record import Dialogue, Record
from platypus.errors import DataError
from platypus.io.records import read_records
from platypus.progress import progress
from platypus.train.template import FORMATS

if TYPE_CHECKING:
    from platypus.settings import ColumnMapping

KNOWN_FORMATS = (
    "records (id, instruction, input, output, data_source), alpaca (instruction, input, "
    "output), prompt_completion (prompt, completion), messages (a list of {role, content}) or "
    "sharegpt (conversations: a list of {from, value})"
)


@dataclass(frozen=True)
class Example:
    id: str
    ids: list[int]
    spans: tuple[tuple[int, int], ...]  # [start, end) token ranges that carry loss, in order

    @property
    def prompt_len(self) -> int:
        """Tokens before the first learned one."""
        return self.spans[0][0]

    @property
    def response_tokens(self) -> int:
        return sum(end - start for start, end in self.spans)


@dataclass
class TrainingRows:
    rows: list[Record | Dialogue]
    path: Path  # the file read (a folder's data file)
    data_format: str  # records, a DATA_FORMATS name, or "columns" (named by the mapping)
    skipped: Counter  # rows with nothing to learn, by reason


def read_training_rows(path: str | Path, mapping: ColumnMapping) -> TrainingRows:
    """The rows of a training set under `mapping`, its convention detected when unmapped. Rows
    with no prompt or no response are counted by reason, not trained on."""
    path = data_file_of(Path(path))
    if not mapping.mapped:
        detected = detect_format(path)  # DataError (one line): missing, empty or bad files
        if detected is None:
            raise DataError(path, f"the columns match no known format: {KNOWN_FORMATS}; or name "
                            "them with text_fields / messages_field", row=1)  # fmt: skip
        if detected == "records":
            return TrainingRows(list(read_records(path)), path, "records", Counter())
        mapping = mapping.model_copy(update={"format": detected})
    table = read_mapped(path, mapping)
    skipped = Counter(f"skipped_{reason.replace(' ', '_')}" for _, reason in table.skipped)
    rows: list[Record | Dialogue] = []
    for record in table.records:
        if not record.output.strip():
            skipped["skipped_no_response"] += 1
            continue
        rows.append(table.dialogues.get(record.id, record))
    if not rows:
        raise DataError(path, f"no row has a prompt and a response ({dict(skipped)})")
    return TrainingRows(rows, path, mapping.format or "columns", skipped)


HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def data_file_of(path: Path) -> Path:
    """A training set given as a folder: the data file its dataset card names (a stage's output
    folder, a folder laid out as on the Hub), else its one data file. A name that is no path
    here but a hub id (`org/name`) is the Hub dataset's train split (`hub_dataset_file`)."""
    if not path.exists() and HUB_ID.fullmatch(str(path)):
        return hub_dataset_file(str(path))
    if not path.is_dir():
        return path
    from platypus.cards import dataset_file
    from platypus.data.columns import FORMATS

    named = dataset_file(path)
    if named is not None:
        return named
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in FORMATS and p.is_file())
    if len(files) != 1:
        found = f"{len(files)} such files" if files else "none"
        raise DataError(path, "a folder given as a training set needs a dataset card naming its "
                        f"data file (README.md configs) or exactly one .jsonl/.json/.parquet "
                        f"file; found {found}")  # fmt: skip
    return files[0]


def hub_dataset_file(repo_id: str) -> Path:
    """The train split of a Hub dataset (through datasets and its cache, so offline it is what
    the cache holds) as a parquet file in platypus' cache, named by datasets' fingerprint of its
    content, so the training set's identity is its rows."""
    import datasets

    from platypus.paths import cache_dir

    try:
        table = datasets.load_dataset(repo_id, split="train")
    except Exception as exc:  # offline, unknown, gated, no train split: datasets' own words
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(Path(repo_id), f"no such file here, and as a hub dataset: {first}"
                        ) from None  # fmt: skip
    out = cache_dir() / "datasets" / repo_id.replace("/", "--") / f"{table._fingerprint}.parquet"
    if not out.is_file():
        from platypus.io.writers import atomic_path

        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            table.to_parquet(str(tmp))
    return out


def tokenize(
    rows: list[Record | Dialogue],
    tokenizer,
    max_length: int,
    overlong: str = "truncate",
    prompt_format: str = "alpaca",
) -> tuple[list[Example], Counter]:
    """Examples plus counts of what happened to rows over `max_length` tokens.

    truncate: cut the tail (rows whose first learned token lies past `max_length` are skipped,
    as nothing would be learned from them); skip: leave over-long rows out. Either way every row
    is accounted for in the counts.
    """
    fmt = FORMATS[prompt_format]
    fmt.check(tokenizer)
    counts: Counter = Counter()
    out = []
    for row in progress(rows, desc="tokenize", unit=" rows", disable=None):
        ids, spans = fmt.encode(row, tokenizer)
        if not spans:
            counts["skipped_no_response"] += 1
            continue
        if len(ids) > max_length:
            if overlong == "skip":
                counts["skipped_overlong"] += 1
                continue
            if spans[0][0] >= max_length:
                counts["skipped_prompt_too_long"] += 1
                continue
            ids = ids[:max_length]
            spans = [(s, min(e, max_length)) for s, e in spans if s < max_length]
            counts["truncated"] += 1
        counts["kept"] += 1
        out.append(Example(row.id, ids, tuple(spans)))
    return out, counts
