"""Training benchmark: `platypus train` against the peers' best settings: HF Trainer + PEFT
(padded batches as they come, and length-grouped: `train_sampling_strategy="group_by_length"`)
and TRL's SFTTrainer (completion-only loss, padding-free batches), same model, same tokens, same
hyper-parameters, same machine, one run.

    .venv/bin/python benchmarks/train.py [--rows 320] [--max-length 512] [--bf16 auto|yes|no]

Data: the first --rows MATH rows of the real build (../shared/data), Alpaca template, loss on
the response only, 32 held out. Model: SmolLM2-135M-Instruct, LoRA r16/a16 on gate/up/down,
lr 4e-4 cosine, global batch 16 (micro 4 x accumulation 4), one epoch, bf16 autocast for every
run or for none (`--bf16 auto`: as `bf16: auto` decides on this host, by the CPU probe). Each run
is its own process so peak RSS is its own. Both adapters' held-out loss is measured by the same
code afterwards. Tokens/s counts real (non-padding) tokens over training time.

"of matmul peak" puts each run against the ceiling of this machine: the useful FLOPs of its
real tokens (`platypus.sizing.train_flops`: forward plus the backward through the activations a
LoRA run needs, the LM head at every position) per second, over a large matrix multiply's
FLOP/s in the same precision measured at the start. A trainer can only beat another by wasting
less (padding, logits at prompt positions), so at a high share 1.5x is out of reach.
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

from peers import (
    completion_rows,
    padded_collate,
    peer_args,
    peer_result,
    trainer_rows,
)  # benchmarks/peers.py

REPO = Path(__file__).resolve().parents[1]
HELD_OUT = 32


def _rows(tmp: Path, rows: int) -> Path:
    from platypus.config import BuildConfig, SourceConfig
    from platypus.data.build import build
    from platypus.data.sources import SOURCES

    sources = {n: SourceConfig(enabled=n == "math") for n in SOURCES}
    result = build(BuildConfig(output_dir=str(tmp / "build"), sources=sources,
                               data_root=str(REPO.parent / "shared" / "data")))  # fmt: skip
    lines = result.paths["jsonl"].read_text().splitlines()[:rows]
    path = tmp / "math.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def ours(data: Path, out: Path, max_length: int, batching: str, bf16: bool,
         release: bool = True) -> dict:  # fmt: skip
    from platypus.config import TrainConfig
    from platypus.train.loop import train

    config = TrainConfig(output_dir=str(out), max_length=max_length, val_size=HELD_OUT,
                         batching=batching, resume=False, bf16=bf16,
                         cpu_release_memory=release)  # fmt: skip
    s = train(config, data).summary
    return {"tokens_per_s": s["tokens_per_s"], "train_seconds": s["train_seconds"],
            "final_loss": s["train_loss_last"],
            "adapter": str(out / "adapter"), "steps": s["steps"]}  # fmt: skip


def _peer_setup(data: Path, max_length: int):
    """The peers' model (LoRA as ours) and our exact training tokens, so only the trainer
    differs."""
    import torch
    from peft import LoraConfig, get_peft_model

    from platypus.io.records import read_records
    from platypus.models import load_causal_lm
    from platypus.train.examples import tokenize
    from platypus.train.loop import split_validation

    torch.manual_seed(42)
    model, tok = load_causal_lm()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.05,
                           target_modules=["gate_proj", "up_proj", "down_proj"],
                           task_type="CAUSAL_LM"))  # fmt: skip
    train_rows, _ = split_validation(read_records(data), HELD_OUT, 42)
    examples, _ = tokenize(train_rows, tok, max_length)
    return model, tok, examples


def _peer_result(trainer, model, examples, seconds: float, out: Path) -> dict:
    model.save_pretrained(out / "adapter")
    return peer_result(trainer, examples, seconds) | {"adapter": str(out / "adapter")}


def trl_sft(data: Path, out: Path, max_length: int, bf16: bool) -> dict:
    """TRL's SFTTrainer at its best setting here: the same token ids with a completion mask
    (completion-only loss) and padding-free batches (sequences concatenated, position ids mark
    the boundaries)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, tok, examples = _peer_setup(data, max_length)
    dataset = Dataset.from_list(completion_rows(examples))
    steps = -(-len(dataset) // 16)
    # max_length None: the ids are already cut to max_length (TRL enforces it only with packing)
    args = SFTConfig(output_dir=str(out), completion_only_loss=True, padding_free=True,
                     max_length=None, **peer_args(steps, bf16, use_cpu=True))  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok)
    t0 = time.perf_counter()
    trainer.train()
    return _peer_result(trainer, model, examples, time.perf_counter() - t0, out)


def hf_trainer(data: Path, out: Path, max_length: int, bf16: bool, group_by_length=False) -> dict:
    from transformers import Trainer, TrainingArguments

    model, tok, examples = _peer_setup(data, max_length)
    dataset = trainer_rows(examples)
    steps = -(-len(dataset) // 16)
    sampling = "group_by_length" if group_by_length else "random"
    args = TrainingArguments(output_dir=str(out), remove_unused_columns=False,
                             train_sampling_strategy=sampling,
                             **peer_args(steps, bf16, use_cpu=True))  # fmt: skip
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=padded_collate(tok.pad_token_id),
    )
    t0 = time.perf_counter()
    trainer.train()
    return _peer_result(trainer, model, examples, time.perf_counter() - t0, out)


def held_out_loss(data: Path, adapter: str, max_length: int) -> float:
    import torch
    from peft import PeftModel

    from platypus.io.records import read_records
    from platypus.models import load_causal_lm
    from platypus.train.examples import tokenize
    from platypus.train.loop import split_validation
    from platypus.train.loss import ResponseLoss
    from platypus.train.plan import collate

    model, tok = load_causal_lm()
    model = PeftModel.from_pretrained(model, adapter).eval()
    _, val = split_validation(read_records(data), HELD_OUT, 42)
    examples, _ = tokenize(val, tok, max_length)
    loss = ResponseLoss(model)
    total = n = 0.0
    with torch.no_grad():
        for e in examples:
            s, k = loss(**collate([e], tok.pad_token_id, packed=False))
            total, n = total + float(s), n + k
    return total / n


# The op classes of the profile, each a test on one profiled op (its name, input shapes, the
# names above it); the first that matches takes the op's own time.
LORA_RANK, VOCAB = 16, 49152
MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::linear",
           "aten::matmul"}  # fmt: skip
COPIES = {"aten::copy_", "aten::_to_copy", "aten::to", "aten::clone", "aten::contiguous"}
ALLOCATIONS = {"aten::empty", "aten::empty_strided", "aten::zeros", "aten::zero_", "aten::fill_",
               "aten::resize_", "aten::empty_like", "aten::zeros_like"}  # fmt: skip


def useful_flops_per_s(tokens: float, rows: int, seconds: float) -> float:
    """The useful FLOPs per second of a LoRA run of SmolLM2 over `tokens` real tokens in `rows`
    rows (`platypus.sizing.train_flops`: their mean length prices attention)."""
    from platypus.sizing import resolve_arch, train_flops

    arch = resolve_arch("smollm2")
    return train_flops(arch, tokens, tokens / rows, checkpointing=False) / seconds


def _op_class(name: str, shapes, above: list[str]) -> str:
    if any(a.startswith("Optimizer.") for a in above) or name.startswith("Optimizer."):
        return "optimizer (AdamW, zero_grad)"
    if "data" in above:
        return "data (collate, to device)"
    if any("scaled_dot_product" in a or "flash_attention" in a for a in [name, *above]):
        return "attention (sdpa forward + backward)"
    if name in MATMULS:
        dims = {d for s in shapes or [] for d in (s or [])}
        if VOCAB in dims:
            return "LM head (response positions)"
        if LORA_RANK in dims:
            return "LoRA matmuls (rank 16)"
        return "frozen matmuls (q/k/v/o, gate/up/down)"
    if name in COPIES:
        return "dtype casts and copies"
    if name in ALLOCATIONS:
        return "allocation and zero-fill"
    return "norms, activations, other elementwise"


def profile_steps(data: Path, out: Path, max_length: int, bf16: bool, steps: int) -> None:
    """Profile `steps` optimizer steps of our trainer (after one unprofiled warm-up step) and
    print where the time goes by op class, each op's own time, against the steps' wall time."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from platypus.config import TrainConfig
    from platypus.sizing import probe_cpu_tflops
    from platypus.train import recipe as recipe_module

    config = TrainConfig(output_dir=str(out), max_length=max_length, val_size=HELD_OUT,
                         batching="length_grouped", resume=False, bf16=bf16)  # fmt: skip
    recipe = recipe_module.LoraRecipe(config, data)
    recipe.setup()
    recipe.loss_module.train()
    collate = recipe_module.collate

    def labelled_collate(*args, **kwargs):
        with record_function("data"):
            return collate(*args, **kwargs)

    recipe_module.collate = labelled_collate
    recipe.train_step(0)  # warm-up: first-touch pages, the autocast and allocator caches
    tokens0, seconds0 = recipe.tokens_seen, recipe.train_seconds
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for step in range(1, 1 + steps):
            recipe.train_step(step)
    wall = recipe.train_seconds - seconds0
    tokens = recipe.tokens_seen - tokens0
    rows = sum(len(recipe.steps[step]) for step in range(1, 1 + steps))
    totals: dict[str, float] = {}
    for event in prof.events():
        above, parent = [], event.cpu_parent
        while parent is not None:
            above.append(parent.name)
            parent = parent.cpu_parent
        group = _op_class(event.name, event.input_shapes, above)
        totals[group] = totals.get(group, 0.0) + event.self_cpu_time_total / 1e6
    in_ops = sum(totals.values())
    totals["outside torch ops (Python, heap release)"] = max(0.0, wall - in_ops)
    peak = probe_cpu_tflops(bf16=bf16, size=2048, seconds=3.0)
    useful = useful_flops_per_s(tokens, rows, wall)
    precision = "bf16 autocast" if bf16 else "fp32"
    print(f"{steps} optimizer steps after one warm-up ({tokens} tokens, {precision}), profiled "
          f"wall {wall:.1f} s (the profiler adds its own cost); useful FLOPs "
          f"{useful / 1e9:.0f} GFLOP/s = {useful / (peak * 1e12):.0%} of a "
          f"2048^3 matmul's {peak * 1e3:.0f} GFLOP/s\n")  # fmt: skip
    print("| op class | seconds | share of wall |")
    print("|---|---:|---:|")
    for group, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {group} | {seconds:.1f} | {seconds / wall:.0%} |")
    print("\nTop ops by own time:\n")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=320)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--only", help="comma-separated runs: hf,hf-grouped,trl,"
                        "ours:length_grouped,ours:length_grouped:keep-heap,"
                        "ours:packed")  # fmt: skip
    parser.add_argument("--bf16", choices=["auto", "yes", "no"], default="auto",
                        help="bf16 autocast for every run (auto: where the CPU probe finds it "
                        "faster, as `bf16: auto`)")  # fmt: skip
    parser.add_argument(
        "--profile",
        type=int,
        metavar="STEPS",
        help="profile STEPS optimizer steps of ours by op class instead",
    )
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one measurement
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.run:
        from platypus.memory import peak_mb, reset_peak

        reset_peak()
        data, out = Path(args.data), Path(args.out)
        bf16 = args.bf16 == "yes"  # the parent resolved auto
        if args.run == "hf":
            result = hf_trainer(data, out, args.max_length, bf16)
        elif args.run == "hf-grouped":
            result = hf_trainer(data, out, args.max_length, bf16, group_by_length=True)
        elif args.run == "trl":
            result = trl_sft(data, out, args.max_length, bf16)
        else:  # ours:<batching>[:keep-heap]
            parts = args.run.split(":")
            result = ours(data, out, args.max_length, parts[1], bf16,
                          release=parts[2:] != ["keep-heap"])  # fmt: skip
        result["peak_rss_mb"] = peak_mb()
        (out / "result.json").write_text(json.dumps(result))
        return 0

    if args.bf16 == "auto":  # what training's `bf16: auto` becomes on this CPU
        from platypus.config import TrainConfig
        from platypus.sizing import train_autocast

        args.bf16 = "yes" if train_autocast(TrainConfig(bf16="auto"), gpu=False) else "no"
    from platypus.sizing import probe_cpu_tflops

    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            data = _rows(Path(tmp), args.rows)
            profile_steps(data, Path(tmp) / "out", args.max_length, args.bf16 == "yes",
                          args.profile)  # fmt: skip
        return 0
    peak_tflops = probe_cpu_tflops(bf16=args.bf16 == "yes", size=2048, seconds=3.0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = _rows(tmp, args.rows)
        runs = {"HF Trainer + PEFT": "hf", "HF Trainer + PEFT (group_by_length)": "hf-grouped",
                "TRL SFTTrainer (completion-only, padding-free)": "trl",
                "platypus (length-grouped)": "ours:length_grouped",
                "platypus (length-grouped, cpu_release_memory: false)":
                    "ours:length_grouped:keep-heap",
                "platypus (packed)": "ours:packed"}  # fmt: skip
        if args.only:
            runs = {k: v for k, v in runs.items() if v in args.only.split(",")}
        results = {}
        for label, run in runs.items():
            out = tmp / run.replace(":", "-")
            out.mkdir()
            cmd = [sys.executable, __file__, "--run", run, "--data", str(data), "--out", str(out),
                   "--max-length", str(args.max_length), "--bf16", args.bf16]  # fmt: skip
            subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
            results[label] = json.loads((out / "result.json").read_text())
            results[label]["held_out"] = held_out_loss(data, results[label]["adapter"],
                                                       args.max_length)  # fmt: skip
        # Speed-ups are against the fastest peer of this run (the target: >= 1.5x its tokens/s
        # at equal held-out loss).
        peers = [r for label, r in results.items() if not label.startswith("platypus")]
        base = max(peers or results.values(), key=lambda r: r["tokens_per_s"])
        autocast = "bf16 autocast" if args.bf16 == "yes" else "fp32"
        print(f"rows {args.rows} ({HELD_OUT} held out), max_length {args.max_length}, {autocast}; "
              f"matmul peak of this machine {peak_tflops * 1e3:.0f} GFLOP/s "
              f"({'bf16' if args.bf16 == 'yes' else 'fp32'}, 2048^3)\n")  # fmt: skip
        print("| run | steps | train s | tokens/s | vs fastest peer | of matmul peak | peak RSS MB "
              "| final train loss | held-out loss |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        trained_rows = args.rows - HELD_OUT
        for label, r in results.items():
            tokens = r["tokens_per_s"] * r["train_seconds"]
            useful = useful_flops_per_s(tokens, trained_rows, r["train_seconds"])
            share = useful / (peak_tflops * 1e12)
            print(f"| {label} | {r['steps']} | {r['train_seconds']:.1f} | {r['tokens_per_s']:.0f} "
                  f"| {r['tokens_per_s'] / base['tokens_per_s']:.2f}x | {share:.0%} "
                  f"| {r['peak_rss_mb']:.0f} | {r['final_loss']:.4f} "
                  f"| {r['held_out']:.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
