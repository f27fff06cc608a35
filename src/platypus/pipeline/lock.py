"""An exclusive lock on an output folder, so two runs never write into the same one.

The lock is an `fcntl.flock` on `<folder>/.platypus.lock`: the kernel drops it when the process
dies, however it dies, so a killed run never leaves a stale lock behind. The file holds the
holder's pid and command, which a second run names in its error.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
from pathlib import Path

from platypus.errors import PlatypusError

LOCK_FILE = ".platypus.lock"


class FolderLock:
    """`with FolderLock(folder): ...` holds the folder or raises a one-line PlatypusError.

    Re-entrant within one process (a `platypus run` holds its run folder and its stages lock
    their own folders inside it)."""

    _held: dict[str, int] = {}  # resolved folder -> depth, for this process

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._fd: int | None = None
        self._key = ""

    def __enter__(self) -> FolderLock:
        if int(os.environ.get("RANK", "0")) > 0:
            return self  # the other processes of one multi-process job; rank 0 holds the lock
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlatypusError(
                f"{self.folder}: cannot create the output folder ({exc.strerror})"
            ) from None
        self._key = str(self.folder.resolve())
        if self._key in self._held:
            self._held[self._key] += 1
            return self
        path = self.folder / LOCK_FILE
        try:
            # O_NOFOLLOW: a lock file planted as a link to a file elsewhere is refused, never
            # opened (and truncated) through the link.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PlatypusError(
                    f"{path} is a symbolic link; remove it (a lock file is never written "
                    "through a link)"
                ) from None
            raise PlatypusError(
                f"{self.folder}: output folder is not writable ({exc.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise PlatypusError(
                f"{self.folder} is in use by {holder}; wait for it to finish or use another "
                "output folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({' '.join(sys.argv[:3])})\n".encode(), 0)
        self._fd = fd
        self._held[self._key] = 1
        return self

    def __exit__(self, *exc) -> None:
        if not self._key:
            return
        self._held[self._key] -= 1
        if self._held[self._key]:
            return
        del self._held[self._key]
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
