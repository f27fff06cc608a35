"""`platypus train`: LoRA fine-tuning in plain PyTorch, with accelerate for processes and mixed
precision.

The loss of an optimizer step is the mean over all response tokens of its global batch,
whatever the split into micro-batches and processes: each micro-batch contributes its summed
loss divided by the step's token count (known in advance from the plan), times the number of
processes because DDP averages gradients. So 1 and N processes compute the same update.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from platypus import __version__
from platypus.config import TrainConfig
from platypus.data.io import read_records
from platypus.data.readers import iter_jsonl
from platypus.errors import PlatypusError
from platypus.memory import peak_mb, reset_peak
from platypus.train import checkpoint
from platypus.train.examples import Example, tokenize
from platypus.train.loss import ResponseLoss
from platypus.train.plan import collate, micro_batches, plan_steps

# Settings that may change between an interrupted run and its resumption.
RESUMABLE = {"output_dir", "resume", "save_every", "eval_every"}


@dataclass
class TrainResult:
    output_dir: Path
    adapter_dir: Path
    summary: dict


def split_validation(records: list, val_size: int, seed: int) -> tuple[list, list]:
    if val_size == 0:
        return records, []
    if val_size * 2 > len(records):
        raise PlatypusError(
            f"val_size {val_size} is more than half of the {len(records)} rows; lower it"
        )
    held = set(random.Random(seed).sample(range(len(records)), val_size))
    train = [r for i, r in enumerate(records) if i not in held]
    return train, [r for i, r in enumerate(records) if i in held]


def check_targets(model, targets: list[str]) -> None:
    linear = sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear)
        }
    )
    missing = [t for t in targets if t not in linear]
    if missing:
        raise PlatypusError(
            f"lora.target_modules {missing} are not linear layers of this model; "
            f"it has: {', '.join(linear)}"
        )


def warmup_for(config: TrainConfig, total: int) -> int:
    return min(config.warmup_steps, int(config.warmup_max_fraction * total))


def config_hash(config: TrainConfig, input_hash: str) -> str:
    fields = config.model_dump(exclude=RESUMABLE)
    return hashlib.sha256(json.dumps([fields, input_hash], sort_keys=True).encode()).hexdigest()


def train(config: TrainConfig, input_path: str | Path) -> TrainResult:
    from accelerate import Accelerator
    from peft import (
        LoraConfig,
        get_peft_model,
        get_peft_model_state_dict,
        set_peft_model_state_dict,
    )
    from transformers import get_scheduler

    from platypus.hashing import file_sha256
    from platypus.models import load_causal_lm

    reset_peak()
    input_path = Path(input_path)
    records = read_records(input_path)  # DataError (one line) for missing/empty/bad files
    if config.limit and config.limit < len(records):
        # A seeded sample in file order: the first N rows of a build are often one source.
        keep = set(random.Random(config.seed).sample(range(len(records)), config.limit))
        records = [r for i, r in enumerate(records) if i in keep]
    train_rows, val_rows = split_validation(records, config.val_size, config.seed)

    # Autocast is applied here rather than through Accelerator(mixed_precision=...): accelerate's
    # state is per process and refuses a second, different setting (tests, notebooks).
    # cpu=True is what makes accelerate join torchrun's process group without a GPU (gloo).
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    world, rank = accelerator.num_processes, accelerator.process_index
    per_step = config.micro_batch_size * world
    if config.global_batch_size % per_step:
        raise PlatypusError(
            f"global_batch_size {config.global_batch_size} is not a multiple of "
            f"micro_batch_size x processes = {config.micro_batch_size} x {world}"
        )
    main = accelerator.is_main_process
    out = Path(config.output_dir)

    torch.manual_seed(config.seed)  # the same LoRA initialisation in every process
    model, tokenizer = load_causal_lm(config.model)
    check_targets(model, config.lora.target_modules)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    if config.gradient_checkpointing:
        model.get_base_model().gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False}
        )
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )

    examples, counts = tokenize(train_rows, tokenizer, config.max_length, config.overlong)
    val_examples, _ = tokenize(val_rows, tokenizer, config.max_length, config.overlong)
    if not examples:
        raise PlatypusError(f"{input_path}: no training examples left ({dict(counts)})")
    lengths = [len(e.ids) for e in examples]
    steps = plan_steps(
        lengths, config.global_batch_size, config.epochs, config.seed, config.batching
    )
    if config.max_steps:
        steps = steps[: config.max_steps]
    total = len(steps)
    warmup = warmup_for(config, total)

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_scheduler(config.lr_scheduler, optimizer, warmup, total)
    loss_module = ResponseLoss(model)
    if config.compile:
        loss_module = torch.compile(loss_module)
    loss_module, optimizer = accelerator.prepare(loss_module, optimizer)
    packed = config.batching == "packed"
    device_type = accelerator.device.type
    autocast = torch.autocast(device_type, dtype=torch.bfloat16) if config.bf16 else nullcontext()

    def run_micro(batch_examples: list[Example], module=None):
        batch = collate(batch_examples, pad_id, packed)
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with autocast:
            return (module or loss_module)(**batch)

    def validation_loss() -> float | None:
        if not val_examples:
            return None
        loss_module.eval()
        # The unwrapped module: processes may run different numbers of validation batches, and
        # the DDP wrapper's forward would wait for the others.
        inner = accelerator.unwrap_model(loss_module)
        totals = torch.zeros(2, dtype=torch.float64, device=accelerator.device)
        order = sorted(range(len(val_examples)), key=lambda i: -len(val_examples[i].ids))
        chunks = [order[s : s + config.micro_batch_size]
                  for s in range(0, len(order), config.micro_batch_size)]  # fmt: skip
        with torch.no_grad():
            for j in range(rank, len(chunks), world):
                loss_sum, n = run_micro([val_examples[i] for i in chunks[j]], inner)
                totals += torch.tensor(
                    [float(loss_sum), n], dtype=torch.float64, device=totals.device
                )
        totals = accelerator.reduce(totals, "sum")
        loss_module.train()
        return float(totals[0] / totals[1])

    input_hash = file_sha256(input_path)
    fingerprint = config_hash(config, input_hash)
    start, state = 0, {}
    resume_from = checkpoint.latest(out) if config.resume else None
    if resume_from is not None:
        adapter, opt_state, sched_state, state = checkpoint.load(resume_from, rank)
        if state.get("config_hash") != fingerprint:
            raise PlatypusError(
                f"{resume_from}: checkpoint of a different run (config or data changed); "
                "use a new output_dir or resume: false"
            )
        set_peft_model_state_dict(accelerator.unwrap_model(loss_module).model, adapter)
        optimizer.load_state_dict(opt_state)
        scheduler.load_state_dict(sched_state)
        start = state["step"]
    elif main and (out / "checkpoints").exists():
        import shutil

        shutil.rmtree(out / "checkpoints")
    accelerator.wait_for_everyone()
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.jsonl"
    history = _read_metrics(metrics_path, start) if start else []
    if main:
        metrics_path.write_text("".join(json.dumps(m) + "\n" for m in history))
        (out / "train_config.json").write_text(
            json.dumps({"config": config.model_dump(), "input": str(input_path),
                        "input_sha256": input_hash, "version": __version__}, indent=1)
        )  # fmt: skip

    def log(entry: dict) -> None:
        history.append(entry)
        if main:
            with metrics_path.open("a") as f:
                f.write(json.dumps(entry) + "\n")

    val_start = state.get("val_loss_start") if start else validation_loss()
    if start == 0 and val_start is not None:
        log({"step": 0, "val_loss": val_start})

    loss_module.train()
    tokens_seen = state.get("tokens", 0)
    train_seconds = state.get("train_seconds", 0.0)
    bar = tqdm(total=total, initial=start, desc="train", unit=" steps", disable=not main or None)
    for step in range(start, total):
        t0 = time.perf_counter()
        chunks = micro_batches(steps[step], lengths, config.micro_batch_size, world)
        mine = chunks[rank::world]
        step_tokens = sum(examples[i].response_tokens for i in steps[step])
        step_loss = torch.zeros((), dtype=torch.float64, device=accelerator.device)
        for j, chunk in enumerate(mine):
            weight = 1.0
            if not chunk:  # keeps every process in step with the collective ops
                chunk, weight = [steps[step][0]], 0.0
            last = j == len(mine) - 1
            with nullcontext() if last else accelerator.no_sync(loss_module):
                loss_sum, _ = run_micro([examples[i] for i in chunk])
                accelerator.backward(loss_sum * (weight * world / step_tokens))
            step_loss += float(loss_sum.detach()) * weight
        grad_norm = None
        if config.max_grad_norm:
            grad_norm = float(accelerator.clip_grad_norm_(params, config.max_grad_norm))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step_loss = float(accelerator.reduce(step_loss, "sum")) / step_tokens
        train_seconds += time.perf_counter() - t0
        tokens_seen += sum(lengths[i] for i in steps[step])
        done = step + 1
        entry = {"step": done, "loss": step_loss, "lr": scheduler.get_last_lr()[0],
                 "grad_norm": grad_norm, "tokens": tokens_seen,
                 "tokens_per_s": tokens_seen / train_seconds}  # fmt: skip
        if config.eval_every and done % config.eval_every == 0 and done < total:
            entry["val_loss"] = validation_loss()
        log(entry)
        bar.update(1)
        bar.set_postfix(loss=f"{step_loss:.4f}", tok_s=f"{entry['tokens_per_s']:.0f}")
        if config.save_every and done % config.save_every == 0 and done < total:
            folder = checkpoint.checkpoint_dir(out, done)
            accelerator.wait_for_everyone()
            checkpoint.save_rng(folder, rank)
            accelerator.wait_for_everyone()
            if main:
                adapter = get_peft_model_state_dict(accelerator.unwrap_model(loss_module).model)
                checkpoint.save(folder, adapter, optimizer, scheduler, {
                    "step": done, "config_hash": fingerprint, "tokens": tokens_seen,
                    "train_seconds": train_seconds, "val_loss_start": val_start,
                })  # fmt: skip
            accelerator.wait_for_everyone()
    bar.close()

    val_end = validation_loss()
    peak = _peak_memory_mb(accelerator)
    adapter_dir = out / "adapter"
    summary = {
        "steps": total,
        "examples": len(examples),
        "validation_examples": len(val_examples),
        "rows": len(records),
        "tokenize": dict(counts),
        "processes": world,
        "warmup_steps": warmup,
        "tokens": tokens_seen,
        "train_seconds": round(train_seconds, 2),
        "tokens_per_s": round(tokens_seen / max(train_seconds, 1e-9), 1),
        "peak_memory_mb": peak,
        "val_loss_start": val_start,
        "val_loss_end": val_end,
        "train_loss_last": history[-1]["loss"] if history and "loss" in history[-1] else None,
        "resumed_from_step": start or None,
        "config_hash": fingerprint,
    }
    if main:
        if val_end is not None:
            log({"step": total, "val_loss": val_end})
        peft_model = accelerator.unwrap_model(loss_module).model
        if hasattr(peft_model, "_orig_mod"):
            peft_model = peft_model._orig_mod
        peft_model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        from platypus.report.plots import loss_curve

        loss_curve(history, out / "loss_curve.png")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(out, adapter_dir, summary)


def _read_metrics(path: Path, upto: int) -> list[dict]:
    """Metrics logged up to a checkpoint's step; later lines belong to the interrupted part."""
    if not path.is_file():
        return []
    return [row for _, row in iter_jsonl(path) if row["step"] <= upto]


def _peak_memory_mb(accelerator) -> dict:
    peak = {"rss": round(peak_mb(), 1)}
    if torch.cuda.is_available():
        peak["cuda"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    values = torch.tensor([peak["rss"]], device=accelerator.device)
    peak["rss_max_process"] = (
        float(accelerator.reduce(values, "max")[0])
        if accelerator.num_processes > 1
        else peak["rss"]
    )
    return peak
