"""Model folders that ship their own Python code: refused unless the user opts in.

A `config.json` (or `tokenizer_config.json`) whose `auto_map` names a module makes transformers
import and run that module to build the model; asked without an explicit `trust_remote_code`,
transformers prompts on a terminal ("Do you wish to run the custom code? [y/N]") and raises
elsewhere. Every load here passes `trust_remote_code` explicitly (False unless the user set
`compute.trust_remote_code: true` / `--trust-remote-code`, as lm-eval and axolotl spell it), and
a folder with custom code is refused before transformers sees it, in one line naming the files
and the opt-in. With the opt-in, the code files' hashes are recorded beside the policy.
"""

from __future__ import annotations

import json
from pathlib import Path

from platypus.errors import PlatypusError
from platypus.hashing import file_sha256

OPT_IN = "compute.trust_remote_code: true, or --trust-remote-code"
# The files whose `auto_map` can point transformers at code in the folder (or another repo).
_CONFIGS = ("config.json", "tokenizer_config.json", "processor_config.json",
            "preprocessor_config.json")  # fmt: skip
_MAX_CONFIG_BYTES = 16 << 20


def _refs(value) -> list[str]:
    """The class references of one `auto_map` entry: "module.Class", "repo--module.Class", or
    (tokenizers) a [slow, fast] pair with None for a missing one."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def custom_code_modules(folder: str | Path) -> list[str]:
    """The code files a model folder's configs ask transformers to run, as file names ("x.py",
    or "repo--x.py" for code in another hub repository); empty when it asks for none."""
    folder = Path(folder)
    modules: set[str] = set()
    for name in _CONFIGS:
        path = folder / name
        try:
            if not path.is_file() or path.stat().st_size > _MAX_CONFIG_BYTES:
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable configs are the loader's to report
        auto_map = data.get("auto_map") if isinstance(data, dict) else None
        if not isinstance(auto_map, dict):
            continue
        for value in auto_map.values():
            for ref in _refs(value):
                module = ref.rsplit(".", 1)[0] if "." in ref else ref
                modules.add(f"{module}.py")
    return sorted(modules)


def check_custom_code(name_or_path: str | Path, trust: bool, what: str = "model") -> dict | None:
    """None for a folder without custom code (and for a hub id, which transformers itself
    refuses under `trust_remote_code=False`). A folder with custom code: a one-line error
    without `trust`, else the record of what will run ({file: sha256})."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        return None
    modules = custom_code_modules(folder)
    if not modules:
        return None
    if not trust:
        raise PlatypusError(
            f"{what} {name_or_path}: its config runs custom code from the folder "
            f"({', '.join(modules)}); refused. If you trust that code, opt in with {OPT_IN}"
        )
    return {
        m: (file_sha256(folder / m) if (folder / m).is_file() else "not in the folder")
        for m in modules
    }
