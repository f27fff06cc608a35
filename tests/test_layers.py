"""No module imports from a layer above its own (the order is docs/architecture.md's "Layers").
Every import counts, a function's deferred ones and those only for type checking too. KNOWN
would list accepted exceptions (none are left); an entry that is gone fails as well."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "platypus"
# Module prefixes below `platypus`, by layer (the longest prefix decides; "" is the package).
LAYERS = {
    1: ["errors", "faults", "hashing", "version", "paths", "progress", "quiet", "memory",
        "io", "data.record", "data.text", "data.compare", "yaml_loader"],
    # the manifest's format: read by any stage handed another stage's folder
    2: ["settings", "overrides", "compute", "cli_flags", "pipeline.manifest"],
    3: ["contract", "architectures", "models", "similarity", "cards", "model_cards", "charts",
        "sizing", "data.sources", "train.template", "train.tracking"],
    4: ["data", "train", "merge", "eval", "tasks"],
    5: ["config", "pipeline", "plan", "plan_data", "report", "hub", "api", "cli", "chat",
        "chat_files", "__main__", ""],
}  # fmt: skip
KNOWN: set[tuple[str, str]] = set()


def layer_of(module: str) -> int:
    best = None
    for number, prefixes in LAYERS.items():
        for prefix in prefixes:
            if module == prefix or (prefix and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (number, len(prefix))
    assert best is not None, f"platypus.{module} has no layer: add it to LAYERS"
    return best[0]


def imports_of(path: Path) -> set[str]:
    """The platypus modules a file imports (relative to `platypus`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "platypus":  # from platypus import x: x is a module or attribute
                found |= {a.name for a in node.names}
            elif node.module.startswith("platypus."):
                found.add(node.module.removeprefix("platypus."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("platypus.") for a in node.names
                      if a.name.startswith("platypus.")}  # fmt: skip
    return found


def upward_imports() -> set[tuple[str, str]]:
    upward = set()
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__")
        for target in imports_of(path):
            if layer_of(target) > layer_of(module):
                upward.add((module, target))
    return upward


def test_no_module_imports_from_a_layer_above_its_own():
    upward = upward_imports()
    new = sorted(upward - KNOWN)
    assert not new, f"imports from a higher layer (docs/architecture.md, Layers): {new}"
    gone = sorted(KNOWN - upward)
    assert not gone, f"no longer imported, remove from KNOWN: {gone}"


def test_the_walk_sees_deferred_and_package_imports(tmp_path):
    """The walk itself: a deferred import inside a function and `from platypus import x` count."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from platypus.pipeline.stages import STAGES\n"
                      "from platypus import api\nimport platypus.errors\n")  # fmt: skip
    assert imports_of(sample) == {"pipeline.stages", "api", "errors"}
    assert layer_of("pipeline.stages") == 5 and layer_of("data.dedup.run") == 4
    assert layer_of("io.writers") == 1 and layer_of("") == 5
