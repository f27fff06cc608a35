"""Merge benchmark: `platypus merge` against mergekit on the same inputs, one run.

    .venv/bin/python benchmarks/merge.py [--methods all|ties,slerp,...] [--llama-1b] [--extract 8]

Every tensor method mergekit 0.1.5 also has (`--methods all`, the default: linear, slerp,
task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties, della,
della_linear, model_stock, nuslerp, multislerp, karcher, nearswap, sce, arcee_fusion, ram,
ramplus_tl, and passthrough with slices), each from one mergekit configuration (`CONFIGS`)
that both tools read: ours through `MergeConfig` (which takes mergekit's schema), mergekit
through `run_merge`.

Inputs: SmolLM2-135M-Instruct (fp32, 0.54 GB) as the base and two 'fine-tunes' of it (its
weights plus seeded noise), written once to a temporary folder; `--llama-1b`: instead a random
Llama of about 1B parameters built from a config (18 layers, hidden 2048, SmolLM2's vocabulary
and tokenizer; `--dtype` float32 (4.4 GB a model) or bfloat16) and two noisy copies. Each
merge runs in its own process, ours first, so its peak RSS is its own; reported: seconds (wall
and CPU: user + system of all threads, steadier on a loaded machine; with --repeat N the
fastest of N alternating runs of each), peak RSS (the highest), and the
outputs compared tensor by tensor: the largest difference ('equal' within 1e-6) or, for the
methods that drop at random (dare_*, della*: each tool draws its own), the fraction of entries
changed from the base in each ('same fraction kept' within 0.005); arcee_fusion is compared as
those on the tensors of over 1M entries, whose threshold mergekit estimates from a random
sample (`SAMPLED_ABOVE`), and entry by entry on the rest. The last column says
whether the row meets the target: time <= mergekit's, peak RSS <= 0.5 x mergekit's, outputs
equal.

--extract R: extract-lora at rank R from a fine-tune that is the base plus a rank-R delta on
every linear module plus small full-rank noise: seconds, peak RSS, energy kept, and how far
the extracted delta is from the planted low-rank one (relative Frobenius error).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RANDOM = {"dare_linear", "dare_ties", "della", "della_linear"}  # each tool draws its own drops
# mergekit's arcee_fusion estimates its threshold's quantiles from 1,000,000 entries drawn with
# torch's global generator in larger tensors (ours are exact): those tensors are compared as the
# random methods are, by the fraction of entries changed from the base.
SAMPLED_ABOVE = 1_000_000


def _noisy_copies(base: Path, tmp: Path) -> dict[str, Path]:
    """`base` and two copies of it, each weight plus 1% of its std in seeded noise."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    folders = {"base": base}
    for k, seed in (("a", 1), ("b", 2)):
        out = tmp / k
        shutil.copytree(base, out)
        g = torch.Generator().manual_seed(seed)
        for f in sorted(base.glob("*.safetensors")):
            weights = load_file(f)
            noisy = {}
            for n in list(weights):
                t = weights.pop(n)
                noise = torch.randn(t.shape, generator=g).to(t.dtype)
                noisy[n] = t + 0.01 * t.float().std().to(t.dtype) * noise
            save_file(noisy, out / f.name, metadata={"format": "pt"})
            del noisy
        folders[k] = out
    return folders


def _inputs(tmp: Path) -> dict[str, Path]:
    from platypus.models import prepared_path

    return _noisy_copies(prepared_path(), tmp)


def _llama_inputs(tmp: Path, dtype: str) -> dict[str, Path]:
    """A random Llama of about 1B parameters (SmolLM2's vocabulary, so its tokenizer) and two
    noisy copies."""
    import shutil

    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaForCausalLM

    from platypus.models import prepared_path

    smol = prepared_path()
    config = LlamaConfig(
        vocab_size=49152, hidden_size=2048, intermediate_size=5632, num_hidden_layers=18,
        num_attention_heads=32, num_key_value_heads=4, tie_word_embeddings=False,
        max_position_embeddings=2048, torch_dtype=dtype, architectures=["LlamaForCausalLM"],
    )  # fmt: skip
    with torch.device("meta"):
        shapes = {n: p.shape for n, p in LlamaForCausalLM(config).state_dict().items()}
    base = tmp / "llama-1b"
    base.mkdir()
    config.save_pretrained(base)
    for f in smol.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            shutil.copy(f, base / f.name)
    g = torch.Generator().manual_seed(0)
    weights = {
        n: (torch.ones(s) if n.endswith("norm.weight") else torch.randn(s, generator=g) * 0.02).to(
            getattr(torch, dtype)
        )
        for n, s in shapes.items()
    }
    save_file(weights, base / "model.safetensors", metadata={"format": "pt"})
    del weights
    return _noisy_copies(base, tmp)


