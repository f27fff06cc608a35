"""One record of a dropped row for every stage that drops rows (build, dedup, decontamination),
and one writer of them.

A `Drop` names the stage and why (`reason`: the build rule a raw row failed; exact, semantic or
minhash for dedup; the contamination category), the row (`id`; a raw row a build rejects before
it has one is named by its `location`, `path:line`; a row of a column-mapped input also by its
0-based `row`), and what it matched and how closely, where it matched something (`matched_id`:
the kept row it duplicates, the benchmark item it leaks; `similarity`: their cosine, or
estimated Jaccard for minhash). Details only one stage has follow in `extra`. Each stage's
summary counts its drops per reason (`reason_counts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platypus.io.writers import write_dict_rows

# The exclusion file in a stage's folder (beside a column-mapped dataset: columns.REMOVED_IDS).
REMOVED = "removed.jsonl"


@dataclass(frozen=True)
class Drop:
    stage: str  # build, dedup, decontaminate
    reason: str
    id: str | None = None
    location: str | None = None  # a raw row without an id yet (build)
    row: int | None = None  # 0-based row of a column-mapped input
    matched_id: str | None = None
    similarity: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """The line the exclusion file holds: id (or location) and row first, then why."""
        out: dict[str, Any] = {"id": self.id} if self.location is None else {
            "location": self.location}  # fmt: skip
        if self.row is not None:
            out["row"] = self.row
        out |= {"stage": self.stage, "reason": self.reason, "matched_id": self.matched_id,
                "similarity": self.similarity}  # fmt: skip
        return out | self.extra


def in_file_order(drops: Iterable[Drop]) -> list[Drop]:
    """A mapped input's drops by row number, the project's records' by id."""
    return sorted(drops, key=lambda d: (d.row, "") if d.row is not None else (-1, d.id))


def write_drops(path: Path, drops: Iterable[Drop]) -> None:
    """The exclusion file of a stage: one JSON line per dropped row, in the order given."""
    write_dict_rows(path, (d.as_row() for d in drops))


def reason_counts(drops: Iterable[Drop]) -> dict[str, int]:
    """Dropped rows per reason, reasons sorted."""
    return dict(sorted(Counter(d.reason for d in drops).items()))
