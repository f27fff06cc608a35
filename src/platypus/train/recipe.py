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

import hashlib
import json
import os
import random
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError

from platypus.cards import write_adapter_card
from platypus.data.writers import atomic_path, write_bytes, write_dict_rows
from platypus.errors import DataError, PlatypusError
from platypus.faults import fault_point
from platypus.memory import memory_is_tight, peak_mb, release_free_memory, reset_peak
from platypus.progress import progress
from platypus.settings import result_config
from platypus.train import checkpoint, tracking
from platypus.train.config import TrainConfig
from platypus.train.dropout import use_cpu_dropout
from platypus.train.examples import Example, read_training_rows, tokenize
from platypus.train.loss import ResponseLoss
from platypus.train.plan import collate, micro_batches, plan_steps
from platypus.train.speed import apply_liger, check_switches, fused_head_loss, offloading_context
from platypus.train.template import prompt_record, resolve_prompt_format, write_prompt_record
from platypus.version import __version__

ADAPTER_DIR = "adapter"  # in output_dir: the PEFT adapter and tokenizer of a finished run
METRICS = "metrics.jsonl"  # in output_dir: one line per step (and per validation)
BASE_RECORD = "platypus_base.json"  # in the adapter folder: which base weights it was trained on
# The final outputs of a run: removed when a run starts, so a run killed midway never leaves an
# earlier run's adapter or summary beside its own config. summary.json is written last.
FINAL_OUTPUTS = ("summary.json", "loss_curve.png", ADAPTER_DIR)
# What loading a checkpoint whose files match their hashes can still raise (a crafted folder).
_UNREADABLE = (checkpoint.CheckpointError, SafetensorError, ValueError, KeyError, TypeError)


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


def check_targets(model, targets: list[str], rank: int | None = None) -> None:
    """The targets are linear layers of the model, and a LoRA rank fits them: above the
    smallest dimension of a targeted layer it adds nothing but memory (1e9 would try to
    allocate hundreds of GB)."""
    layers = [(name.rsplit(".", 1)[-1], m) for name, m in model.named_modules()
              if isinstance(m, torch.nn.Linear)]  # fmt: skip
    linear = sorted({short for short, _ in layers})
    missing = [t for t in targets if t not in linear]
    if missing:
        raise PlatypusError(
            f"lora.target_modules {missing} are not linear layers of this model; "
            f"it has: {', '.join(linear)}"
        )
    if rank is not None:
        smallest = min(min(m.in_features, m.out_features) for s, m in layers if s in targets)
        if rank > smallest:
            raise PlatypusError(
                f"lora.r {rank} is larger than the smallest dimension ({smallest}) of the "
                "targeted layers; lower it"
            )


def check_backend(accelerator) -> None:
    """A sharding back end asked for (accelerate launch with an FSDP or DeepSpeed config sets
    ACCELERATE_USE_FSDP / ACCELERATE_USE_DEEPSPEED) but not applied is an error, not a silent
    replica per process: accelerate runs CPU processes as MULTI_CPU (DDP) whatever is asked."""
    from accelerate.utils import DistributedType

    for var, wanted in (
        ("ACCELERATE_USE_FSDP", DistributedType.FSDP),
        ("ACCELERATE_USE_DEEPSPEED", DistributedType.DEEPSPEED),
    ):
        asked = os.environ.get(var, "false").lower() in {"1", "true"}
        if asked and accelerator.distributed_type != wanted:
            got = accelerator.distributed_type.value
            raise PlatypusError(
                f"{wanted.value} was asked for ({var}=true) but accelerate runs these "
                f"{accelerator.num_processes} process(es) on {accelerator.device.type} as {got}, "
                f"without sharding; {wanted.value} needs GPUs (on CPU use DDP: torchrun or "
                "accelerate launch without an FSDP/DeepSpeed config)"
            )


def warmup_for(config: TrainConfig, total: int) -> int:
    return min(config.warmup_steps, int(config.warmup_max_fraction * total))


def base_fingerprint(model: str | None) -> str:
    """The base model's weights fingerprint when it is a folder, else its hub id (what an
    adapter records of its base, so that a merge can tell another model of the same shapes)."""
    from platypus.hashing import weights_fingerprint
    from platypus.models import resolve_causal_lm

    path = resolve_causal_lm(model)
    return weights_fingerprint(path) if Path(path).is_dir() else path


def base_identity(model: str | None) -> str:
    """Everything of the base that changes what a run computes: its weights and the other
    files its load reads (config, tokenizer, chat template, shipped code); its hub id when it
    is not a folder. Checkpoints and stage keys are derived from it."""
    from platypus.models import model_identity, resolve_causal_lm

    return model_identity(resolve_causal_lm(model))


