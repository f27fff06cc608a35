"""Peak resident memory of this process from a chosen point (Linux; elsewhere, ru_maxrss).

ru_maxrss covers the whole life of the process (and a child starts with its parent's mark), so
a stage that runs after others in one process resets the mark first and reads VmHWM at the end.
"""

from __future__ import annotations

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
