"""Read checkpoints one tensor at a time and write safetensors as a stream.

`safetensors` can read a single tensor from a file but writes only whole dicts; since every
output tensor's name, dtype and shape are known before any is computed, the header is written
first and the tensors follow one by one, so a merge holds about one tensor per input in memory.
The files are standard safetensors (the writer is checked by loading its output with
`safetensors` and transformers).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from platypus.errors import PlatypusError

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
TORCH_DTYPES = {v: k for k, v in DTYPES.items()}
INDEX = "model.safetensors.index.json"


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n * torch.empty((), dtype=self.dtype).element_size()


class Checkpoint:
    """The safetensors weights of a model folder (one file or an indexed set of shards)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        index = self.folder / INDEX
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            self.files = {name: self.folder / f for name, f in weight_map.items()}
        elif (self.folder / "model.safetensors").is_file():
            single = self.folder / "model.safetensors"
            with safe_open(single, "pt") as f:
                self.files = {name: single for name in f.keys()}  # noqa: SIM118
        else:
            raise PlatypusError(
                f"{self.folder}: no model.safetensors or {INDEX} (safetensors only)"
            )
        self.info: dict[str, TensorInfo] = {}
        for path in sorted(set(self.files.values())):
            with safe_open(path, "pt") as f:
                for name in f.keys():  # noqa: SIM118
                    s = f.get_slice(name)
                    dtype = TORCH_DTYPES.get(s.get_dtype())
                    if dtype is None:
                        raise PlatypusError(f"{path}: tensor {name} has unsupported dtype")
                    self.info[name] = TensorInfo(name, dtype, tuple(s.get_shape()))
        self._open: dict[Path, object] = {}

    @property
    def names(self) -> list[str]:
        return list(self.info)

    def get(self, name: str) -> torch.Tensor:
        path = self.files[name]
        if path not in self._open:
            self._open[path] = safe_open(path, "pt")
        return self._open[path].get_tensor(name)

    def files_on_disk(self) -> list[Path]:
        return sorted(set(self.files.values()))


class StreamWriter:
    """Writes tensors in a fixed order into shards of at most `max_shard_bytes`."""

    def __init__(self, folder: Path, entries: list[TensorInfo], max_shard_bytes: int):
        self.folder = folder
        shards: list[list[TensorInfo]] = [[]]
        size = 0
        for e in entries:
            if shards[-1] and size + e.nbytes > max_shard_bytes:
                shards.append([])
                size = 0
            shards[-1].append(e)
            size += e.nbytes
        n = len(shards)
        self.names = [
            "model.safetensors" if n == 1 else f"model-{k + 1:05d}-of-{n:05d}.safetensors"
            for k in range(n)
        ]
        self.shards = shards
        self.expected = [e for shard in shards for e in shard]
        self.position = 0
        self.shard = -1
        self.handle = None
        self.total = sum(e.nbytes for e in entries)

    def _open_next(self) -> None:
        if self.handle:
            self.handle.close()
        self.shard += 1
        header: dict = {"__metadata__": {"format": "pt"}}
        offset = 0
        for e in self.shards[self.shard]:
            header[e.name] = {
                "dtype": DTYPES[e.dtype],
                "shape": list(e.shape),
                "data_offsets": [offset, offset + e.nbytes],
            }
            offset += e.nbytes
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # the format aligns the data to 8 bytes
        self.handle = (self.folder / self.names[self.shard]).open("wb")
        self.handle.write(struct.pack("<Q", len(raw)) + raw)
        self.in_shard = 0

    def write(self, name: str, tensor: torch.Tensor) -> None:
        e = self.expected[self.position]
        if name != e.name or tensor.dtype != e.dtype or tuple(tensor.shape) != e.shape:
            raise RuntimeError(f"stream order broken at {name} (expected {e})")
        if self.handle is None or self.in_shard == len(self.shards[self.shard]):
            self._open_next()
        self.handle.write(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
        self.in_shard += 1
        self.position += 1

    def close(self) -> None:
        if self.handle:
            self.handle.close()
        if self.position != len(self.expected):
            raise RuntimeError(f"{len(self.expected) - self.position} tensors were not written")
        if len(self.names) > 1:
            weight_map = {
                e.name: self.names[k] for k, shard in enumerate(self.shards) for e in shard
            }
            index = {"metadata": {"total_size": self.total}, "weight_map": weight_map}
            (self.folder / INDEX).write_text(json.dumps(index, indent=1))


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
