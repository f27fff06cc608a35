"""Peak memory of the current process, measured from a chosen point (Linux).

A child process starts with its parent's high-water mark (ru_maxrss survives fork and exec), so
each measurement resets the mark first and reads VmHWM afterwards.
"""

from __future__ import annotations

import resource
from pathlib import Path


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> float:
    """Reset the high-water mark to the current RSS; returns that RSS in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_mb() -> float:
    return _status_mb("VmHWM")
