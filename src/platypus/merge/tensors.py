"""Read checkpoints one tensor at a time (the writing side is `platypus.merge.tensor_writer`).

`safetensors` writes only whole dicts and reads through a memory map whose touched pages stay
mapped, so they count as the process's memory until the file is closed (mergekit's 12-16 GB for
three 4.4 GB inputs). Here every output tensor's name, dtype and shape are known before any is
computed, so the header is written first and the tensors follow one by one; inputs are read
tensor by tensor from a private memory map (no copy out of the page cache; a method writing into
an input gets its own copy of those pages, the file never changes) whose pages are handed back
(`MADV_DONTNEED`) as soon as the last tensor using them is freed: a merge holds about one tensor
per input. The files are standard safetensors (tests load them with `safetensors` and
transformers).
"""

from __future__ import annotations

import ctypes
import json
import math
import mmap
import struct
import threading
import weakref
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
MAX_HEADER_BYTES = 100 << 20  # the safetensors format's own limit
MAX_INDEX_BYTES = 64 << 20


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
            self.files = {name: self._inside(f) for name, f in _weight_map(index).items()}
        elif (self.folder / "model.safetensors").is_file():
            single = self._inside("model.safetensors")
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
                self.info[name] = TensorInfo(name, meta["dtype"], meta["shape"])
                self.where[name] = (path, data_start + meta["data_offsets"][0])
        self._maps: dict[Path, mmap.mmap | None] = {}
        # the mapped tensors alive: name -> (file, first page, last page)
        self._lent: dict[str, tuple[Path, int, int]] = {}
        self._stale: dict[Path, set[int]] = {}  # pages that may hold a freed tensor's writes
        self._lock = threading.Lock()
        missing = sorted(n for n, f in self.files.items() if n not in self.info)
        if missing:
            raise PlatypusError(f"{index}: {missing[0]!r} is in no shard's header")

    def _inside(self, name: str) -> Path:
        """A weight file of this folder: a plain name, a regular file, not a link out of it."""
        path = self.folder / name
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise PlatypusError(f"{self.folder}: weight file {name[:80]!r} is not in the folder")
        if path.is_symlink() and not path.resolve().is_relative_to(self.folder.resolve()):
            raise PlatypusError(f"{path}: a link to a file outside the model folder; refused")
        if not path.is_file():
            raise PlatypusError(f"{path}: weight file missing")
        return path

    @property
    def names(self) -> list[str]:
        return list(self.info)

    # Read through memory maps where the platform can hand pages back (Linux, macOS); a test
    # switches it off to compare with plain reads.
    MAP = hasattr(mmap, "MADV_DONTNEED") and hasattr(mmap.mmap, "madvise")

    def get(self, name: str) -> torch.Tensor:
        """One tensor: a view of the file's private memory map, its pages handed back when the
        tensor (and every view of it) is freed; plain file reads into a new tensor where the
        data is not aligned for its dtype, where mapping is not possible, where the same tensor
        is still out (no two live tensors share memory that a method may write into), or where
        one of its pages may still hold such a write (see `_hand_back`)."""
        info = self.info[name]
        path, offset = self.where[name]
        if not info.nbytes:
            return torch.empty(info.shape, dtype=info.dtype)
        mapped = self._mapped(path) if offset % info.dtype.itemsize == 0 else None
        if mapped is not None:
            first, last = _pages(offset, info.nbytes)
            with self._lock:
                stale = self._stale[path]
                lend = name not in self._lent and not (
                    stale and any(p in stale for p in (first, last))
                )
                if lend:
                    self._lent[name] = (path, first, last)
            if lend:
                import numpy as np

                pages = np.ndarray((info.nbytes,), np.uint8, buffer=mapped, offset=offset)
                # torch.from_numpy keeps `pages` alive exactly as long as the tensor's storage
                weakref.finalize(pages, self._hand_back, mapped, name).atexit = False
                _advise(mapped, mmap.MADV_WILLNEED, first, last)
                return torch.from_numpy(pages).view(info.dtype).view(info.shape)
        return self._read(name, info, path, offset)

    def _mapped(self, path: Path) -> mmap.mmap | None:
        if not self.MAP:
            return None
        with self._lock:
            if path not in self._maps:
                self._stale[path] = set()
                try:
                    with path.open("rb") as f:
                        self._maps[path] = mapped = mmap.mmap(
                            f.fileno(), 0, access=mmap.ACCESS_COPY
                        )
                except (OSError, ValueError):  # a file system without mmap, an empty file
                    self._maps[path] = None
                else:
                    start = ctypes.addressof(ctypes.c_char.from_buffer(mapped))
                    _MAPPED[id(mapped)] = (start, start + len(mapped), weakref.ref(mapped))
                    weakref.finalize(mapped, _MAPPED.pop, id(mapped), None).atexit = False
            return self._maps[path]

    def _hand_back(self, mapped: mmap.mmap, name: str) -> None:
        """The freed tensor's pages unmapped (`MADV_DONTNEED`: pages it wrote into dropped, the
        file's pages read again from the page cache when next lent), except a first or last
        page it shares with a tensor still lent: that one is marked stale (it may hold this
        tensor's writes) until the neighbour is freed too, and a tensor touching a stale page
        is read with plain reads meanwhile."""
        with self._lock:
            path, first, last = self._lent.pop(name)
            busy = {
                p
                for other, lo, hi in self._lent.values()
                if other == path and lo <= last and hi >= first
                for p in (lo, hi)
                if first <= p <= last
            }
            stale = self._stale[path]
            stale.update(busy)
            lo, hi = first + (first in busy), last - (last in busy)  # busy is first/last only
            stale.difference_update(range(lo, hi + 1))
        if hi >= lo:
            _advise(mapped, mmap.MADV_DONTNEED, lo, hi)

    def _read(self, name: str, info: TensorInfo, path: Path, offset: int) -> torch.Tensor:
        """The tensor read with plain file reads straight into an uninitialised tensor."""
        t = torch.empty(info.shape, dtype=info.dtype)
        view = memoryview(t.reshape(-1).view(torch.uint8).numpy())
        with path.open("rb", buffering=0) as f:
            f.seek(offset)
            done = 0
            while done < info.nbytes:  # one read returns at most about 2 GiB on Linux
                n = f.readinto(view[done:])
                if not n:
                    raise PlatypusError(f"{path}: truncated data for {name}")
                done += n
        return t

    def files_on_disk(self) -> list[Path]:
        return sorted(set(self.files.values()))


