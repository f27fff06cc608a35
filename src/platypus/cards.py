"""Hub-ready output folders: dataset cards with the Hugging Face Hub's metadata, written by the
stages into their outputs (model cards: `platypus.model_cards`; the upload itself is
`platypus.hub`).

Cards are built with huggingface_hub's own `DatasetCardData` / `ModelCardData` and read back by
`DatasetCard.load` / `ModelCard.load`, so what the Hub parses is what the tests parse. A dataset
card names its data file under `configs`, so `datasets.load_dataset(folder)` loads exactly the
rows (not the removal lists or leak tables beside them), and that config carries the file's
sha256, so datasets' cache tells two folders' rows apart (`dataset_card_data`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    from platypus.data.record import Record

CARD = "README.md"  # where the Hub looks for a repository's card

# Models the project packages: (folder name prefix in the cache, hub id, licence, the GGUF file
# the cached folder is converted from; platypus.models.smollm2).
PACKAGED_MODELS = (
    ("smollm2-135m-instruct-", "HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0",
     "SmolLM2-135M-Instruct.Q4_1.gguf"),
)  # fmt: skip

# The Hub's size buckets, upper bounds exclusive.
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
)
TASK_CATEGORIES = ["text-generation", "question-answering"]
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


# ---- dataset cards -------------------------------------------------------------------------


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>100M")


def source_of(data_source: str) -> str | None:
    """The source name whose loader writes `data_source` (e.g. "MATH/PRM-800K" -> "math")."""
    from platypus.data.sources import SOURCES

    return next((n for n, m in SOURCES.items() if m.spec.data_source == data_source), None)


def dataset_licenses(data_sources: Iterable[str]) -> list[str]:
    """The Hub licence ids covering rows of these data_source values (each source declares its
    own, `Spec.hub_licenses`), sorted."""
    from platypus.data.sources import SOURCES

    ids: set[str] = set()
    for data_source in set(data_sources):
        name = source_of(data_source)  # rows of no Open-Platypus source count as "other"
        ids.update(SOURCES[name].spec.hub_licenses if name else ("other",))
    return sorted(ids) or ["other"]


def data_config(data_file: str, sha256: str) -> dict:
    """The card's default config: the data file as the train split, described by its sha256.

    The description is what keeps `datasets.load_dataset(folder)` from returning another
    folder's rows. For a local folder whose card has `configs`, datasets caches the rows under
    `<folder name>/default/0.0.0/<hash>`, where the hash is of the card's configs as written
    (datasets/load.py, LocalDatasetModuleFactory.get_module: `Hasher.hash({"dataset_infos":
    ..., "builder_configs": ...})`, the configs' data files still unresolved relative patterns)
    and the config id is the bare config name (builder.py, `create_config_id`: the data files
    live in the config, not in the kwargs it hashes). Neither names the folder's path or its
    file's content or modification time, so every `dedup/` folder shared one cache entry. A
    config's `description` is one of its fields and enters that hash: with the file's sha256 in
    it, folders with different rows get different entries, and folders with the same rows
    share one, whatever their paths."""
    files = [{"split": "train", "path": data_file}]
    return {"config_name": "default", "data_files": files,
            "description": f"{data_file} sha256 {sha256}"}  # fmt: skip


def dataset_card_data(
    data_file: str, records: list[Record], pretty_name: str, stage: str, sha256: str
) -> Any:
    """The Hub metadata of a data folder's card; `sha256`: of the data file, as written."""
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        pretty_name=pretty_name,
        license=dataset_licenses(r.data_source for r in records),
        language=["en"],
        task_categories=TASK_CATEGORIES,
        size_categories=[size_category(len(records))],
        tags=["platypus", stage],
        configs=[data_config(data_file, sha256)],
    )
    return data


def write_dataset_card(
    folder: Path,
    data_file: Path,
    records: list[Record],
    body: str,
    stage: str,
    name: str = "",
    source: str | Path | None = None,
) -> Path:
    """README.md in `folder`: the Hub's dataset metadata (licences of the sources present, size,
    the data file as the default config) above `body`. `name`: the set's name; by default the
    name of the `source` file's set (a set keeps its name through dedup and decontamination).
    `data_file` must be written first: the card names its content (`data_config`)."""
    from huggingface_hub import DatasetCard

    from platypus.hashing import file_sha256

    name = name or (dataset_of(source)[0] if source is not None else data_file.stem)
    data = dataset_card_data(data_file.name, records, name, stage, file_sha256(data_file))
    return write_card(DatasetCard, folder, data, body)


def write_card(card_class, folder: Path, data, body: str) -> Path:
    from platypus.io.writers import write_bytes

    # the body follows the metadata unchanged: the card's `.text` is exactly `body`
    card = card_class(f"---\n{data.to_yaml()}\n---\n{body.rstrip()}\n")
    path = folder / CARD
    write_bytes(path, str(card).encode("utf-8"))
    return path


def dataset_file(folder: Path) -> Path | None:
    """The data file a folder's dataset card names as its default config, if it has one."""
    card = folder / CARD
    if not card.is_file():
        return None
    from huggingface_hub import DatasetCard

    try:
        configs = DatasetCard.load(card).data.to_dict().get("configs") or []
    except Exception:  # not a card of ours: the caller treats the folder as having none
        return None
    for config in configs:
        files = config.get("data_files") if config.get("config_name") == "default" else None
        name = None
        if isinstance(files, list) and files and isinstance(files[0], dict):
            name = files[0].get("path")
        elif isinstance(files, str):
            name = files
        if isinstance(name, str):
            return _inside(folder, name)
    return None


def _inside(folder: Path, name: str) -> Path:
    """`folder / name`, refused in one line when it would lie outside the folder (`..`, an
    absolute path, or a link out of it): a card names the folder's own data, nothing else."""
    path = folder / name
    root = folder.resolve()
    if Path(name).is_absolute() or not path.resolve().is_relative_to(root):
        raise PlatypusError(
            f"{folder / CARD}: its data file {name[:200]!r} lies outside the folder; refused"
        )
    return path


def dataset_of(input_path: str | Path | None) -> tuple[str, list[str]]:
    """(name, licences) of a data file: from the dataset card beside it when there is one (the
    folder a data stage wrote), else its file name and "other"."""
    if input_path is None:
        return "unknown", ["other"]
    path = Path(str(input_path))
    card = path.parent / CARD
    if card.is_file():
        from huggingface_hub import DatasetCard

        try:
            data = DatasetCard.load(card).data
            licenses = data.license if isinstance(data.license, list) else [data.license]
            return data.pretty_name or path.stem, [lic for lic in licenses if lic]
        except Exception:  # not a dataset card: fall through to the file name
            pass
    return path.stem, ["other"]


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
