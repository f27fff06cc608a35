"""User-facing errors. The CLI prints these as one line and exits 2; anything else is a bug."""

from __future__ import annotations

from pathlib import Path


class PlatypusError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DataError(PlatypusError):
    """Bad input data, located by file and (when known) row."""

    def __init__(self, path: str | Path, message: str, row: int | str | None = None):
        self.path = str(path)
        self.row = row
        self.message = message
        if row is None:
            where = self.path
        elif isinstance(row, str) and row.startswith("line "):
            where = f"{self.path}: {row}"
        else:
            where = f"{self.path}: row {row}"
        super().__init__(f"{where}: {message}")