# The live memory maps: id of the map -> (start address, end address, a weak reference to it).
_MAPPED: dict[int, tuple[int, int, weakref.ref]] = {}


def is_mapped(t: torch.Tensor) -> bool:
    """Whether `t` is a view of a checkpoint's memory map. Writing into one is correct (the map
    is private) but slow: each page written is copied on its own, 4 KB at a time (measured on
    the 1B Llama's task_arithmetic: 14 s of in-place subtraction, against about 2 s computing
    the deltas into new memory), so a merge computes its deltas into new memory instead."""
    return _map_holding(t.data_ptr()) is not None


def drop_read_pages(t: torch.Tensor) -> None:
    """Hand back the pages wholly inside a contiguous view of a memory map that has been read
    and will not be read again (a consumed input, slice by slice): its memory goes before the
    whole tensor is freed. Nothing for a tensor in ordinary memory."""
    found = _map_holding(t.data_ptr()) if t.is_contiguous() else None
    if found is not None:
        mapped, at = found
        first = -(-at // mmap.PAGESIZE)
        last = (at + t.numel() * t.element_size()) // mmap.PAGESIZE - 1
        _advise(mapped, mmap.MADV_DONTNEED, first, last)


def _map_holding(address: int) -> tuple[mmap.mmap, int] | None:
    """The live checkpoint map holding `address`, and the address's offset in it."""
    for start, end, ref in list(_MAPPED.values()):
        mapped = ref()
        if mapped is not None and start <= address < end:
            return mapped, address - start
    return None


def _pages(offset: int, nbytes: int) -> tuple[int, int]:
    """The first and last page (numbers) that [offset, offset + nbytes) touches."""
    return offset // mmap.PAGESIZE, (offset + nbytes - 1) // mmap.PAGESIZE


def _advise(mapped: mmap.mmap, advice: int, first: int, last: int) -> None:
    """madvise over pages `first` to `last` of the map."""
    start = first * mmap.PAGESIZE
    end = min((last + 1) * mmap.PAGESIZE, len(mapped))
    if end > start:
        try:
            mapped.madvise(advice, start, end - start)
        except (OSError, ValueError):  # a hint: a kernel that refuses it changes nothing
            pass


def _weight_map(index: Path) -> dict[str, str]:
    """The index's tensor -> shard file map, checked (size, JSON, types)."""
    if index.stat().st_size > MAX_INDEX_BYTES:
        raise PlatypusError(f"{index}: larger than {MAX_INDEX_BYTES >> 20} MiB")
    try:
        data = json.loads(index.read_bytes())
    except (ValueError, RecursionError):
        raise PlatypusError(f"{index}: not valid JSON") from None
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()
    ):
        raise PlatypusError(f"{index}: no weight_map of tensor names to file names")
    return weight_map


