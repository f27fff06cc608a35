"""What of a record is compared, by every stage that compares records (dedup, decontamination,
the merge's data-overlap report): its text for embeddings and n-grams (instruction + input), and
its exact key (that text normalised); for the contamination check's meaning detector, also the
whole row (with its output)."""

from __future__ import annotations

import re
import unicodedata

from platypus.data.record import Record

_SPACE = re.compile(r"\s+")


def embed_text(record: Record) -> str:
    """What is compared: the instruction, plus the input when there is one (joined by a space, as
    Platypus did)."""
    return record.instruction + (" " + record.input if record.input else "")


def whole_text(record: Record) -> str:
    """The row as a reader meets it, question and answer: instruction, input and output. What
    the contamination check's meaning detector compares with an item and its gold answer."""
    return " ".join(part for part in (record.instruction, record.input, record.output) if part)


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: differences no reader would call a change."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def exact_key(record: Record) -> str:
    return normalise(record.instruction) + "\x00" + normalise(record.input)
