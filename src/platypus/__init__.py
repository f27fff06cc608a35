"""platypus: the Platypus recipe (Lee, Hunter & Ruiz, 2023) as a reusable toolkit.

The Python API (see `platypus.api`): `build`, `dedup`, `decontaminate`, `train`, `merge`,
`evaluate`, `run` and `load_dataset`, imported on first use so that `import platypus` stays
cheap (no torch).
"""

import os
import sys
from types import ModuleType

# PyTorch backs each CPU allocation of 2 MB or more with transparent huge pages when this is set
# (read at its first allocation, so it acts where platypus is imported before torch, as by the
# CLI): one page fault per 2 MB instead of per 4 KB. Measured on a 1B Llama's merges (2 cores,
# benchmarks/results/merge-cpu-2core.md): linear 9.0 -> 6.5 s, task_arithmetic 15.8 -> 12.5 s.
# Kernels with huge pages off ignore it; a user's own setting wins.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from platypus.version import DISTRIBUTION, __version__

API = ("build", "dedup", "decontaminate", "train", "merge", "evaluate", "run", "load_dataset")
__all__ = ["DISTRIBUTION", "__version__", *API]


def __getattr__(name: str):
    if name in API:
        from platypus import api

        return getattr(api, name)
    raise AttributeError(f"module 'platypus' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(API))


class _CallableStage(ModuleType):
    """`platypus.train` and `platypus.merge` are subpackages as well as API functions. Importing
    a subpackage binds its module to the package's attribute, so once `platypus.train.loop` is
    imported, `platypus.train` is the module: calling it runs the API function of that name."""

    def __call__(self, *args, **kwargs):
        from platypus import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in API and type(value) is ModuleType:
            value.__class__ = _CallableStage
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
