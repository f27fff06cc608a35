"""`platypus plan`: memory per device and hours of each stage of a recipe, before running it.

Everything is arithmetic on the model's architecture (its config.json, or a built-in table of
Llama-2 7B/13B/70B so the paper's hub ids plan offline), the recipe's settings and a hardware
table. Sizes are GiB (2**30 bytes), written "GB" as the hardware names do.

The arithmetic (memory per device, FLOPs, the hardware table) is `platypus.sizing`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from platypus.config import Recipe
from platypus.plan_data import DataSize, data_size
from platypus.settings import ComputeSettings
from platypus.sizing import (
    AUTO_BATCH_SHARE,
    CPU_RUNTIME_GB,
    EVAL_CONTEXT,
    GIB,
    GPU_RUNTIME_GB,
    QUANT_SPEED,
    Arch,
    Hardware,
    StagePlan,
    auto_eval_batch,
    cpu_memory_gb,
    eval_autocast,
    eval_memory,
    gb,
    hardware,
    resolve_arch,
    train_autocast,
    train_flops,
    train_memory,
)

DISK_GB_PER_S = 1.0  # merge: read and write the weights once
# Each task's eval cost is its own (`Task.plan_cost` in platypus.tasks).
MINILM_PARAMS = 22.7e6
EMBED_TOKENS = 256  # MiniLM truncates texts here


# The plan --------------------------------------------------------------------------------------


def _devices_strategy(compute: ComputeSettings, hw: Hardware) -> tuple[int, int, str]:
    """(shards of the weights, devices computing at once, strategy)."""
    if hw.devices == 1:
        return 1, 1, "one device"
    if compute.device_map == "auto":
        return hw.devices, 1, f"layers split over {hw.devices} devices (one computes at a time)"
    return 1, hw.devices, f"DDP on {hw.devices} devices"


def _hours(flops: float, hw: Hardware, computing: int, quantization: str) -> float:
    rate = hw.tflops * 1e12 * hw.utilisation * computing * QUANT_SPEED[quantization]
    return flops / rate / 3600


def plan_train(recipe: Recipe, arch: Arch, hw: Hardware, size: DataSize) -> StagePlan:
    t = recipe.train
    compute = t.compute
    shards, computing, strategy = _devices_strategy(compute, hw)
    return _train_plan(recipe, arch, hw, size, compute, t.micro_batch_size,
                       t.gradient_checkpointing, shards, computing, strategy)  # fmt: skip


def _train_plan(recipe, arch, hw, size, compute, micro, checkpointing, shards, computing,
                strategy, fsdp=False) -> StagePlan:  # fmt: skip
    t = recipe.train
    rows = min(size.rows, t.limit or size.rows) - min(t.val_size, size.rows // 2)
    mean_len = min(size.tokens_per_row, t.max_length)
    tokens = rows * mean_len * t.epochs
    if t.max_steps:
        tokens = min(tokens, t.max_steps * t.global_batch_size * mean_len)
    mem = train_memory(
        arch,
        compute=compute,
        hw=hw,
        micro_batch=micro,
        length=t.max_length,
        autocast=train_autocast(t, hw.gpu),
        checkpointing=checkpointing,
        lora_r=t.lora.r,
        lora_targets=t.lora.target_modules,
        lora_dropout=t.lora.dropout,
        shards=shards,
        attn_eager=compute.attn_implementation == "eager",
        liger=t.liger and hw.gpu,
        offloading=t.activation_offloading and hw.gpu,
    )
    if fsdp:  # weights and LoRA state sharded; each device computes its own micro-batches
        mem["weights"] = mem["weights"] / hw.devices
        mem["lora_adamw"] = mem["lora_adamw"] / hw.devices
    flops = train_flops(arch, tokens, mean_len, checkpointing)
    total = sum(mem.values())
    return StagePlan(
        stage="train",
        memory_gb_per_device=round(total, 2),
        fits=total <= hw.memory_gb,
        hours=_hours(flops, hw, computing, compute.quantization) * (1.1 if fsdp else 1.0),
        devices=hw.devices,
        strategy=strategy,
        memory={k: round(v, 3) for k, v in mem.items()},
        flops=flops,
        tokens=tokens,
        notes=[
            f"{rows:,} rows x {mean_len:.0f} tokens x {t.epochs:g} epoch(s); "
            f"memory for micro-batch {micro} x {t.max_length} tokens",
            f"FLOPs = {'6' if checkpointing else '4'}NT + attention, N = "
            f"{arch.compute_params / 1e9:.2f}B",
        ],
    )


def _fix_train(recipe: Recipe, arch: Arch, hw: Hardware, size: DataSize, plan: StagePlan):
    """The cheapest cumulative changes that make training fit: gradient checkpointing, a
    smaller micro-batch, 8-bit then 4-bit weights, and (several devices) sharding."""
    t = recipe.train
    compute, micro, ckpt = t.compute, t.micro_batch_size, t.gradient_checkpointing
    shards, computing, strategy = _devices_strategy(compute, hw)
    steps: list[str] = []
    candidates = []
    if not ckpt:
        candidates.append(("train.gradient_checkpointing=true", "ckpt"))
    m = micro
    while m > 1:
        m = max(1, m // 2)
        candidates.append((f"train.micro_batch_size={m}", ("micro", m)))
    if hw.devices > 1 and shards == 1:
        candidates.append(("FSDP over the devices (accelerate launch --config_file fsdp.yaml)",
                           "fsdp"))  # fmt: skip
    if compute.quantization == "none":
        candidates.append(("train.compute.quantization=8bit", ("quant", "8bit")))
    if compute.quantization != "4bit":
        candidates.append(("train.compute.quantization=4bit", ("quant", "4bit")))
    fsdp = False
    for text, change in candidates:
        if change == "ckpt":
            ckpt = True
        elif change == "fsdp":
            fsdp, strategy = True, f"FSDP on {hw.devices} devices"
        elif change[0] == "micro":
            micro = change[1]
        else:
            compute = compute.model_copy(update={"quantization": change[1]})
        steps.append(text)
        trial = _train_plan(recipe, arch, hw, size, compute, micro, ckpt, shards, computing,
                            strategy, fsdp)  # fmt: skip
        if trial.fits:
            return "; ".join(steps), trial
    bigger = "4xA100-80GB with FSDP" if hw.devices == 1 else "more or larger devices"
    return f"does not fit even with {'; '.join(steps)}: {bigger}", None


def eval_tokens(recipe: Recipe) -> float:
    """Tokens an eval runs through the model: each task's own `plan_cost`, items up to `limit`."""
    from platypus.tasks.registry import TASKS

    e = recipe.eval
    total = 0.0
    for task in e.tasks:
        items, per_item = TASKS[task].plan_cost
        total += min(items, e.limit or items) * per_item
    return total


