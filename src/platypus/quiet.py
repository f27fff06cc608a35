"""Narrow filters for third-party messages that say nothing to a platypus user.

Each names its source and why it is harmless; nothing else is silenced.
- bitsandbytes, on CPUs with AVX-512 bf16, tries at import to fetch an optional 4-bit matmul
  kernel from the Hub (`kernels-community/quantization-bitsandbytes`) and warns when it cannot
  (offline, or the publisher is not trusted); it then uses its own built-in kernel, which is
  what runs everywhere else. Printed on every command, model or not, together with the
  `kernels` package's note that offline it skips that kernel's publisher check.
- peft asks transformers' deprecated `is_gradient_checkpointing` (a FutureWarning on each
  QLoRA setup): peft's to change, with no effect here.
- Off a terminal (a log, CI, a pipe), transformers' "Loading weights" bar on every model load
  and huggingface_hub's download bars write carriage-return frames into the log; there our own
  progress lines (`platypus.progress`) say what is happening, so those bars are switched off
  through huggingface_hub's own switch (`HF_HUB_DISABLE_PROGRESS_BARS`, read when transformers
  is imported), unless the environment already sets it.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings


class _Drop(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def install() -> None:
    """Install the filters (idempotent); before bitsandbytes and transformers are imported, so
    they apply."""
    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name, prefix in (
        ("bitsandbytes.backends.cpu.ops", "Failed to load CPU gemm_4bit_forward from kernels-"),
        ("kernels._internals.hf_hub", "Skipping publisher trust check for 'kernels-community/"),
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Drop) for f in logger.filters):
            logger.addFilter(_Drop(prefix))
    warnings.filterwarnings(
        "ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning
    )
