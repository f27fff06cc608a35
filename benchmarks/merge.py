"""Merge benchmark: `platypus merge` against mergekit on the same inputs, one run.

    .venv/bin/python benchmarks/merge.py [--methods linear,ties,slerp] [--extract 8]

(any of the registry's model merges; the dare and della ones drop at random, so their
difference to mergekit's output is not a parity check).

Inputs: SmolLM2-135M-Instruct (fp32, 0.54 GB) as the base and two 'fine-tunes' of it (its
weights plus seeded noise), written once to a temporary folder. Each merge runs in its own
process so its peak RSS is its own; reported: seconds, peak RSS, and the largest difference
between the two outputs.

--extract R: extract-lora at rank R from a fine-tune that is the base plus a rank-R delta on
every linear module plus small full-rank noise: seconds, peak RSS, energy kept, and how far
the extracted delta is from the planted low-rank one (relative Frobenius error).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _inputs(tmp: Path) -> dict[str, Path]:
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from platypus.models import prepared_path

    base = prepared_path()
    folders = {"base": base}
    for k, seed in (("a", 1), ("b", 2)):
        out = tmp / k
        shutil.copytree(base, out)
        torch.manual_seed(seed)
        weights = load_file(base / "model.safetensors")
        noisy = {n: t + 0.01 * t.std() * torch.randn_like(t) for n, t in weights.items()}
        save_file(noisy, out / "model.safetensors", metadata={"format": "pt"})
        folders[k] = out
    return folders


def _one(kind: str, method: str, folders: dict, out: Path) -> None:
    from platypus.memory import peak_mb, reset_peak
    from platypus.merge.methods import get

    reset_peak()
    t0 = time.perf_counter()
    models = [
        {"model": str(folders["a"]), "weight": 0.6, "density": 0.5},
        {"model": str(folders["b"]), "weight": 0.4, "density": 0.5},
    ]
    spec = get(method)
    models = models[: spec.max_models]
    if kind == "platypus":
        from platypus.config import MergeConfig
        from platypus.merge.run import merge

        merge(
            MergeConfig(
                method=method,
                base_model=str(folders["base"]),
                output_dir=str(out),
                t=0.3,
                models=models,
            )
        )
    else:
        from mergekit.config import MergeConfiguration
        from mergekit.merge import MergeOptions, run_merge

        entries = [
            {"model": m["model"], "parameters": {k: m[k] for k in ("weight", "density")}}
            for m in models
        ]
        config = {
            "merge_method": method,
            "base_model": str(folders["base"]),
            "dtype": "float32",
            "models": entries,
        }
        if method == "slerp":
            config["models"] = [{"model": str(folders["base"])}, {"model": models[0]["model"]}]
            config["parameters"] = {"t": 0.3}
        if not spec.needs_base:
            config.pop("base_model")
        run_merge(
            MergeConfiguration.model_validate(config),
            str(out),
            MergeOptions(quiet=True, write_model_card=False),
        )
    result = {
        "seconds": time.perf_counter() - t0,
        "peak_rss_mb": peak_mb(),
    }
    (out / "bench.json").write_text(json.dumps(result))


def _extract(tmp: Path, rank: int) -> dict:
    """extract-lora on a planted rank-`rank` delta; the error against the planted delta."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from platypus.config import MergeConfig
    from platypus.memory import peak_mb, reset_peak
    from platypus.merge.methods.extract import linear_weights
    from platypus.merge.run import merge
    from platypus.models import prepared_path

    base = prepared_path()
    tuned = tmp / "planted"
    shutil.copytree(base, tuned)
    weights = load_file(base / "model.safetensors")
    linear = linear_weights(base)
    g = torch.Generator().manual_seed(0)
    planted = {}
    for name, w in weights.items():
        if name in linear:
            scale = 0.05 * float(w.std()) / rank**0.5
            b = torch.randn(w.shape[0], rank, generator=g) * scale
            planted[name] = b @ torch.randn(rank, w.shape[1], generator=g)
            noise = 1e-3 * float(w.std()) * torch.randn(w.shape, generator=g)
            weights[name] = w + planted[name] + noise
    save_file(weights, tuned / "model.safetensors", metadata={"format": "pt"})
    out = tmp / "extracted"
    reset_peak()
    t0 = time.perf_counter()
    result = merge(
        MergeConfig(
            method="extract-lora",
            base_model=str(base),
            models=[{"model": str(tuned)}],
            rank=rank,
            output_dir=str(out),
        )
    )
    seconds, peak = time.perf_counter() - t0, peak_mb()
    factors = load_file(out / "adapter_model.safetensors")
    errors = []
    for name, delta in planted.items():
        module = "base_model.model." + name.removesuffix(".weight")
        got = factors[module + ".lora_B.weight"] @ factors[module + ".lora_A.weight"]
        errors.append(float((got - delta).norm() / delta.norm()))
    energy = result.card["extraction"]["energy_kept"]
    return {
        "rank": rank,
        "modules": len(planted),
        "seconds": seconds,
        "peak_rss_mb": peak,
        "energy_min": energy["min"],
        "energy_median": energy["median"],
        "error_max": max(errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="linear,ties,slerp")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)  # kind method folders out
    parser.add_argument("--extract", type=int, metavar="RANK", help="extract-lora at RANK only")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.extract:
        with tempfile.TemporaryDirectory() as tmp:
            r = _extract(Path(tmp), args.extract)
        print(
            "| rank | modules | seconds | peak RSS MB | energy kept min / median "
            "| max relative error vs planted |\n|---:|---:|---:|---:|---|---:|\n"
            f"| {r['rank']} | {r['modules']} | {r['seconds']:.1f} | {r['peak_rss_mb']:,.0f} | "
            f"{r['energy_min']:.4f} / {r['energy_median']:.4f} | {r['error_max']:.1e} |"
        )
        return 0
    from platypus.merge.methods import METHODS, TensorMerge

    mergeable = sorted(n for n, m in METHODS.items() if isinstance(m, TensorMerge))
    unknown = [m for m in args.methods.split(",") if m not in mergeable]
    if unknown:
        parser.error(f"--methods: {', '.join(unknown)} not among {', '.join(mergeable)}")
    if args.one:
        kind, method, folders, out = args.one
        folders = {k: Path(v) for k, v in json.loads(folders).items()}
        _one(kind, method, folders, Path(out))
        return 0
    from safetensors.torch import load_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folders = _inputs(tmp)
        spec = json.dumps({k: str(v) for k, v in folders.items()})
        print(
            "| method | platypus s | mergekit s | platypus peak RSS MB | mergekit peak RSS MB "
            "| max abs diff |\n|---|---:|---:|---:|---:|---:|"
        )
        for method in args.methods.split(","):
            res = {}
            for kind in ("platypus", "mergekit"):
                out = tmp / f"{kind}-{method}"
                out.mkdir()
                subprocess.run(
                    [sys.executable, __file__, "--one", kind, method, spec, str(out)],
                    check=True,
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                res[kind] = json.loads((out / "bench.json").read_text())
            ours = load_file(tmp / f"platypus-{method}" / "model.safetensors")
            mk_dir = tmp / f"mergekit-{method}"
            theirs = {}
            for f in mk_dir.glob("*.safetensors"):
                theirs |= load_file(f)
            diff = max(float((ours[k] - theirs[k]).abs().max()) for k in ours)
            diff_note = f"{diff:.1e}"
            p, m = res["platypus"], res["mergekit"]
            print(
                f"| {method} | {p['seconds']:.1f} | {m['seconds']:.1f} | "
                f"{p['peak_rss_mb']:,.0f} | {m['peak_rss_mb']:,.0f} | {diff_note} |"
            )
            del ours, theirs
    return 0


if __name__ == "__main__":
    sys.exit(main())
