"""Stage A: exact duplicates on normalised instruction + input; the longer output is kept."""

from __future__ import annotations

from collections.abc import Sequence

from platypus.data.compare import exact_key, normalise  # noqa: F401 (imported from here too)
from platypus.data.dedup.select import priority_key
from platypus.data.record import Record


def exact_dedup(records: Sequence[Record]) -> tuple[list[Record], list[tuple[Record, Record]]]:
    """(kept records in input order, [(removed, the record that kept its key)])."""
    winner: dict[str, Record] = {}
    for r in records:
        key = exact_key(r)
        if key not in winner or priority_key(r) < priority_key(winner[key]):
            winner[key] = r
    kept_ids = {r.id for r in winner.values()}
    kept = [r for r in records if r.id in kept_ids]
    removed = [(r, winner[exact_key(r)]) for r in records if r.id not in kept_ids]
    return kept, removed
