"""The training stage's configuration: LoRA fine-tuning with the Platypus recipe's defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from platypus.settings import STRICT, ColumnMapping, ComputeSettings, InputPath, Seed, Setting


class LoraSettings(BaseModel):
    model_config = STRICT
    # Bounded here against typos (1e9 would allocate hundreds of GB); training also refuses a
    # rank above the targeted layers' smallest dimension.
    r: int = Field(16, ge=1, le=65536)
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(["gate_proj", "up_proj", "down_proj"], min_length=1)


class TrainConfig(ColumnMapping):
    """LoRA fine-tuning; the defaults are the Platypus recipe. `input` defaults to the
    decontaminate stage's clean rows."""

    model_config = STRICT
    model: str | None = InputPath(None)  # None: the packaged SmolLM2; a folder or hub id
    input: str | None = InputPath(None)
    output_dir: str = Setting("runs/train")
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(4e-4, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    # Warmup is capped at this fraction of the run, so short runs still decay (100 of 20 steps
    # would never reach the peak rate).
    warmup_steps: int = Field(100, ge=0)
    warmup_max_fraction: float = Field(0.2, ge=0.0, le=1.0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)  # stop after this many optimizer steps
    global_batch_size: int = Field(16, ge=1)  # = micro x accumulation x processes
    micro_batch_size: int = Field(4, ge=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(1.0, gt=0)
    max_length: int = Field(2048, ge=8)
    overlong: Literal["truncate", "skip"] = "truncate"
    batching: Literal["length_grouped", "packed", "random"] = "length_grouped"
    # A name in platypus.train.template.FORMATS: alpaca, or the tokenizer's chat_template; auto:
    # chat_template for chat rows (messages, sharegpt) when the tokenizer has one, else alpaca.
    prompt_format: str = "auto"
    limit: int | None = Field(None, ge=1)  # train on N rows drawn with `seed` (quick runs)
    val_size: int = Field(200, ge=0)  # held-out rows (seeded) for validation loss; 0: none
    eval_every: int | None = Setting(None, ge=1)  # validation every N steps (and at start/end)
    save_every: int | None = Setting(None, ge=1)  # checkpoint every N steps
    resume: bool = Setting(True)  # continue from the newest checkpoint in output_dir
    # Experiment trackers (names in platypus.train.tracking.TRACKERS), through accelerate.
    report_to: list[str] = Setting([])
    # bf16 autocast (LoRA weights and optimizer stay fp32). auto: on a CPU with `compute.dtype:
    # auto` the host's probe decides (bf16 only where its matmuls are >= 1.2x faster), elsewhere
    # bf16; what it became is in summary.json and part of a checkpoint's identity.
    bf16: bool | Literal["auto"] = True
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    gradient_checkpointing: bool = False
    # GPU speed switches (platypus.train.speed; each refused in one line where its library or
    # device is missing). compile: torch.compile the loss module (inductor; CPUs too). liger:
    # Liger Kernel's RMSNorm/SwiGLU/RoPE and its fused linear cross-entropy on the response
    # positions (CUDA). activation_offloading: the backward's saved tensors in pinned CPU memory
    # (CUDA; same numbers, less GPU memory). Padding-free packing is `batching: packed`.
    compile: bool = False
    liger: bool = False
    activation_offloading: bool = Setting(False)
    # On a CPU, hand the heap pages each micro-batch freed back to the OS after it
    # (platypus.memory.release_free_memory): a lower, steadier peak (SmolLM2, three steps of 16
    # rows of up to 512 tokens: 6.4 GB in both runs, against 6.8-9.4 GB in three without) for
    # more time (the pages are faulted in again): 8-28% over three steps, 20-35% over the
    # 320-row training benchmark (benchmarks/results/train-cpu-2core.md). auto: only after a
    # micro-batch that leaves less than a quarter of the memory limit (the container's, else
    # the machine's) available. Changes no number; no effect on a GPU.
    cpu_release_memory: bool | Literal["auto"] = Setting("auto")
    seed: int = Seed(42)

    @field_validator("prompt_format", mode="after")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from platypus.train.template import AUTO, FORMATS, unknown_format

        if value not in FORMATS and value != AUTO:
            raise ValueError(unknown_format(value))
        return value

    @field_validator("report_to", mode="after")
    @classmethod
    def _known_trackers(cls, value: list[str]) -> list[str]:
        from platypus.train.tracking import TRACKERS, unknown_tracker

        for name in value:
            if name not in TRACKERS:
                raise ValueError(unknown_tracker(name))
        return list(dict.fromkeys(value))  # a tracker named twice logs once