def read_header(path: Path) -> tuple[dict, int]:
    """(header, offset where tensor data starts) of a safetensors file, checked before anything
    is allocated: the header's length against the file's, each entry's dtype, shape and offsets
    against each other and against the file's size. Entries come back with the torch dtype and
    the shape as a tuple."""
    bad = f"{path}: not a safetensors file"
    file_size = path.stat().st_size
    with path.open("rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise PlatypusError(f"{bad} (shorter than its header)")
        (size,) = struct.unpack("<Q", raw)
        if size > min(MAX_HEADER_BYTES, file_size - 8):
            raise PlatypusError(f"{bad} (header of {size:,} bytes in a {file_size:,}-byte file)")
        try:
            header = json.loads(f.read(size))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise PlatypusError(f"{bad} (bad header)") from None
    if not isinstance(header, dict):
        raise PlatypusError(f"{bad} (header is not a mapping)")
    data_size = file_size - 8 - size
    checked = {}
    for name, meta in header.items():
        if name == "__metadata__":
            checked[name] = meta
            continue
        checked[name] = _checked_entry(path, name, meta, data_size)
    return checked, 8 + size


def _checked_entry(path: Path, name: str, meta, data_size: int) -> dict:
    where = f"{path}: tensor {name[:80]!r}"
    if not isinstance(meta, dict):
        raise PlatypusError(f"{where}: not a tensor entry")
    dtype = TORCH_DTYPES.get(meta.get("dtype")) if isinstance(meta.get("dtype"), str) else None
    if dtype is None:
        raise PlatypusError(f"{where}: missing or unsupported dtype")
    shape, offsets = meta.get("shape"), meta.get("data_offsets")
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        raise PlatypusError(f"{where}: shape is not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(o) is int for o in offsets)):  # fmt: skip
        raise PlatypusError(f"{where}: data_offsets is not [start, end]")
    start, end = offsets
    if not 0 <= start <= end <= data_size:
        raise PlatypusError(f"{where}: data offsets {offsets} outside the file's data")
    if end - start != math.prod(shape) * dtype.itemsize:
        raise PlatypusError(f"{where}: shape {shape} does not match its {end - start:,} bytes")
    return {"dtype": dtype, "shape": tuple(shape), "data_offsets": offsets}


def finite(t: torch.Tensor) -> bool:
    """No NaN or infinity in `t`: its minimum and maximum are finite (NaN propagates to both).
    One reduction pass, no boolean copy: 25x `isfinite(t).all()` on a 100M-entry tensor."""
    if not t.is_floating_point() or t.numel() == 0:
        return True
    low, high = torch.aminmax(t)
    return bool(torch.isfinite(low) & torch.isfinite(high))
