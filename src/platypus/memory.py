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


# Below this share of the memory limit left available, a CPU trainer hands freed heap pages back
# after each micro-batch (`cpu_release_memory: auto`). Above it the pages stay for the next step
# to reuse: handing them back cost 20-35% of CPU training time (benchmarks/results/
# train-cpu-2core.md), while the growth it prevents (a few GB for SmolLM2) fits.
TIGHT_SHARE = 0.25


# Where each cgroup version keeps a group's memory limit, usage and page-cache figure: (the
# /proc/self/cgroup line's prefix, the hierarchy's folder under the cgroup root, the files).
_CGROUPS = [
    ("0::", "", "memory.max", "memory.current", "inactive_file"),  # v2
    ("memory:", "memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
     "total_inactive_file"),  # v1
]  # fmt: skip


def _cgroup_limit(root: Path, own: Path, total_mb: float) -> tuple[float, float] | None:
    """(available, limit) in MB under the nearest cgroup memory limit above this process (its
    own group's, else a parent's; v2 or v1), or None where none is set below the machine's
    memory. Usage counts the page cache, of which the inactive part is reclaimable, as the
    kernel and container runtimes count it."""
    try:
        lines = own.read_text().splitlines()
    except OSError:
        return None
    for prefix, hierarchy, limit_file, usage_file, cache_key in _CGROUPS:
        paths = [x.split(prefix, 1)[1] for x in lines if prefix in x]
        if not paths:
            continue
        base = root / hierarchy
        folder = base / paths[0].strip().lstrip("/")
        for group in [folder, *folder.parents]:
            if not group.is_relative_to(base):
                break
            try:
                limit = int((group / limit_file).read_text())
                used = int((group / usage_file).read_text())
            except (OSError, ValueError):  # no such group here, or "max"
                continue
            if limit / 2**20 >= total_mb:
                continue  # v1 writes "no limit" as a huge number
            stat = dict(x.split() for x in _read(group / "memory.stat").splitlines() if " " in x)
            used -= int(stat.get(cache_key, 0))
            return (limit - used) / 2**20, limit / 2**20
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def available_mb(
    meminfo: Path = Path("/proc/meminfo"),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    own_cgroup: Path = Path("/proc/self/cgroup"),
) -> tuple[float, float] | None:
    """(available, limit) in MB for this process: a cgroup's memory limit where one is set (a
    container's, which /proc/meminfo does not show), else the machine's MemAvailable and
    MemTotal; None where neither can be read (not Linux)."""
    try:
        fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines())
        kb = {k: int(fields[k].split()[0]) for k in ("MemAvailable", "MemTotal")}
    except (OSError, ValueError, KeyError):
        return None
    machine = kb["MemAvailable"] / 1024, kb["MemTotal"] / 1024
    limited = _cgroup_limit(cgroup_root, own_cgroup, machine[1])
    if limited is None:
        return machine
    return min(limited[0], machine[0]), limited[1]


def memory_is_tight(share: float = TIGHT_SHARE, **paths) -> bool:
    """True when less than `share` of the memory limit is available (or nothing can be read:
    then handing pages back is the safe choice)."""
    got = available_mb(**paths)
    return got is None or got[0] < share * got[1]


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