def plan_eval(recipe: Recipe, arch: Arch, hw: Hardware) -> StagePlan:
    e = recipe.eval
    compute = e.compute
    autocast = eval_autocast(e, hw.gpu)  # `bf16: true` on a CPU is the probe's call
    shards, computing, strategy = _devices_strategy(compute, hw)
    length = min(EVAL_CONTEXT, arch.max_positions)
    if e.batch_size == "auto":  # what the run picks, with the model loaded on this hardware
        base = eval_memory(arch, compute=compute, hw=hw, batch=1, length=length,
                           autocast=autocast, shards=shards)  # fmt: skip
        free = hw.memory_gb - base["weights"] - base["runtime"]
        batch = auto_eval_batch(arch, compute=compute, hw=hw, length=length, autocast=autocast,
                                budget_gb=AUTO_BATCH_SHARE * free, loaded=True,
                                shards=shards)  # fmt: skip
    else:
        batch = max(e.batch_size, 4)
    mem = eval_memory(arch, compute=compute, hw=hw, batch=batch, length=length,
                      autocast=autocast, shards=shards)  # fmt: skip
    models = len(recipe.eval_models)
    tokens = eval_tokens(recipe) * models
    flops = 2 * arch.compute_params * tokens
    total = sum(mem.values())
    plan = StagePlan(
        stage="eval",
        memory_gb_per_device=round(total, 2),
        fits=total <= hw.memory_gb,
        hours=_hours(flops, hw, computing, compute.quantization),
        devices=hw.devices,
        strategy=strategy,
        memory={k: round(v, 3) for k, v in mem.items()},
        flops=flops,
        tokens=tokens,
        notes=[
            f"{models} model(s) x {', '.join(e.tasks)}; memory for {batch} x {length} tokens",
            "FLOPs = 2NT",
        ],
    )
    if not plan.fits:
        for quant in ("8bit", "4bit"):
            c = compute.model_copy(update={"quantization": quant})
            m = eval_memory(arch, compute=c, hw=hw, batch=1, length=length, autocast=autocast,
                            shards=shards)  # fmt: skip
            if sum(m.values()) <= hw.memory_gb:
                plan.fix = f"eval.batch_size=1; eval.compute.quantization={quant}"
                plan.fixed = {"memory_gb_per_device": round(sum(m.values()), 2)}
                break
        else:
            plan.fix = "eval.compute.device_map=auto on more devices"
    return plan


