"""`platypus plan` against what this CPU measures: peak memory of LoRA training steps and of an
eval forward pass, for SmolLM2-135M and a randomly initialised ~1B Llama, fp32 and 4-bit.

    .venv/bin/python benchmarks/plan.py [--steps 2] [--out benchmarks/results/plan-cpu-2core.md]

Each measurement runs in its own process and reads that process's own peak RSS (VmHWM), so
imports count (the plan's runtime term) and nothing of another run does. Training: LoRA r16 /
alpha 16 / dropout 0.05 on gate/up/down, AdamW, fp32 compute (no autocast), rows of random
tokens at full length with every position a loss position (the plan's worst micro-batch), the
project's ResponseLoss. 4-bit: bitsandbytes NF4, fp32 compute dtype. Eval: one no-grad forward
pass with the KV cache on and a log-softmax over the logits, as the log-likelihood scorer
runs it.
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
    """One measurement in this process: {"model", "mode": train|eval, "quant", "batch",
    "length", "steps"} -> peak RSS and timings."""
    import torch

    from platypus.memory import peak_mb, rss_mb

    torch.manual_seed(0)
    runtime_mb = rss_mb()
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from platypus.models import resolve_causal_lm
    from platypus.train.loss import ResponseLoss

    runtime_mb = max(runtime_mb, rss_mb())
    path = resolve_causal_lm(case["model"])
    kwargs: dict = {"dtype": torch.float32}
    if case["quant"] == "4bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
        )
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    load_s = time.perf_counter() - t0
    loaded_mb = rss_mb()
    vocab = model.config.vocab_size
    ids = torch.randint(3, vocab, (case["batch"], case["length"]))
    t0 = time.perf_counter()
    if case["mode"] == "eval":
        model.eval()
        with torch.no_grad():
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
            loss, n = loss_module(input_ids=ids, loss_mask=mask)
            (loss / n).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    seconds = (time.perf_counter() - t0) / steps
    return {"peak_mb": peak_mb(), "runtime_mb": runtime_mb, "loaded_mb": loaded_mb,
            "load_s": load_s, "seconds_per_step": seconds}  # fmt: skip


def measure(case: dict, timeout: int = 1800) -> dict:
    """`child(case)` in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(case)],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"{case}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def planned_gb(case: dict) -> float:
    """What `platypus plan` says for the same model, precision and shape on the CPU."""
    from platypus.config import ComputeSettings
    from platypus.plan import eval_memory, hardware, resolve_arch, train_memory

    arch = resolve_arch(case["model"])
    compute = ComputeSettings(device="cpu", dtype="float32", quantization=case["quant"])
    hw = hardware("cpu", cpu_tflops=1.0)
    if case["mode"] == "eval":
        mem = eval_memory(arch, compute=compute, hw=hw, batch=case["batch"],
                          length=case["length"], autocast=False)  # fmt: skip
    else:
        mem = train_memory(arch, compute=compute, hw=hw, micro_batch=case["batch"],
                           length=case["length"], autocast=False, checkpointing=False,
                           lora_r=16, lora_targets=TARGETS, lora_dropout=0.05)  # fmt: skip
    return sum(mem.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/plan-cpu-2core.md"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    tmp = Path(tempfile.mkdtemp(prefix="plan-bench-"))
    llama = str(random_llama(tmp / "llama-1b"))
    cases = [
        ("SmolLM2-135M", "smollm2", "train", "none", 4, 256),
        ("SmolLM2-135M", "smollm2", "train", "4bit", 4, 256),
        ("SmolLM2-135M", "smollm2", "eval", "none", 8, 512),
        ("Llama ~1.1B (random)", llama, "train", "none", 2, 256),
        ("Llama ~1.1B (random)", llama, "train", "4bit", 2, 256),
        ("Llama ~1.1B (random)", llama, "eval", "none", 4, 512),
        ("Llama ~1.1B (random)", llama, "eval", "4bit", 4, 512),
    ]
    rows = []
    for label, model, mode, quant, batch, length in cases:
        case = dict(model=model, mode=mode, quant=quant, batch=batch, length=length,
                    steps=args.steps)  # fmt: skip
        got = measure(case)
        plan = planned_gb(case) * 1024
        err = plan / got["peak_mb"] - 1
        rows.append((label, mode, "fp32" if quant == "none" else "4-bit NF4", batch, length,
                     plan, got, err))  # fmt: skip
        print(f"{label} {mode} {quant} {batch}x{length}: planned {plan:,.0f} MB, measured "
              f"{got['peak_mb']:,.0f} MB ({err:+.0%}), {got['seconds_per_step']:.1f} s/step",
              flush=True)  # fmt: skip
    lines = [
        "# `platypus plan` vs measured peak memory, 2-core CPU",
        "",
        f"`.venv/bin/python benchmarks/plan.py --steps {args.steps}`; each row its own process "
        "(peak RSS = VmHWM, imports included). Training: LoRA r16 on gate/up/down, AdamW, fp32 "
        "compute, rows at full length, every position a loss position. Eval: one no-grad "
        "forward with the KV cache.",
        "",
        "| model | stage | weights | batch x length | planned | measured peak | plan error "
        "| after imports | after load | s/step |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, mode, quant, batch, length, plan, got, err in rows:
        lines.append(
            f"| {label} | {mode} | {quant} | {batch} x {length} | {plan:,.0f} MB | "
            f"{got['peak_mb']:,.0f} MB | {err:+.0%} | {got['runtime_mb']:,.0f} MB | "
            f"{got['loaded_mb']:,.0f} MB | {got['seconds_per_step']:.1f} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
