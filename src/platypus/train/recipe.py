"""`platypus train` as a recipe object: LoRA fine-tuning in plain PyTorch, with accelerate for
processes and mixed precision.

`LoraRecipe(config, input_path).train()` is the whole run; its pieces (`setup_data`,
`setup_model`, `setup_optimizer`, `train_step`, `validation_loss`, `save_checkpoint`,
`load_checkpoint`) also work alone, so a test can take a step without a full run.

The loss of an optimizer step is the mean over all response tokens of its global batch,
whatever the split into micro-batches and processes: each micro-batch contributes its summed
loss divided by the step's token count (known in advance from the plan), times the number of
processes because DDP averages gradients. So 1 and N processes compute the same update.
"""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from platypus.errors import PlatypusError
from platypus.faults import fault_point
from platypus.memory import memory_is_tight, release_free_memory, reset_peak
from platypus.progress import progress
from platypus.train import checkpoint, tracking
from platypus.train.checks import check_backend, check_targets, split_validation, warmup_for
from platypus.train.config import TrainConfig
from platypus.train.dropout import use_cpu_dropout
from platypus.train.examples import Example, read_training_rows, tokenize
from platypus.train.identity import base_fingerprint, base_identity, config_hash
from platypus.train.loss import ResponseLoss
from platypus.train.outputs import RunRecord
from platypus.train.plan import collate, micro_batches, plan_steps
from platypus.train.resume import Resumable
from platypus.train.run_files import ADAPTER_DIR, BASE_RECORD, METRICS, read_history, read_metrics
from platypus.train.speed import apply_liger, check_switches, fused_head_loss, offloading_context
from platypus.train.template import prompt_record, resolve_prompt_format


@dataclass
class TrainResult:
    output_dir: Path
    adapter_dir: Path
    summary: dict


def autocast_dtype(config: TrainConfig, policy):
    """The dtype training autocasts to (None: none). `bf16: auto` on a CPU whose weights are
    `auto` follows the policy's host probe; otherwise `bf16` is taken as given."""
    if config.bf16 == "auto" and policy.device == "cpu" and config.compute.dtype == "auto":
        if policy.quantization == "none":
            return policy.autocast
    return torch.bfloat16 if config.bf16 else None