def plan_merge(recipe: Recipe, arch: Arch, hw: Hardware) -> StagePlan:
    """Streams tensor by tensor in fp32: of the largest tensor, one copy per input and one for
    the result (an adapter merge: base, delta, result), the adapter, the runtime; time is
    reading every input's weights and writing the result's once."""
    from platypus.merge.methods import METHODS

    m = recipe.merge
    method = METHODS[m.method]
    largest = max(arch.embedding_params, *(a * b for a, b in arch.linear_shapes().values()))
    adapter = arch.lora_params(recipe.train.lora.r, recipe.train.lora.target_modules) * 4
    runtime = GPU_RUNTIME_GB * GIB if m.compute.device == "cuda" else CPU_RUNTIME_GB * GIB
    # the models read (sized as the recipe's base: a merge's inputs share one architecture)
    inputs = 1 if method.uses_adapter else len(m.models) + int(method.reads_base(m))
    copies = 3 if method.uses_adapter else inputs + 1
    if not method.uses_adapter:
        adapter = 0
    mem = {"tensors": gb(copies * 4 * largest), "adapter": gb(adapter), "runtime": gb(runtime)}
    out_e = {"float32": 4, None: 4}.get(m.dtype, 2)
    io = arch.params * (4 * max(inputs, 1) + out_e)
    total = sum(mem.values())
    # The merge runs on one device (or the CPU); its memory is checked against one device.
    cap = hw.memory_gb if m.compute.device != "cpu" or not hw.gpu else cpu_memory_gb()
    read = f"{m.method}: reads {inputs} model{'s' if inputs != 1 else ''}"
    return StagePlan(
        stage="merge",
        memory_gb_per_device=round(total, 2),
        fits=total <= cap,
        hours=io / GIB / DISK_GB_PER_S / 3600,
        devices=1,
        strategy="streaming, one tensor at a time",
        memory={k: round(v, 3) for k, v in mem.items()},
        notes=[
            f"{read}, {gb(arch.params * 4 * max(inputs, 1)):.0f} GB fp32-equivalent at "
            f"{DISK_GB_PER_S} GB/s"
        ],  # fmt: skip
    )


def plan_data(recipe: Recipe, hw: Hardware, size: DataSize) -> StagePlan:
    """Dedup and decontamination, roughly: MiniLM embeddings of every row and benchmark text
    (2 x 22.7M x 256 FLOPs each) and the all-pairs cosine search (2 x 384 per pair)."""
    from platypus.tasks.registry import TASKS

    rows = size.rows
    benchmarks = recipe.data.decontaminate.benchmarks
    items = sum(TASKS[b].plan_cost[0] for b in benchmarks)  # each task's test set
    texts = rows * 2 + items  # dedup embeds rows; decontamination rows + benchmarks
    embed = 2 * MINILM_PARAMS * EMBED_TOKENS * texts
    pairs = 2 * 384 * (rows * rows / 2 + rows * items)
    rate = hw.tflops * 1e12 * hw.utilisation
    mem = {
        "embedder": gb(MINILM_PARAMS * 4),
        "embeddings": gb((rows + items) * 384 * 4 * 2),
        "runtime": CPU_RUNTIME_GB if not hw.gpu else GPU_RUNTIME_GB,
    }
    total = sum(mem.values())
    return StagePlan(
        stage="data",
        memory_gb_per_device=round(total, 2),
        fits=total <= hw.memory_gb,
        hours=(embed + pairs) / rate / 3600,
        devices=1,
        strategy="one device",
        memory={k: round(v, 3) for k, v in mem.items()},
        flops=embed + pairs,
        notes=[
            f"{rows:,} rows embedded twice, {items:,} benchmark texts ({', '.join(benchmarks)})",
            "sources: " + ", ".join(n for n, s in recipe.data.build.sources.items() if s.enabled),
        ],  # fmt: skip
    )