# One mergekit configuration per method; BASE, A and B are the base and the two fine-tunes.
_PAIR = [
    {"model": "A", "parameters": {"weight": 0.6}},
    {"model": "B", "parameters": {"weight": 0.4}},
]
_SPARSE = [
    {"model": "A", "parameters": {"weight": 0.6, "density": 0.5}},
    {"model": "B", "parameters": {"weight": 0.4, "density": 0.5}},
]
CONFIGS: dict[str, dict] = {
    "linear": {"models": _PAIR},
    "slerp": {"base_model": "BASE", "models": [{"model": "BASE"}, {"model": "A"}],
              "parameters": {"t": 0.3}},
    "task_arithmetic": {"base_model": "BASE", "models": _PAIR},
    **{m: {"base_model": "BASE", "models": _SPARSE}
       for m in ("ties", "dare_linear", "dare_ties", "breadcrumbs", "breadcrumbs_ties", "della",
                 "della_linear")},
    "model_stock": {"base_model": "BASE", "models": [{"model": "A"}, {"model": "B"}]},
    "nuslerp": {"models": [{"model": "A", "parameters": {"weight": 0.3}},
                           {"model": "B", "parameters": {"weight": 0.7}}]},
    "multislerp": {"base_model": "BASE", "models": [{"model": "A", "parameters": {"weight": 1.0}},
                                                    {"model": "B", "parameters": {"weight": 0.5}}]},
    "karcher": {"models": [{"model": "A"}, {"model": "B"}]},
    "nearswap": {"base_model": "BASE", "models": [{"model": "BASE"}, {"model": "A"}],
                 "parameters": {"t": 0.0001}},
    "sce": {"base_model": "BASE", "models": [{"model": "BASE"}, {"model": "A"}, {"model": "B"}],
            "parameters": {"select_topk": 0.5}},
    "arcee_fusion": {"base_model": "BASE", "models": [{"model": "BASE"}, {"model": "B"}]},
    "ram": {"base_model": "BASE", "models": [{"model": "A"}, {"model": "B"}]},
    "ramplus_tl": {"base_model": "BASE", "models": [{"model": "A"}, {"model": "B"}]},
    # A frankenmerge: A's first two thirds of the layers, then B's last two thirds (N: the
    # models' layer count), 4N/3 layers in all.
    "passthrough": {"slices": [{"sources": [{"model": "A", "layer_range": [0, "2N/3"]}]},
                               {"sources": [{"model": "B", "layer_range": ["N/3", "N"]}]}]},
}  # fmt: skip


