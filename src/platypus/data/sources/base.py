"""What every source loader gets and declares.

A loader is a generator: raw rows in, one `Record` or `Skip` out per raw row, in a stable order.
Its `Spec` names the per-source rules (`steps`, in the order they are checked) so the dataset card
can show rows before and after each one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from platypus.errors import DataError, PlatypusError

if TYPE_CHECKING:
    from platypus.data.record import Record, Skip
from platypus.io.readers import iter_table


class SourceOptions(BaseModel):
    """Base of every source's typed `options`; unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Spec:
    name: str  # config key, e.g. "scienceqa"
    data_source: str  # the tag written on every record, as in the released Open-Platypus
    license: str
    # The Hub's licence identifiers for the rows (the card's `license:`); `license` above is the
    # free-form text for the card's body.
    hub_licenses: tuple[str, ...]
    commercial: bool | None  # False: licence forbids commercial use; None: unclear
    description: str
    steps: tuple[str, ...] = ()  # per-source rules, in the order the loader checks them
    default_path: str | None = None  # relative to the data root
    hub_id: str | None = None
    keyword_filter: bool = False  # Platypus applied the STEM keyword filter to this source
    options: type[BaseModel] = SourceOptions
    # On in a default build: the sources of the released Open-Platypus that ../shared/data holds;
    # hub-only ones stay off so the default build runs offline.
    enabled_by_default: bool = False
    # Rows the released Open-Platypus (garage-bAInd/Open-Platypus) has from this source (0: none),
    # and why this build's count can differ from it beyond the filters, for the dataset card.
    released_rows: int = 0
    release_note: str = ""


class Source:
    """A source as the registry holds it: its declaration (`spec`) and `load(ctx)`, a generator
    of one `Record` or `Skip` per raw row, in a stable order. A source module defines its `SPEC`
    and `load`, and registers `SOURCE`, an instance of its subclass."""

    spec: ClassVar[Spec]

    def load(self, ctx: LoadContext) -> Iterator[Record | Skip]:
        raise NotImplementedError


@dataclass
class LoadContext:
    """Everything a loader may use. `path` is None when the rows come from the hub."""

    spec: Spec
    path: Path | None
    hub_id: str | None
    options: Any
    seed: int
    root: Path = Path(".")  # the data root, for option paths given relative to it
    files: list[Path] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)  # facts for the card, e.g. PRM rows used

    def file(self, *parts: str) -> Path:
        """A file under the source's path, recorded as an input of the build."""
        assert self.path is not None
        target = self.path.joinpath(*parts) if parts else self.path
        if not target.exists():
            raise DataError(target, f"{self.spec.name}: file not found")
        self.files.append(target)
        return target

    def table(self, *parts: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(location, row) for a jsonl/json/parquet file under the source's path."""
        path = self.file(*parts)
        rows = 0
        for rowno, row in iter_table(path):
            rows += 1
            yield f"{path}:{rowno}", row
        if not rows:
            raise empty_file(self.spec.name, path)

    def hub(self, split: str, **kwargs: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """(location, row) from `datasets.load_dataset(hub_id, split=...)`, for users online."""
        if not self.hub_id:
            raise PlatypusError(f"{self.spec.name}: no local path and no hub id configured")
        try:
            import datasets

            ds = datasets.load_dataset(self.hub_id, split=split, **kwargs)
        except Exception as exc:  # network, auth and missing-split errors all land here
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise PlatypusError(
                f"{self.spec.name}: could not load {self.hub_id!r} split {split!r} from the hub "
                f"({msg}); set sources.{self.spec.name}.path to a local copy"
            ) from None
        rows = 0
        for i, row in enumerate(ds):
            rows += 1
            yield f"hub:{self.hub_id}/{split}:{i + 1}", row
        if not rows:
            raise PlatypusError(f"{self.spec.name}: {self.hub_id!r} split {split!r} has no rows")

    def rows(self, local_parts: tuple[str, ...], split: str, **hub_kwargs: Any):
        """Local file rows when a path is set, else hub rows."""
        if self.path is not None:
            return self.table(*local_parts)
        return self.hub(split, **hub_kwargs)


def empty_file(source: str, path: Path) -> DataError:
    """The error for a source file without rows: a source must not drop out of a build unseen."""
    return DataError(path, f"{source}: no rows (an empty file; is the copy complete?)")


def require(location: str, row: dict, name: str, kind: type | tuple = str) -> Any:
    """row[name] checked for presence and type; errors name the file and row."""
    if name not in row:
        raise _located(location, f"missing field {name!r}")
    value = row[name]
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _located(location, f"field {name!r} should be {want}, got {type(value).__name__}")
    return value


def _located(location: str, message: str) -> DataError:
    path, _, row = location.rpartition(":")
    return DataError(path or location, message, row=row or None)