@dataclass
class Plan:
    recipe: str
    model: str
    params_b: float
    lora_params_m: float
    hardware: Hardware
    data: str
    stages: list[StagePlan]

    def to_json(self) -> dict:
        return {
            "recipe": self.recipe,
            "model": self.model,
            "params_b": round(self.params_b, 3),
            "lora_params_m": round(self.lora_params_m, 2),
            "hardware": asdict(self.hardware),
            "data": self.data,
            "stages": {
                s.stage: {
                    "memory_gb_per_device": s.memory_gb_per_device,
                    "fits": s.fits,
                    "hours": round(s.hours, 3),
                    "devices": s.devices,
                    "strategy": s.strategy,
                    "memory_gb": s.memory,
                    "tflop": round(s.flops / 1e12, 1),
                    "tokens": round(s.tokens),
                    "notes": s.notes,
                    "fix": s.fix,
                    "fixed": s.fixed,
                }
                for s in self.stages
            },
        }

    def table(self) -> str:
        hw = self.hardware
        lines = [
            f"{self.recipe}: {self.model} ({self.params_b:.2f}B parameters, "
            f"LoRA {self.lora_params_m:.1f}M) on {hw.name} "
            f"({hw.devices} x {hw.memory_gb:.0f} GB, {hw.tflops:g} TFLOP/s at "
            f"{hw.utilisation:.0%})",
            f"data: {self.data}",
            f"{'stage':<6} {'GB/device':>10} {'fits':>5} {'hours':>8}  strategy",
        ]
        for s in self.stages:
            lines.append(
                f"{s.stage:<6} {s.memory_gb_per_device:>10.1f} {'yes' if s.fits else 'NO':>5} "
                f"{s.hours:>8.2f}  {s.strategy}"
            )
        for s in self.stages:
            parts = ", ".join(f"{k} {v:.1f}" for k, v in s.memory.items())
            lines.append(f"  {s.stage}: {parts} GB; {'; '.join(s.notes)}")
            if s.fix:
                after = ""
                if s.fixed:
                    after = f" -> {s.fixed['memory_gb_per_device']:.1f} GB/device"
                    if "hours" in s.fixed:
                        after += f", {s.fixed['hours']:.2f} h"
                lines.append(f"  {s.stage} does not fit; cheapest fix: {s.fix}{after}")
        return "\n".join(lines)


def plan_recipe(
    recipe: Recipe, hardware_name: str = "cpu", cpu_tflops: float | None = None, name: str = ""
) -> Plan:
    hw = hardware(
        hardware_name, cpu_tflops, bf16=train_autocast(recipe.train, hardware_name != "cpu")
    )
    arch = resolve_arch(recipe.train.model)
    size = data_size(recipe)
    train = plan_train(recipe, arch, hw, size)
    if not train.fits:
        train.fix, fixed = _fix_train(recipe, arch, hw, size, train)
        if fixed is not None:
            train.fixed = {"memory_gb_per_device": fixed.memory_gb_per_device,
                           "hours": round(fixed.hours, 3)}  # fmt: skip
    eval_arch = arch if recipe.eval.model is None else resolve_arch(recipe.eval.model)
    stages = [plan_data(recipe, hw, size), train, plan_merge(recipe, arch, hw),
              plan_eval(recipe, eval_arch, hw), *plugin_plans(recipe, hw)]  # fmt: skip
    lora = arch.lora_params(recipe.train.lora.r, recipe.train.lora.target_modules)
    model_name = arch.name or str(recipe.train.model)
    return Plan(name or recipe.name, model_name, arch.params / 1e9, lora / 1e6, hw,
                size.source, stages)  # fmt: skip


def plugin_plans(recipe: Recipe, hw: Hardware) -> list[StagePlan]:
    """What the stages the planner does not price itself say of themselves (`Stage.plan`)."""
    from platypus.pipeline.stages import STAGES

    plans = (stage.plan(stage.config(recipe), hw) for stage in STAGES.values())
    return [p for p in plans if p is not None]


def with_compute(recipe: Recipe, **updates) -> Recipe:
    """The recipe with train.compute fields changed (a what-if)."""
    compute = recipe.train.compute.model_copy(update=updates)
    return recipe.model_copy(update={"train": recipe.train.model_copy(update={"compute": compute})})


__all__ = ["Plan", "StagePlan", "plan_recipe", "with_compute"]
