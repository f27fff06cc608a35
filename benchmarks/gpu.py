"""GPU benchmark: our trainer (plain, + Liger, padding-free) against HF Trainer + PEFT
(group_by_length) and TRL's SFTTrainer (completion-only, padding-free, Liger) on one GPU, same
rows, model and hyper-parameters, one run; then eval items/s, ours against lm-eval's HF backend.

    python benchmarks/gpu.py --models FOLDER --rows ROWS.jsonl --data-root DATA --out OUT
                             [--size gpu|cpu] [--deadline SECONDS]

Run by scripts/gpu-check.sh (FOLDER from tests/gpu_models.py: SmolLM2's shape and a ~1.2B Llama,
randomly initialised; ROWS: real MATH rows; DATA: ARC and Winogrande). LoRA r16/a16 on
gate/up/down, lr 4e-4 cosine, global batch 16 (micro 4 x accumulation 4), bf16 weights and
autocast on a GPU, max_length 2048. Each run is its own process (Liger patches a model type's
module for the whole process; peak memory is the run's own): tokens/s over training time
counting real tokens, peak GPU memory (`torch.cuda.max_memory_allocated`; peak RSS on the CPU).
A run its library or device refuses is listed with the reason. `--deadline`: no run starts once
that many seconds have passed (the GPU machine's time is counted); what did not run is listed.
Writes OUT/gpu-bench.md (the tables) and OUT/gpu-bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from peers import (
    completion_rows,
    padded_collate,
    peer_args,
    peer_result,
    trainer_rows,
)  # benchmarks/peers.py

REPO = Path(__file__).resolve().parents[1]
OURS = {
    "platypus": {},
    "platypus + liger": {"liger": True},
    "platypus, padding-free": {"batching": "packed"},
}
PEERS = {
    "HF Trainer + PEFT (group_by_length)": "hf",
    "TRL SFTTrainer (completion-only, padding-free, liger)": "trl",
}
# Training rows per model, and eval items per task, by size (cpu: the rehearsal's)
SIZES = {"gpu": {"llama-1b": 96, "smollm2": 160}, "cpu": {"llama-1b": 16, "smollm2": 16}}
EVAL_ITEMS = {"gpu": 20, "cpu": 3}


def _stamp(start: float, message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.monotonic() - start:.0f}s] {message}", flush=True)


def _rows(rows: Path, n: int, out: Path) -> Path:
    lines = [line for line in rows.read_text().splitlines() if line.strip()][:n]
    out.write_text("\n".join(lines) + "\n")
    return out


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _peak_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    from platypus.memory import peak_mb

    return peak_mb()


def run_ours(model: str, data: Path, out: Path, max_length: int, switches: dict) -> dict:
    from platypus.config import TrainConfig
    from platypus.train.loop import train

    config = TrainConfig(model=model, output_dir=str(out), max_length=max_length, val_size=0,
                         resume=False, bf16=True, **switches)  # fmt: skip
    s = train(config, data).summary
    return {"tokens_per_s": s["tokens_per_s"], "train_seconds": s["train_seconds"],
            "steps": s["steps"], "final_loss": s["train_loss_last"]}  # fmt: skip


def _peer_model(model: str, max_length: int, data: Path):
    import torch
    from peft import LoraConfig, get_peft_model

    from platypus.compute import resolve
    from platypus.config import ComputeSettings, TrainConfig
    from platypus.io.records import read_records
    from platypus.models import load_causal_lm
    from platypus.train.examples import tokenize

    lora = TrainConfig().lora  # the same adapter as ours
    torch.manual_seed(42)
    base, tok = load_causal_lm(model, compute=resolve(ComputeSettings()))
    peft = get_peft_model(base, LoraConfig(r=lora.r, lora_alpha=lora.alpha,
                          lora_dropout=lora.dropout, target_modules=lora.target_modules,
                          task_type="CAUSAL_LM"))  # fmt: skip
    examples, _ = tokenize(read_records(data), tok, max_length)
    return peft, tok, examples


def _run_peer_args(steps: int) -> dict:
    """bf16 on the GPU (autocast on the CPU rehearsal, as ours)."""
    return peer_args(steps, bf16=True, use_cpu=_device() == "cpu")


def run_hf(model: str, data: Path, out: Path, max_length: int) -> dict:
    from transformers import Trainer, TrainingArguments

    peft, tok, examples = _peer_model(model, max_length, data)
    rows = trainer_rows(examples)
    steps = -(-len(rows) // 16)
    try:  # transformers 5 names the sampler; older releases had a flag
        args = TrainingArguments(output_dir=str(out), remove_unused_columns=False,
                                 train_sampling_strategy="group_by_length",
                                 **_run_peer_args(steps))  # fmt: skip
    except TypeError:
        args = TrainingArguments(output_dir=str(out), remove_unused_columns=False,
                                 group_by_length=True, **_run_peer_args(steps))  # fmt: skip
    trainer = Trainer(
        model=peft, args=args, train_dataset=rows, data_collator=padded_collate(tok.pad_token_id)
    )
    t0 = time.perf_counter()
    trainer.train()
    return peer_result(trainer, examples, time.perf_counter() - t0)


def run_trl(model: str, data: Path, out: Path, max_length: int) -> dict:
    import importlib.util

    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    peft, tok, examples = _peer_model(model, max_length, data)
    dataset = Dataset.from_list(completion_rows(examples))
    liger = _device() == "cuda" and importlib.util.find_spec("liger_kernel") is not None
    args = SFTConfig(output_dir=str(out), completion_only_loss=True, padding_free=True,
                     use_liger_kernel=liger, max_length=None,
                     **_run_peer_args(-(-len(dataset) // 16)))  # fmt: skip
    trainer = SFTTrainer(model=peft, args=args, train_dataset=dataset, processing_class=tok)
    t0 = time.perf_counter()
    trainer.train()
    return peer_result(trainer, examples, time.perf_counter() - t0) | {"liger": liger}


def child(args) -> int:
    """One measurement in this process."""
    from platypus.errors import PlatypusError

    out = Path(args.out)
    try:
        if args.run in PEERS.values():
            runner = run_hf if args.run == "hf" else run_trl
            result = runner(args.model, Path(args.rows), out, args.max_length)
        else:
            result = run_ours(args.model, Path(args.rows), out, args.max_length,
                              json.loads(args.switches))  # fmt: skip
        result["peak_mb"] = _peak_mb()
    except PlatypusError as exc:  # a switch refused (its library or device missing)
        result = {"refused": str(exc)}
    (out / "result.json").write_text(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=False)
    parser.add_argument("--rows", type=Path)
    parser.add_argument("--data-root", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--size", choices=list(SIZES), default="gpu")
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--eval-items", type=int, help="per task (default: by --size)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one measurement
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--switches", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if args.run:
        return child(args)

    import torch

    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    device = _device()
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    precision = "bf16 weights and autocast" if device == "cuda" else "fp32 weights, bf16 autocast"
    lines = [f"device: {name}; torch {torch.__version__}; max_length {args.max_length}; "
             f"{precision}"]  # fmt: skip
    results: dict = {}
    work = args.out / "work"
    for model, rows in SIZES[args.size].items():
        data = _rows(args.rows, rows, args.out / f"rows-{model}.jsonl")
        lines += ["", f"### {model}: {rows} MATH rows, one epoch", "",
                  "| run | steps | train s | tokens/s | vs fastest peer | peak memory MB "
                  "| final train loss |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        runs = {label: ("ours", sw) for label, sw in OURS.items()}
        runs |= {label: (peer, {}) for label, peer in PEERS.items()}
        measured = {}
        for label, (kind, switches) in runs.items():
            if time.monotonic() - start > args.deadline:
                measured[label] = {"refused": "not run: the benchmark's time was spent"}
                continue
            _stamp(start, f"{model}: {label}")
            out = work / f"{model}-{len(measured)}"
            out.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, __file__, "--run", kind, "--model", str(args.models / model),
                   "--rows", str(data), "--out", str(out), "--max-length", str(args.max_length),
                   "--switches", json.dumps(switches)]  # fmt: skip
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                measured[label] = {"refused": f"failed: {tail[0][:200]}"}
            else:
                measured[label] = json.loads((out / "result.json").read_text())
            _stamp(start, f"  {measured[label]}")
        peers = [r for lb, r in measured.items() if lb in PEERS and "tokens_per_s" in r]
        best = max((r["tokens_per_s"] for r in peers), default=None)
        for label, r in measured.items():
            if "tokens_per_s" not in r:
                lines.append(f"| {label} | | | | | | {r['refused']} |")
                continue
            ratio = f"{r['tokens_per_s'] / best:.2f}x" if best else ""
            loss = f"{r['final_loss']:.4f}" if r.get("final_loss") is not None else ""
            lines.append(f"| {label} | {r['steps']} | {r['train_seconds']:.1f} "
                         f"| {r['tokens_per_s']:.0f} | {ratio} | {r['peak_mb']:.0f} "
                         f"| {loss} |")  # fmt: skip
        results[model] = measured
    if time.monotonic() - start < args.deadline + 60:
        _stamp(start, "eval: ours against lm-eval's HF backend")
        items = args.eval_items or EVAL_ITEMS[args.size]
        cmd = [sys.executable, str(REPO / "benchmarks" / "eval.py"), "--items", str(items),
               "--tasks", "arc_challenge,winogrande", "--data-root",
               str(args.data_root), "--model", str(args.models / "smollm2"), "--device", device,
               "--harness-batch", "8"]  # fmt: skip
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        kept = ("|", "total", "speed", "bf16")  # its tables, totals and captions
        table = [ln for ln in done.stdout.splitlines() if ln.startswith(kept)]
        failed = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        lines += ["", "### eval: SmolLM2's shape, fp32 weights, ours (fp32, bf16 autocast) "
                  "against lm-eval 0.4 (HF backend, batch 8)", ""]  # fmt: skip
        lines += table or [f"failed: {failed}"]
        results["eval"] = table
    (args.out / "gpu-bench.md").write_text("\n".join(lines) + "\n")
    (args.out / "gpu-bench.json").write_text(json.dumps(results, indent=1) + "\n")
    print("\n".join(lines), flush=True)
    _stamp(start, "done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