class LoraRecipe(Resumable, RunRecord):
    """One training run. `train()` runs it all; the setup methods run in the order
    setup_data -> setup_model -> setup_optimizer (`setup()` calls the three). Its checkpoints
    are `Resumable`'s methods (platypus.train.resume), its outputs `RunRecord`'s
    (platypus.train.outputs)."""

    def __init__(self, config: TrainConfig, input_path: str | Path, output_dir=None):
        from accelerate import Accelerator

        if output_dir is not None:
            config = config.model_copy(update={"output_dir": str(output_dir)})
        self.config = config
        self.input_path = Path(input_path)
        self.out = Path(config.output_dir)
        reset_peak()
        # Autocast is applied here rather than through Accelerator(mixed_precision=...):
        # accelerate's state is per process and refuses a second, different setting (tests,
        # notebooks). cpu=True is what makes accelerate join torchrun's process group without a
        # GPU (gloo).
        tracking.check_installed(config.report_to)
        trackers = {}
        if config.report_to:  # accelerate's logging_dir is its project_dir
            trackers = dict(
                log_with=config.report_to, project_dir=str(self.out / tracking.TRACKING_DIR)
            )
        try:
            self.accelerator = Accelerator(cpu=not torch.cuda.is_available(), **trackers)
        except ImportError as exc:  # a launch config naming a back end not installed (DeepSpeed)
            raise PlatypusError(f"accelerate: {str(exc).strip().splitlines()[0]}") from None
        check_backend(self.accelerator)
        self.world = self.accelerator.num_processes
        self.rank = self.accelerator.process_index
        self.main = self.accelerator.is_main_process
        per_step = config.micro_batch_size * self.world
        if config.global_batch_size % per_step:
            raise PlatypusError(
                f"global_batch_size {config.global_batch_size} is not a multiple of "
                f"micro_batch_size x processes = {config.micro_batch_size} x {self.world}"
            )
        self.tokenizer = None
        self.model = None  # the PEFT model
        self.loss_module = None  # ResponseLoss around it, prepared by accelerate
        # Progress, restored by load_checkpoint.
        self.start = 0
        self.tokens_seen = 0
        self.train_seconds = 0.0
        self.val_start: float | None = None
        self.val_end: float | None = None
        self.history: list[dict] = []
        self.resumed_from: checkpoint.Checkpoint | None = None

    # Setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        self.setup_data()
        self.setup_model()
        self.setup_optimizer()

    def setup_data(self) -> None:
        """Rows -> train/validation examples -> the plan of optimizer steps."""
        from transformers import AutoTokenizer

        from platypus.hashing import file_sha256
        from platypus.models import resolve_causal_lm

        config = self.config
        data = read_training_rows(self.input_path, config)  # DataError: one line
        records = data.rows
        if config.limit and config.limit < len(records):
            # A seeded sample in file order: the first N rows of a build are often one source.
            keep = set(random.Random(config.seed).sample(range(len(records)), config.limit))
            records = [r for i, r in enumerate(records) if i in keep]
        train_rows, val_rows = split_validation(records, config.val_size, config.seed)
        self.rows = len(records)
        self.data_format = data.data_format
        self.input_sha256 = file_sha256(data.path)

        from platypus.models.remote_code import check_custom_code

        base = resolve_causal_lm(config.model)
        trust = config.compute.trust_remote_code
        check_custom_code(base, trust)
        self.tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=trust)
        tok = self.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.prompt_format = resolve_prompt_format(config.prompt_format, records, tok)
        shape = (config.max_length, config.overlong, self.prompt_format)
        self.examples, self.counts = tokenize(train_rows, tok, *shape)  # checks the tokenizer
        self.counts.update(data.skipped)
        self.val_examples, _ = tokenize(val_rows, tok, *shape)
        self.prompt = prompt_record(self.prompt_format, tok)
        if not self.examples:
            raise PlatypusError(
                f"{self.input_path}: no training examples left ({dict(self.counts)})"
            )
        self.lengths = [len(e.ids) for e in self.examples]
        steps = plan_steps(
            self.lengths, config.global_batch_size, config.epochs, config.seed, config.batching
        )
        self.steps = steps[: config.max_steps] if config.max_steps else steps
        self.total = len(self.steps)
        self.warmup = warmup_for(config, self.total)

    def setup_model(self) -> None:
        """The base model with LoRA adapters, initialised from the seed. With
        `compute.quantization` 4bit or 8bit the base is loaded quantised by bitsandbytes and
        prepared with peft's `prepare_model_for_kbit_training` (QLoRA); the LoRA weights and the
        optimizer state are fp32 either way."""
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        from platypus.compute import resolve
        from platypus.models import (
            keep_4bit_layers_differentiable,
            load_causal_lm,
            resolve_causal_lm,
        )

        config = self.config
        self.base_model = resolve_causal_lm(config.model)
        self.base_weights = base_fingerprint(config.model)
        self.base_identity = base_identity(config.model)
        # The CPU probe runs only for `bf16: auto`; `true`/`false` are taken as given.
        auto = config.bf16 == "auto"
        self.policy = resolve(config.compute, allow_bf16=bool(config.bf16), probe=auto)
        self.autocast_dtype = autocast_dtype(config, self.policy)
        check_switches(config, self.policy.device)  # before the model's load, in one line
        torch.manual_seed(config.seed)  # the same LoRA initialisation in every process
        model, tokenizer = load_causal_lm(config.model, compute=self.policy)
        self.head_loss = None
        if config.liger:
            self.head_loss = fused_head_loss(model)  # refuses a model it cannot fuse
            apply_liger(model)
        if self.tokenizer is None:
            self.tokenizer = tokenizer
        check_targets(model, config.lora.target_modules, config.lora.r)
        checkpointing = {"use_reentrant": False}
        if self.policy.quantization != "none":
            # Freezes the base, casts its non-quantised fp16/bf16 weights (norms, embeddings,
            # LM head) to fp32 and turns on gradient checkpointing when asked.
            model = prepare_model_for_kbit_training(
                model,
                use_gradient_checkpointing=config.gradient_checkpointing,
                gradient_checkpointing_kwargs=checkpointing,
            )
            # Held-out losses run in eval mode: on some CPUs bitsandbytes would then switch the
            # 4-bit layers to a layout without a backward (see the function).
            keep_4bit_layers_differentiable(model)
        lora = LoraConfig(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=config.lora.target_modules,
            task_type="CAUSAL_LM",
        )
        # peft keeps adapter weights in fp32 over a bf16/fp16 or quantised base
        # (autocast_adapter_dtype); the check below makes it a guarantee.
        self.model = get_peft_model(model, lora)
        if config.gradient_checkpointing and self.policy.quantization == "none":
            self.model.get_base_model().gradient_checkpointing_enable(
                gradient_checkpointing_kwargs=checkpointing
            )
        for p in self.model.parameters():
            if p.requires_grad and p.dtype != torch.float32:
                p.data = p.data.float()
        if self.accelerator.device.type == "cpu":
            # torch's CPU dropout draws a Bernoulli sample per element: 12% of a step
            use_cpu_dropout(self.model)

    def setup_optimizer(self) -> None:
        """AdamW over the LoRA weights, the learning-rate schedule, and the loss module prepared
        by accelerate (DDP across processes). Needs setup_data (step count) and setup_model."""
        from transformers import get_scheduler

        config = self.config
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            self.params, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.scheduler = get_scheduler(config.lr_scheduler, optimizer, self.warmup, self.total)
        loss_module = ResponseLoss(self.model, head_loss=self.head_loss)
        if config.compile:
            loss_module = torch.compile(loss_module)
        self.loss_module, self.optimizer = self.accelerator.prepare(loss_module, optimizer)
        device_type = self.accelerator.device.type
        self.autocast = (
            torch.autocast(device_type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else nullcontext()
        )
        self.loss_module.train()

    @property
    def fingerprint(self) -> str:
        """The config hash a checkpoint must carry to be resumed (after setup_data/model)."""
        template = self.prompt["chat_template_sha256"]
        autocast = str(self.autocast_dtype).removeprefix("torch.") if self.autocast_dtype else None
        return config_hash(self.config, self.input_sha256, self.base_identity, template, autocast)

    # Steps ---------------------------------------------------------------------------------

    def _run_micro(self, batch_examples: list[Example], module=None):
        batch = collate(batch_examples, self.pad_id, self.config.batching == "packed")
        batch = {k: v.to(self.accelerator.device) for k, v in batch.items()}
        with (
            self.autocast,
            offloading_context(self.config.activation_offloading and torch.is_grad_enabled()),
        ):
            # `is None`, not `or`: a compiled module's truth value asks for its len()
            return (self.loss_module if module is None else module)(**batch)

    def train_step(self, step: int) -> dict:
        """Optimizer step `step` (0-based) of the plan; returns its metrics line."""
        acc, world, examples, lengths = self.accelerator, self.world, self.examples, self.lengths
        plan = self.steps[step]
        t0 = time.perf_counter()
        chunks = micro_batches(plan, lengths, self.config.micro_batch_size, world)
        mine = chunks[self.rank :: world]
        step_tokens = sum(examples[i].response_tokens for i in plan)
        step_loss = torch.zeros((), dtype=torch.float64, device=acc.device)
        for j, chunk in enumerate(mine):
            weight = 1.0
            if not chunk:  # keeps every process in step with the collective ops
                chunk, weight = [plan[0]], 0.0
            last = j == len(mine) - 1
            with nullcontext() if last else acc.no_sync(self.loss_module):
                loss_sum, _ = self._run_micro([examples[i] for i in chunk])
                acc.backward(loss_sum * (weight * world / step_tokens))
            if acc.device.type == "cpu" and self._release_heap():
                # glibc keeps what the pass freed and the next one grows past it
                release_free_memory()
            step_loss += float(loss_sum.detach()) * weight
        grad_norm = None
        if self.config.max_grad_norm:
            grad_norm = float(acc.clip_grad_norm_(self.params, self.config.max_grad_norm))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        step_loss = float(acc.reduce(step_loss, "sum")) / step_tokens
        self._check_finite(step + 1, step_loss, grad_norm)
        self.train_seconds += time.perf_counter() - t0
        self.tokens_seen += sum(lengths[i] for i in plan)
        return {"step": step + 1, "loss": step_loss, "lr": self.scheduler.get_last_lr()[0],
                "grad_norm": grad_norm, "tokens": self.tokens_seen,
                "tokens_per_s": self.tokens_seen / self.train_seconds}  # fmt: skip

    def _release_heap(self) -> bool:
        """Whether to hand the freed heap pages back now (`cpu_release_memory`)."""
        setting = self.config.cpu_release_memory
        return memory_is_tight() if setting == "auto" else setting

    def _check_finite(self, step: int, loss: float, grad_norm: float | None) -> None:
        """Stop at the first non-finite loss, gradient or LoRA weight, before it reaches a
        checkpoint or the adapter (a learning rate of 1e308 overflows in one step)."""
        import math

        what = None
        if not math.isfinite(loss):
            what = f"the loss is {loss}"
        elif grad_norm is not None and not math.isfinite(grad_norm):
            what = f"the gradient norm is {grad_norm}"
        elif not all(bool(torch.isfinite(p).all()) for p in self.params):
            what = "the LoRA weights are no longer finite"
        if what:
            raise PlatypusError(
                f"step {step}: {what}; stopped (lower learning_rate, check the data); "
                "the last checkpoint before it is kept"
            )

    def validation_loss(self) -> float | None:
        """Mean loss per response token over the held-out examples; None without any."""
        if not self.val_examples:
            return None
        acc, size = self.accelerator, self.config.micro_batch_size
        self.loss_module.eval()
        # The unwrapped module: processes may run different numbers of validation batches, and
        # the DDP wrapper's forward would wait for the others.
        inner = acc.unwrap_model(self.loss_module)
        totals = torch.zeros(2, dtype=torch.float64, device=acc.device)
        val = self.val_examples
        order = sorted(range(len(val)), key=lambda i: -len(val[i].ids))
        chunks = [order[s : s + size] for s in range(0, len(order), size)]
        with torch.no_grad():
            for j in range(self.rank, len(chunks), self.world):
                loss_sum, n = self._run_micro([val[i] for i in chunks[j]], inner)
                totals += torch.tensor(
                    [float(loss_sum), n], dtype=torch.float64, device=totals.device
                )
        totals = acc.reduce(totals, "sum")
        self.loss_module.train()
        return float(totals[0] / totals[1])

    # The run -------------------------------------------------------------------------------

    def train(self) -> TrainResult:
        if self.loss_module is None:
            self.setup()
        config, total = self.config, self.total
        start = self.load_checkpoint() if config.resume else 0
        self.begin()
        tracking.start(self.accelerator, config.report_to, self.out, start, config.model_dump())
        if start == 0:
            self.val_start = self.validation_loss()
            if self.val_start is not None:
                self.log({"step": 0, "val_loss": self.val_start})
        self.loss_module.train()
        bar = progress(
            total=total, initial=start, desc="train", unit=" steps", disable=not self.main or None
        )
        for step in range(start, total):
            entry = self.train_step(step)
            done = step + 1
            if config.eval_every and done % config.eval_every == 0 and done < total:
                entry["val_loss"] = self.validation_loss()
            self.log(entry)
            fault_point("train", "after-step")  # the tests' kill mid-run
            bar.update(1)
            bar.set_postfix(loss=f"{entry['loss']:.4f}", tok_s=f"{entry['tokens_per_s']:.0f}")
            if config.save_every and done % config.save_every == 0 and done < total:
                self.save_checkpoint(done)
        bar.close()

        self.val_end = self.validation_loss()
        summary = self.summary()
        adapter_dir = self.out / ADAPTER_DIR
        if self.main:
            if self.val_end is not None:
                self.log({"step": total, "val_loss": self.val_end})
            self.save_outputs(summary)
        self.accelerator.wait_for_everyone()
        self.accelerator.end_training()
        return TrainResult(self.out, adapter_dir, summary)


# Names that were always imported from here.
__all__ = [
    "ADAPTER_DIR", "BASE_RECORD", "METRICS", "LoraRecipe", "TrainResult", "autocast_dtype",
    "base_fingerprint", "base_identity", "check_targets", "config_hash", "read_history",
    "read_metrics", "split_validation", "warmup_for",
]  # fmt: skip