def config_hash(
    config: TrainConfig,
    input_sha256: str,
    base: str,
    chat_template: str | None = None,
    autocast: str | None = None,
) -> str:
    """What a checkpoint must match to be resumed: the config without settings and input paths,
    plus the content of those inputs (the training file's hash, the base weights' fingerprint,
    the chat template's hash when the examples are rendered by it) and, under `bf16: auto`,
    what the host made of it (a run moved to a host that decides otherwise starts afresh)."""
    ident = [result_config(config), input_sha256, base]
    if chat_template is not None:
        ident.append(chat_template)
    if config.bf16 == "auto":
        ident.append(f"autocast={autocast}")
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def autocast_dtype(config: TrainConfig, policy):
    """The dtype training autocasts to (None: none). `bf16: auto` on a CPU whose weights are
    `auto` follows the policy's host probe; otherwise `bf16` is taken as given."""
    if config.bf16 == "auto" and policy.device == "cpu" and config.compute.dtype == "auto":
        if policy.quantization == "none":
            return policy.autocast
    return torch.bfloat16 if config.bf16 else None


def read_metrics(path: Path, upto: int) -> tuple[list[dict], str | None]:
    """Metrics logged up to a checkpoint's step (later lines belong to the interrupted part),
    and a warning when the last line was torn by the interruption (it is dropped)."""
    if not path.is_file():
        return [], None
    lines = [(n, raw) for n, raw in enumerate(path.read_bytes().split(b"\n"), 1) if raw.strip()]
    rows, warning = [], None
    for k, (lineno, raw) in enumerate(lines):
        try:
            row = json.loads(raw.decode("utf-8"))
            if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                raise ValueError("no step")
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if k < len(lines) - 1:
                raise DataError(path, "not a metrics line (fix or delete it)", row=lineno) from None
            warning = f"{path}: line {lineno} was torn by the interruption; dropped"
            continue
        if row["step"] <= upto:
            rows.append(row)
    return rows, warning


def read_history(output_dir: str | Path) -> list[dict]:
    """The metrics lines of a run in `output_dir` (a torn last line left out)."""
    return read_metrics(Path(output_dir) / METRICS, sys.maxsize)[0]