def mergekit_config(method: str, folders: dict[str, Path]) -> dict:
    """`CONFIGS[method]` with the folders in place of BASE, A and B."""
    names = {"BASE": folders["base"], "A": folders["a"], "B": folders["b"]}
    config = json.loads(json.dumps(CONFIGS[method]))
    if "base_model" in config:
        config["base_model"] = str(names[config["base_model"]])
    for m in config.get("models", []):
        m["model"] = str(names[m["model"]])
    layers = json.loads((folders["base"] / "config.json").read_text())["num_hidden_layers"]
    spans = {"N/3": layers // 3, "2N/3": 2 * layers // 3, "N": layers}
    for piece in config.get("slices", []):
        for source in piece["sources"]:
            source["model"] = str(names[source["model"]])
            source["layer_range"] = [spans.get(x, x) for x in source["layer_range"]]
    return {"merge_method": method, **config, "dtype": "float32"}


def _one(kind: str, method: str, folders: dict, out: Path) -> None:
    from platypus.memory import peak_mb, reset_peak

    config = mergekit_config(method, folders)
    reset_peak()
    t0 = time.perf_counter()
    start = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = start.ru_utime + start.ru_stime
    if kind == "platypus":
        from platypus.config import MergeConfig
        from platypus.merge.run import merge

        merge(MergeConfig.model_validate(config | {"output_dir": str(out)}))
    else:
        from mergekit.config import MergeConfiguration
        from mergekit.merge import MergeOptions, run_merge

        run_merge(
            MergeConfiguration.model_validate(config),
            str(out),
            MergeOptions(quiet=True, write_model_card=False),
        )
    used = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "seconds": time.perf_counter() - t0,
        # CPU seconds (user + system, all threads): less swayed than wall time by other load
        "cpu_seconds": used.ru_utime + used.ru_stime - cpu0,
        "peak_rss_mb": peak_mb(),
    }
    (out / "bench.json").write_text(json.dumps(result))


def _files(folder: Path) -> dict[str, Path]:
    """Tensor name -> the safetensors file in `folder` that holds it."""
    from safetensors import safe_open

    where = {}
    for f in sorted(folder.glob("*.safetensors")):
        with safe_open(f, "pt") as st:
            where |= dict.fromkeys(st.keys(), f)
    return where


def compare(method: str, ours: Path, theirs: Path, base: Path) -> tuple[str, bool]:
    """The outputs compared one tensor at a time: (what the table says, whether it matches)."""
    from safetensors import safe_open

    mine, other, first = _files(ours), _files(theirs), _files(base)
    if mine.keys() != other.keys():
        return f"tensors differ: {sorted(mine.keys() ^ other.keys())[:3]}", False
    diff, changed, total, differing, drawn_total = 0.0, [0, 0], 0, 0, 0
    sampled = 0  # arcee_fusion: tensors whose threshold mergekit estimates from a sample
    for k in sorted(mine):
        with safe_open(mine[k], "pt") as a, safe_open(other[k], "pt") as b:
            x, y = a.get_tensor(k).float(), b.get_tensor(k).float()
        drawn = method in RANDOM or (method == "arcee_fusion" and x.numel() > SAMPLED_ABOVE)
        if not drawn:
            diff = max(diff, float((x - y).abs().max()))
            differing += int((x != y).sum())
        total += x.numel()
        if drawn and k in first:
            sampled += 1
            drawn_total += x.numel()
            with safe_open(first[k], "pt") as c:
                z = c.get_tensor(k).float()
            changed[0] += int((x != z).sum())
            changed[1] += int((y != z).sum())
    fo, fm = changed[0] / max(drawn_total, 1), changed[1] / max(drawn_total, 1)
    same = abs(fo - fm) <= 0.005
    if method in RANDOM:
        return f"changed {fo:.4f} / {fm:.4f}" + (" (same fraction kept)" if same else ""), same
    ok = diff <= 1e-6 and same
    note = f"{diff:.1e}" + (" (equal)" if ok else f", {differing / total:.2%} of entries differ")
    if sampled:
        note += (f" on the rest; {sampled} tensors over 1M entries changed {fo:.4f} / {fm:.4f}"
                 + (" (same fraction)" if same else ""))  # fmt: skip
    return note, ok


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


def _prepared(args, tmp: Path) -> dict[str, Path]:
    """The input folders: built in `tmp`, or with --inputs DIR built once in DIR (a folder per
    kind, recorded in its `folders.json`) and reused."""
    if args.inputs is None:
        return _llama_inputs(tmp, args.dtype) if args.llama_1b else _inputs(tmp)
    where = args.inputs / (f"llama-1b-{args.dtype}" if args.llama_1b else "smollm2")
    record = where / "folders.json"
    if not record.is_file():
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        folders = _llama_inputs(where, args.dtype) if args.llama_1b else _inputs(where)
        record.write_text(json.dumps({k: str(v) for k, v in folders.items()}))
    return {k: Path(v) for k, v in json.loads(record.read_text()).items()}


