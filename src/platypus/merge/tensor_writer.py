"""Write safetensors as a stream: every output tensor's name, dtype and shape are known before
any is computed, so each shard's header is written first and the tensors follow one by one, each
checked finite, with the shard's SHA-256 taken from the bytes as they go (the reading side and
why: `platypus.merge.tensors`)."""

from __future__ import annotations

import hashlib
import json
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import torch

from platypus.errors import PlatypusError
from platypus.merge.tensors import DTYPES, INDEX, TensorInfo, finite


class StreamWriter:
    """Writes tensors in a fixed order into shards of at most `max_shard_bytes`, each file's
    SHA-256 taken from the bytes as they are written (`digests`), on a thread of its own while
    the next tensor is computed, instead of reading the files back."""

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
        self.digests: dict[str, str] = {}
        self._sha = None
        self._hashing = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self._pending: Future | None = None

    def _hash(self, data) -> None:
        """Feed the shard's hash in order, one piece in flight (its buffer stays alive with it)."""
        if self._pending is not None:
            self._pending.result()
        self._pending = self._hashing.submit(self._sha.update, data)

    def _finish_shard(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        if self._sha is not None:
            self.digests[self.names[self.shard]] = self._sha.hexdigest()

    def _open_next(self) -> None:
        if self.handle:
            self.handle.close()
        self._finish_shard()
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
        head = struct.pack("<Q", len(raw)) + raw
        self.handle.write(head)
        self._sha = hashlib.sha256()
        self._hash(head)
        self.in_shard = 0

    def write(self, name: str, tensor: torch.Tensor) -> None:
        e = self.expected[self.position]
        if name != e.name or tensor.dtype != e.dtype or tuple(tensor.shape) != e.shape:
            raise RuntimeError(f"stream order broken at {name} (expected {e})")
        # What is written, after any cast: a value beyond float16's range becomes inf here.
        if not finite(tensor):
            raise PlatypusError(
                f"{name}: non-finite values in the {str(e.dtype).removeprefix('torch.')} "
                "output (beyond the dtype's range, or a non-finite input); nothing is kept"
            )
        if self.handle is None or self.in_shard == len(self.shards[self.shard]):
            self._open_next()
        data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        self.handle.write(data)
        self._hash(data)
        self.in_shard += 1
        self.position += 1

    def close(self) -> None:
        if self.handle:
            self.handle.close()
        self._finish_shard()
        self._hashing.shutdown()
        if self.position != len(self.expected):
            raise RuntimeError(f"{len(self.expected) - self.position} tensors were not written")
        if len(self.names) > 1:
            weight_map = {
                e.name: self.names[k] for k, shard in enumerate(self.shards) for e in shard
            }
            index = {"metadata": {"total_size": self.total}, "weight_map": weight_map}
            (self.folder / INDEX).write_text(json.dumps(index, indent=1))
