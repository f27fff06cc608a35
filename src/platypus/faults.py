"""Fault injection for the tests, at the bottom layer so that any stage's code can mark a point:
`PLATYPUS_KILL_AT=<stage>:<point>` kills the process there with SIGKILL, as a crash or an
out-of-memory kill would (the pipeline's commit points, training's steps)."""

from __future__ import annotations

import os
import signal


def fault_point(stage, point: str) -> None:
    """`stage`: a stage (its `name`) or, from inside a stage's own code, its name."""
    name = stage if isinstance(stage, str) else stage.name
    if os.environ.get("PLATYPUS_KILL_AT") == f"{name}:{point}":
        os.kill(os.getpid(), signal.SIGKILL)
