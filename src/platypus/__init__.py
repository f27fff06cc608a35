"""platypus: the Platypus recipe (Lee, Hunter & Ruiz, 2023) as a reusable toolkit.

The Python API (see `platypus.api`): `build`, `dedup`, `decontaminate`, `train`, `merge`,
`evaluate`, `run` and `load_dataset`, imported on first use so that `import platypus` stays
cheap (no torch).
"""

import sys
from types import ModuleType

from platypus.version import DISTRIBUTION, __version__

API = ("build", "dedup", "decontaminate", "train", "merge", "evaluate", "run", "load_dataset")
__all__ = ["DISTRIBUTION", "__version__", *API]


def __getattr__(name: str):
    if name in API:
        from platypus import api

        return getattr(api, name)
    if not name.startswith("_"):  # a plug-in stage's function (`Stage.api_name`)
        from platypus.api import plugin_function

        function = plugin_function(name)
        if function is not None:
            return function
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
