"""Peak resident memory of this process from a chosen point (Linux; elsewhere, ru_maxrss).

ru_maxrss covers the whole life of the process (and a child starts with its parent's mark), so
a stage that runs after others in one process resets the mark first and reads VmHWM at the end.
"""

from __future__ import annotations

import functools
import resource
from pathlib import Path


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak() -> None:
    """Make the high-water mark the current RSS (writes 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mb() -> float:
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident memory."""
    rss = _status_mb("VmRSS")
    return rss if rss is not None else peak_mb()


def release_free_memory() -> bool:
    """Hand the C heap's free pages back to the OS (glibc's `malloc_trim(0)`); False where the
    C library is not glibc.

    PyTorch's CPU tensors come from malloc, and glibc keeps most of what a forward/backward pass
    frees: measured on LoRA training steps of SmolLM2 (4 x 256 tokens), the resident size
    between steps was 4.8 GB for 1.0 GB of live tensors, and the next step's peak grew on top of
    it (5.0-5.4 GB against 3.8 GB when trimmed after each micro-batch). The pages are faulted in
    (zeroed) again on next use: 8-35% more CPU training time, measured in
    benchmarks/results/train-cpu-2core.md."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


@functools.cache
def _glibc():
    """The C library when it is glibc (musl and macOS have no malloc_trim), else None."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc
