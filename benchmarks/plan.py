"""`platypus plan` against what this CPU measures, and each precision's speed: peak memory and
tokens/s of LoRA training steps and of an eval forward pass, for SmolLM2-135M and a randomly
initialised ~1.1B Llama, with fp32 weights, fp32 weights + bf16 autocast, bf16 weights and
4-bit (NF4) weights.

    .venv/bin/python benchmarks/plan.py [--steps 2] [--models smollm2,llama-1b]
                                        [--out benchmarks/results/plan-cpu-2core.md]
    .venv/bin/python benchmarks/plan.py --replan benchmarks/results/plan-cpu-2core.json

The measurements are kept beside the table (.json); --replan rewrites the table from them with
the plan as it is now, without measuring again.

Each measurement runs in its own process and reads that process's own peak RSS (VmHWM), so
imports count (the plan's runtime term) and nothing of another run does. Training: LoRA r16 /
alpha 16 / dropout 0.05 on gate/up/down, AdamW, computing in the row's precision, rows of random
tokens at full length with every position a loss position (the plan's worst micro-batch), the
project's ResponseLoss, the C heap's free pages released after each backward as the trainer
does. 4-bit: bitsandbytes NF4, fp32 compute dtype (what the compute policy picks on a CPU
whose bf16 is not faster), full-precision weights copied out of the checkpoint's memory map as
`platypus.models.load_causal_lm` does. Eval: one no-grad forward pass with the KV cache on
and a log-softmax over the logits in fp32, as the log-likelihood scorer runs it.

bf16 cases use short batches: on a CPU without bf16 instructions (this project's current host)
a bf16 matmul is emulated at well under 1 GFLOP/s, and memory at such shapes is mostly weights,
which is what the bf16 rows check.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# ~1.1B parameters (TinyLlama's shape): 22 layers, hidden 2048, GQA with 4 KV heads.
LLAMA_1B = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                num_attention_heads=32, num_key_value_heads=4, vocab_size=32000,
                max_position_embeddings=2048, tie_word_embeddings=False)  # fmt: skip
TARGETS = ["gate_proj", "up_proj", "down_proj"]
PRECISION_NAMES = {"fp32": "fp32", "autocast": "fp32 + bf16 autocast", "bf16": "bf16",
                   "4bit": "4-bit NF4"}  # fmt: skip


def random_llama(folder: Path) -> Path:
    """A randomly initialised ~1B Llama saved as fp32 safetensors (made once)."""
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**LLAMA_1B))
    model.save_pretrained(folder)
    return folder


def child(case: dict) -> dict:
    """One measurement in this process: {"model", "mode": train|eval, "precision", "batch",
    "length", "steps"} -> peak RSS and timings."""
    import torch

    from platypus.memory import peak_mb, release_free_memory, reset_peak, rss_mb

    torch.manual_seed(0)
    runtime_mb = rss_mb()
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from platypus.models import resolve_causal_lm
    from platypus.models.causal_lm import own_file_backed_weights
    from platypus.train.loss import ResponseLoss

    runtime_mb = max(runtime_mb, rss_mb())
    path = resolve_causal_lm(case["model"])
    precision = case["precision"]  # fp32 | autocast | bf16 | 4bit
    kwargs: dict = {"dtype": torch.bfloat16 if precision == "bf16" else torch.float32}
    if precision == "4bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
        )
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if precision == "4bit":  # as platypus.models.load_causal_lm does
        own_file_backed_weights(model)
    load_s = time.perf_counter() - t0
    loaded_mb, load_peak_mb = rss_mb(), peak_mb()
    # The run's own peak from here: loading a checkpoint stored in another dtype (this one is
    # fp32 on disk) holds its file pages and the converted copy at once, a load-time peak the
    # plan does not count (on a GPU it is host memory, not the device's).
    reset_peak()
    vocab = model.config.vocab_size
    ids = torch.randint(3, vocab, (case["batch"], case["length"]))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "autocast")
    t0 = time.perf_counter()
    if case["mode"] == "eval":
        model.eval()
        with torch.inference_mode(), autocast:
            logits = model(input_ids=ids, use_cache=True).logits
            torch.log_softmax(logits.float(), dim=-1)
        steps = 1
    else:
        lora = LoraConfig(r=16, lora_alpha=16, lora_dropout=0.05, target_modules=TARGETS,
                          task_type="CAUSAL_LM")  # fmt: skip
        model = get_peft_model(model, lora)
        model.train()
        loss_module = ResponseLoss(model)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=4e-4)
        mask = torch.ones_like(ids)
        steps = case["steps"]
        for _ in range(steps):
            with autocast:
                loss, n = loss_module(input_ids=ids, loss_mask=mask)
            (loss / n).backward()
            release_free_memory()  # as the trainer does after each micro-batch on a CPU
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    seconds = (time.perf_counter() - t0) / steps
    return {"peak_mb": peak_mb(), "runtime_mb": runtime_mb, "loaded_mb": loaded_mb,
            "load_peak_mb": load_peak_mb,
            "load_s": load_s, "seconds_per_step": seconds,
            "tokens_per_s": case["batch"] * case["length"] / seconds}  # fmt: skip


def measure(case: dict, timeout: int = 1800) -> dict:
    """`child(case)` in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(case)],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"{case}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _smollm2_arch():
    from platypus.sizing import resolve_arch

    return resolve_arch("smollm2")


def _llama_1b_arch():
    from platypus.sizing import arch_from_config

    return arch_from_config(LLAMA_1B, "Llama ~1.1B")


# model key -> (label in the table, its architecture for the plan, the cases measured:
# (mode, precision, batch, length)); bf16 rows are short, bf16 being emulated on such CPUs
MODELS = {
    "smollm2": ("SmolLM2-135M", _smollm2_arch, [
        ("train", "fp32", 4, 256), ("train", "autocast", 1, 32), ("train", "bf16", 1, 32),
        ("train", "4bit", 4, 256), ("eval", "fp32", 8, 512), ("eval", "autocast", 1, 64),
        ("eval", "bf16", 1, 64), ("eval", "4bit", 8, 512),
    ]),
    "llama-1b": ("Llama ~1.1B (random)", _llama_1b_arch, [
        ("train", "fp32", 2, 256), ("train", "autocast", 1, 32), ("train", "bf16", 1, 32),
        ("train", "4bit", 2, 256), ("eval", "fp32", 4, 512), ("eval", "autocast", 1, 16),
        ("eval", "bf16", 1, 16), ("eval", "4bit", 4, 512),
    ]),
}  # fmt: skip


def planned_gb(case: dict) -> float:
    """What `platypus plan` says for the same model, precision and shape on the CPU."""
    from platypus.config import ComputeSettings
    from platypus.sizing import eval_memory, hardware, train_memory

    arch = MODELS[case["model_key"]][1]()
    precision = case["precision"]
    compute = ComputeSettings(
        device="cpu",
        dtype="bfloat16" if precision == "bf16" else "float32",
        quantization="4bit" if precision == "4bit" else "none",
    )
    hw = hardware("cpu", cpu_tflops=1.0)
    autocast = precision == "autocast"
    if case["mode"] == "eval":
        mem = eval_memory(arch, compute=compute, hw=hw, batch=case["batch"],
                          length=case["length"], autocast=autocast)  # fmt: skip
    else:
        mem = train_memory(arch, compute=compute, hw=hw, micro_batch=case["batch"],
                           length=case["length"], autocast=autocast, checkpointing=False,
                           lora_r=16, lora_targets=TARGETS, lora_dropout=0.05)  # fmt: skip
    return sum(mem.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--models", default="smollm2,llama-1b", help="comma-separated subset")
    parser.add_argument("--only", help="comma-separated mode:precision, e.g. train:bf16")
    parser.add_argument("--replan", metavar="JSON", help="re-plan stored measurements")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/plan-cpu-2core.md"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.replan:  # the stored measurements against the plan as it is now
        write_table(json.loads(Path(args.replan).read_text()), args)
        return
    cases = []
    for key in args.models.split(","):
        label, _, shapes = MODELS[key]
        model = key
        if key == "llama-1b":  # built once, kept in the temporary folder
            model = str(random_llama(Path(tempfile.gettempdir()) / "platypus-bench-llama-1b"))
        cases += [(label, key, model, *shape) for shape in shapes]
    if args.only:  # e.g. train:bf16,eval:4bit
        wanted = set(args.only.split(","))
        cases = [c for c in cases if f"{c[3]}:{c[4]}" in wanted]
    measured = []
    for label, key, model, mode, precision, batch, length in cases:
        case = dict(model=model, model_key=key, mode=mode, precision=precision,
                    batch=batch, length=length, steps=args.steps)  # fmt: skip
        try:
            got = measure(case)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"{label} {mode} {precision}: failed: {exc}", flush=True)
            continue
        print(f"{label} {mode} {precision} {batch}x{length}: measured {got['peak_mb']:,.0f} MB, "
              f"{got['seconds_per_step']:.1f} s/step, {got['tokens_per_s']:.1f} tokens/s",
              flush=True)  # fmt: skip
        measured.append({"label": label, "case": case, "got": got})
        Path(args.out).with_suffix(".json").write_text(json.dumps(measured, indent=1) + "\n")
    write_table(measured, args)


def write_table(measured: list[dict], args) -> None:
    """The markdown table: each measurement against what the plan says today."""
    rows = []
    for m in measured:
        case, got = m["case"], m["got"]
        plan = planned_gb(case) * 1024
        err = plan / got["peak_mb"] - 1
        rows.append((m["label"], case["mode"], PRECISION_NAMES[case["precision"]], case["batch"],
                     case["length"], plan, got, err))  # fmt: skip
    steps = measured[0]["case"]["steps"] if measured else args.steps
    models = ",".join(dict.fromkeys(m["case"]["model_key"] for m in measured))
    lines = [
        "# `platypus plan` vs measured peak memory, 2-core CPU",
        "",
        f"`.venv/bin/python benchmarks/plan.py --steps {steps} --models {models}`; "
        "each row its own process; measured peak = VmHWM from the end of loading (imports "
        "and weights included; the load's own peak is its own column). Training: LoRA r16 on "
        "gate/up/down, AdamW, rows at full length, every position a loss position. Eval: one "
        "no-grad forward with the KV cache. tokens/s: batch x length over seconds per step "
        "(training) or per forward (eval).",
        "",
        "| model | stage | weights | batch x length | planned | measured peak | plan error "
        "| after imports | after load | load peak | s/step | tokens/s |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, mode, quant, batch, length, plan, got, err in rows:
        lines.append(
            f"| {label} | {mode} | {quant} | {batch} x {length} | {plan:,.0f} MB | "
            f"{got['peak_mb']:,.0f} MB | {err:+.0%} | {got['runtime_mb']:,.0f} MB | "
            f"{got['loaded_mb']:,.0f} MB | {got['load_peak_mb']:,.0f} MB | "
            f"{got['seconds_per_step']:.1f} | "
            f"{got['tokens_per_s']:.1f} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
