"""Read checkpoints one tensor at a time and write safetensors as a stream.

`safetensors` writes only whole dicts and reads through a memory map (whose touched pages count
as the process's memory). Here every output tensor's name, dtype and shape are known before any
is computed, so the header is written first and the tensors follow one by one, and inputs are
read tensor by tensor with plain file reads: a merge holds about one tensor per input. The files
are standard safetensors (tests load them with `safetensors` and transformers).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

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
        return math.prod(self.shape) * self.dtype.itemsize


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
            self.files = {n: single for n in read_header(single)[0] if n != "__metadata__"}
        else:
            raise PlatypusError(
                f"{self.folder}: no model.safetensors or {INDEX} (safetensors only)"
            )
        self.info: dict[str, TensorInfo] = {}
        self.where: dict[str, tuple[Path, int]] = {}  # name -> (file, byte offset of its data)
        for path in sorted(set(self.files.values())):
            header, data_start = read_header(path)
            for name, meta in header.items():
                if name == "__metadata__":
                    continue
                dtype = TORCH_DTYPES.get(meta["dtype"])
                if dtype is None:
                    raise PlatypusError(f"{path}: tensor {name} has unsupported dtype")
                self.info[name] = TensorInfo(name, dtype, tuple(meta["shape"]))
                self.where[name] = (path, data_start + meta["data_offsets"][0])

    @property
    def names(self) -> list[str]:
        return list(self.info)

    def get(self, name: str) -> torch.Tensor:
        """One tensor, read with plain file reads (no memory map, so reading a tensor does not
        leave the file's pages mapped into this process)."""
        info = self.info[name]
        path, offset = self.where[name]
        buf = bytearray(info.nbytes)
        with path.open("rb") as f:
            f.seek(offset)
            if f.readinto(buf) != info.nbytes:
                raise PlatypusError(f"{path}: truncated data for {name}")
        if not buf:
            return torch.empty(info.shape, dtype=info.dtype)
        return torch.frombuffer(buf, dtype=info.dtype).reshape(info.shape)

    def files_on_disk(self) -> list[Path]:
        return sorted(set(self.files.values()))


def read_header(path: Path) -> tuple[dict, int]:
    """(header, offset where tensor data starts) of a safetensors file."""
    with path.open("rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise PlatypusError(f"{path}: not a safetensors file")
        (size,) = struct.unpack("<Q", raw)
        try:
            header = json.loads(f.read(size))
        except (ValueError, UnicodeDecodeError):
            raise PlatypusError(f"{path}: not a safetensors file (bad header)") from None
    return header, 8 + size


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
