"""Progress that also works in logs.

On a terminal: tqdm's bar. Anywhere else (nohup, SLURM, CI, a pipe), tqdm shows nothing at
all; here a plain line (`train: 12/40 [01:10<02:44, 0.17 steps/s, loss=1.21]`: done, elapsed,
remaining, rate and what the caller posts) goes to stderr every `PLATYPUS_PROGRESS_SECONDS`
(default 30), and a last one when a loop that printed any ends, so a short loop prints nothing.
`PLATYPUS_PROGRESS_SECONDS=0` prints at every update; `off` never.
"""

from __future__ import annotations

import os
import sys
import time

from tqdm import tqdm

ENV = "PLATYPUS_PROGRESS_SECONDS"
DEFAULT_SECONDS = 30.0
LINE = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


def _interval() -> float | None:
    """Seconds between log lines; None: no lines."""
    value = os.environ.get(ENV, "").strip().lower()
    if value == "off":
        return None
    try:
        return max(0.0, float(value)) if value else DEFAULT_SECONDS
    except ValueError:
        return DEFAULT_SECONDS


class _LogLines(tqdm):
    """tqdm writing whole lines at a steady interval instead of redrawing a bar."""

    def __init__(self, *args, interval: float, **kwargs):
        self._every = interval
        self._last_line: float | None = None
        self._n_last = -1
        kwargs.update(file=sys.stderr, bar_format=LINE, mininterval=min(interval, 1.0),
                      disable=False, leave=False)  # fmt: skip
        super().__init__(*args, **kwargs)
        self._started = time.monotonic()

    def display(self, msg=None, pos=None):  # tqdm calls it to draw; here: a line when due
        now = time.monotonic()
        started = getattr(self, "_started", None)
        if started is None:  # tqdm's first draw, from its constructor: nothing yet
            return True
        since = now - (self._last_line if self._last_line is not None else started)
        if since >= self._every and self.n != self._n_last:  # (a posted loss alone: no line)
            self._write_line(now)
        return True

    def _write_line(self, now: float) -> None:
        self.fp.write(self.__str__().strip() + "\n")
        self.fp.flush()
        self._last_line, self._n_last = now, self.n

    def close(self):
        if self.disable:
            return
        if self._last_line is not None and self.n != self._n_last:
            self._write_line(time.monotonic())  # the end of a loop that reported
        self.disable = True  # tqdm's own close would redraw and clear a terminal line
        self._decr_instances(self)


def progress(iterable=None, *, disable=None, **kwargs):
    """`tqdm(iterable, **kwargs)` on a terminal; plain periodic lines elsewhere (module doc).
    `disable=True` shows nothing anywhere."""
    if disable is True:
        return tqdm(iterable, disable=True, **kwargs)
    if sys.stderr.isatty():
        return tqdm(iterable, **kwargs)
    interval = _interval()
    if interval is None:
        return tqdm(iterable, disable=True, **kwargs)
    return _LogLines(iterable, interval=interval, **kwargs)