def _warm(folders: dict[str, Path]) -> None:
    """Read every input file once, so that the first row's tool (ours) does not read from disk
    what the second then finds in the page cache (3 x 4.4 GB with --llama-1b: 22.2 s against
    17.0 for the same linear merge that takes 7 s warm)."""
    for folder in folders.values():
        for f in sorted(folder.glob("*.safetensors")):
            with f.open("rb", buffering=0) as handle:
                while handle.read(64 << 20):
                    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="all", help="comma-separated, or all (default)")
    parser.add_argument("--llama-1b", action="store_true", help="a random ~1B Llama, not SmolLM2")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"),
                        help="--llama-1b's weights (the merges compute in float32)")  # fmt: skip
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)  # kind method folders out
    parser.add_argument("--extract", type=int, metavar="RANK", help="extract-lora at RANK only")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each tool N times, alternating; report the fastest")  # fmt: skip
    parser.add_argument("--inputs", type=Path, metavar="DIR",
                        help="build the inputs in DIR once, reuse them later")  # fmt: skip
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

    ours = {n for n, m in METHODS.items() if isinstance(m, TensorMerge)}
    methods = list(CONFIGS) if args.methods == "all" else args.methods.split(",")
    unknown = [m for m in methods if m not in CONFIGS or m not in ours]
    if unknown:
        parser.error(f"--methods: {', '.join(unknown)} not among {', '.join(CONFIGS)}")
    if args.one:
        kind, method, folders, out = args.one
        folders = {k: Path(v) for k, v in json.loads(folders).items()}
        _one(kind, method, folders, Path(out))
        return 0
    with tempfile.TemporaryDirectory(dir=args.inputs) as tmp:
        tmp = Path(tmp)
        folders = _prepared(args, tmp)
        _warm(folders)
        spec = json.dumps({k: str(v) for k, v in folders.items()})
        print(
            "| method | platypus s | mergekit s | platypus / mergekit CPU s "
            "| platypus peak RSS MB | mergekit peak RSS MB | output (ours vs mergekit) "
            "| target met |\n|---|---:|---:|---|---:|---:|---|---|",
            flush=True,
        )
        for method in methods:
            runs: dict[str, list[dict]] = {"platypus": [], "mergekit": []}
            for _ in range(args.repeat):
                for kind in ("platypus", "mergekit"):
                    out = tmp / f"{kind}-{method}"
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                    # Each tool starts with no dirty pages of earlier writes (the inputs', the
                    # other tool's output) for the kernel to flush while it runs: measured on
                    # --llama-1b's linear, the tool run right after a 4.4 GB write lost 4 s.
                    os.sync()
                    subprocess.run(
                        [sys.executable, __file__, "--one", kind, method, spec, str(out)],
                        check=True,
                        cwd=REPO,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    runs[kind].append(json.loads((out / "bench.json").read_text()))
            # the fastest of the runs (what the machine allows, the other load excluded), the
            # highest peak
            res = {
                kind: {
                    "seconds": min(r["seconds"] for r in rs),
                    "cpu_seconds": min(r["cpu_seconds"] for r in rs),
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                }
                for kind, rs in runs.items()
            }
            mk_dir = tmp / f"mergekit-{method}"
            note, equal = compare(method, tmp / f"platypus-{method}", mk_dir, folders["base"])
            p, m = res["platypus"], res["mergekit"]
            met = {
                "time": p["seconds"] <= m["seconds"],
                "RSS": p["peak_rss_mb"] <= 0.5 * m["peak_rss_mb"],
                "output": equal,
            }
            verdict = (
                "yes"
                if all(met.values())
                else "no: " + ", ".join(k for k, v in met.items() if not v)
            )
            print(
                f"| {method} | {p['seconds']:.1f} | {m['seconds']:.1f} | "
                f"{p['cpu_seconds']:.1f} / {m['cpu_seconds']:.1f} | "
                f"{p['peak_rss_mb']:,.0f} | {m['peak_rss_mb']:,.0f} | {note} | {verdict} |",
                flush=True,
            )
            for kind in ("platypus", "mergekit"):
                shutil.rmtree(tmp / f"{kind}-{method}", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