class LoraRecipe:
    """One training run. `train()` runs it all; the setup methods run in the order
    setup_data -> setup_model -> setup_optimizer (`setup()` calls the three)."""

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

    # Checkpoints ---------------------------------------------------------------------------

    def save_checkpoint(self, step: int) -> Path:
        """Everything needed to continue exactly after `step` optimizer steps. All processes."""
        from peft import get_peft_model_state_dict

        acc = self.accelerator
        folder = checkpoint.checkpoint_dir(self.out, step)
        acc.wait_for_everyone()
        if self.main:
            checkpoint.clear(folder)
        acc.wait_for_everyone()
        checkpoint.save_rng(folder, self.rank)
        acc.wait_for_everyone()
        if self.main:
            state = {
                "step": step,
                "config_hash": self.fingerprint,
                "tokens": self.tokens_seen,
                "train_seconds": self.train_seconds,
                "val_loss_start": self.val_start,
            }
            checkpoint.save(
                folder,
                get_peft_model_state_dict(self.model),
                self.optimizer.state_dict(),
                self.scheduler.state_dict(),
                state,
            )
        acc.wait_for_everyone()
        return folder

    def load_checkpoint(self) -> int:
        """Restore the newest usable checkpoint of this run in output_dir (adapter, optimizer,
        schedule, RNG, counters, metrics so far); the step to continue from, 0 if none. Newer
        unusable checkpoints are skipped with a warning; one of a different run is an error."""
        from peft import set_peft_model_state_dict

        found, skipped = checkpoint.find(self.out, self.fingerprint, self.total)
        for line in skipped:
            self.warn(f"{line}; trying an older checkpoint")
        if found is None:
            if skipped:
                self.warn("no usable checkpoint; starting over")
            return 0
        try:  # the files match their hashes: a failure here means a crafted or foreign folder
            loaded = checkpoint.load(found, self.rank)
            set_peft_model_state_dict(self.model, loaded.adapter)
            self.optimizer.load_state_dict(loaded.optimizer)
            self.scheduler.load_state_dict(loaded.scheduler)
        except _UNREADABLE as exc:
            raise PlatypusError(f"{found.folder}: unreadable checkpoint ({exc})") from None
        state = found.state
        self.resumed_from = found
        self.start = state["step"]
        self.tokens_seen = state.get("tokens", 0)
        self.train_seconds = state.get("train_seconds", 0.0)
        self.val_start = state.get("val_loss_start")
        self.history, warning = read_metrics(self.out / METRICS, self.start)
        if warning:
            self.warn(warning)
        return self.start

    # The run -------------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        if self.main:
            print(f"platypus: warning: {message}", file=sys.stderr)

    def log(self, entry: dict) -> None:
        self.history.append(entry)
        tracking.log(self.accelerator, entry)
        if self.main:
            # O_NOFOLLOW: a metrics file planted as a link elsewhere is refused, not appended to
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
            try:
                fd = os.open(self.out / METRICS, flags, 0o666)
            except OSError as exc:
                raise PlatypusError(
                    f"{self.out / METRICS}: cannot append ({exc.strerror})"
                ) from None
            with os.fdopen(fd, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def begin(self) -> None:
        """Prepare output_dir for a run continuing from `self.start` (0: from scratch): drop
        checkpoints it will not use and the previous run's final outputs, rewrite the metrics
        so far and the config."""
        acc, out = self.accelerator, self.out
        acc.wait_for_everyone()  # every process has read its checkpoint
        if self.main:
            if self.resumed_from is None:
                shutil.rmtree(out / "checkpoints", ignore_errors=True)
            else:
                checkpoint.discard_newer(self.resumed_from)
            for name in FINAL_OUTPUTS:  # summary.json first: it marks a finished run
                _remove(out / name)
            write_dict_rows(out / METRICS, self.history)
            info = {
                "config": self.config.model_dump(),
                "input": str(self.input_path),
                "input_sha256": self.input_sha256,
                "base_model": self.base_model,
                "base_weights_fingerprint": self.base_weights,
                "prompt": self.prompt,
                "compute": self.compute_record(),
                "version": __version__,
            }
            write_bytes(out / "train_config.json", json.dumps(info, indent=1).encode())
        acc.wait_for_everyone()

    def compute_record(self) -> dict:
        """The resolved compute policy (what `auto` became, the quantisation), the size of the
        loaded model and the dtype of the trained LoRA weights: for train_config.json and
        summary.json."""
        base = self.model.get_base_model()
        return self.policy.describe() | {
            "model_memory_mb": round(base.get_memory_footprint() / 2**20, 1),
            "lora_dtype": sorted({str(p.dtype).removeprefix("torch.") for p in self.params}),
            # what the recipe's `bf16` became on this host
            "autocast": str(self.autocast_dtype).removeprefix("torch.")
            if self.autocast_dtype is not None
            else None,
        }

    def summary(self) -> dict:
        """The run's summary.json (after the last step and `val_end`). All processes."""
        history = self.history
        return {
            "steps": self.total,
            "examples": len(self.examples),
            "validation_examples": len(self.val_examples),
            "rows": self.rows,
            "data_format": self.data_format,  # records, alpaca, messages, ... or "columns"
            "prompt_format": self.prompt_format,  # what `auto` became
            "tokenize": dict(self.counts),
            "processes": self.world,
            "warmup_steps": self.warmup,
            "tokens": self.tokens_seen,
            "train_seconds": round(self.train_seconds, 2),
            "tokens_per_s": round(self.tokens_seen / max(self.train_seconds, 1e-9), 1),
            "peak_memory_mb": _peak_memory_mb(self.accelerator),
            "compute": self.compute_record(),
            "val_loss_start": self.val_start,
            "val_loss_end": self.val_end,
            "train_loss_last": history[-1]["loss"] if history and "loss" in history[-1] else None,
            "resumed_from_step": self.start or None,
            "config_hash": self.fingerprint,
        }

    def save_outputs(self, summary: dict) -> Path:
        """Main process: the adapter (with the base model's fingerprint), the loss curve, and
        summary.json last, each moved into place whole."""
        from platypus.charts import loss_curve
        from platypus.train.saved_template import save_training_template

        out = self.out
        adapter_dir = out / ADAPTER_DIR
        partial = out / ".adapter.partial"
        _remove(partial)
        self.model.save_pretrained(partial)
        save_training_template(partial, self.prompt_format, self.tokenizer)  # as trained
        write_adapter_card(partial, self.base_model, self.config, summary)  # the Hub's README.md
        base = {"base_model": self.base_model, "weights_fingerprint": self.base_weights}
        (partial / BASE_RECORD).write_text(json.dumps(base, indent=1) + "\n")
        write_prompt_record(partial, self.prompt)
        _remove(adapter_dir)
        os.replace(partial, adapter_dir)
        with atomic_path(out / "loss_curve.png") as curve:  # a new file, never a planted link
            loss_curve(self.history, curve)
        write_bytes(out / "summary.json", (json.dumps(summary, indent=1) + "\n").encode())
        return adapter_dir

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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


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
