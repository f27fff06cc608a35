"""`platypus plan`: architecture arithmetic, the paper's runs, fixes, the CLI, and one CPU
measurement (the slow ones are in benchmarks/plan.py)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from platypus.cli import main
from platypus.config import ComputeSettings, load_recipe
from platypus.errors import PlatypusError
from platypus.plan import plan_recipe, with_compute
from platypus.sizing import BUILTIN_ARCHS, hardware, resolve_arch, train_memory

REPO = Path(__file__).resolve().parents[1]
R13 = REPO / "recipes" / "platypus2-13b.yaml"
R70 = REPO / "recipes" / "platypus2-70b.yaml"


def _stage(plan, name):
    return next(s for s in plan.stages if s.stage == name)


@pytest.mark.parametrize(
    ("hub_id", "params"),
    [
        # parameter counts of the released checkpoints
        ("meta-llama/Llama-2-7b-hf", 6_738_415_616),
        ("meta-llama/Llama-2-13b-hf", 13_015_864_320),
        ("meta-llama/Llama-2-70b-hf", 68_976_648_192),
    ],
)
def test_builtin_llama2_parameter_counts(hub_id, params):
    assert BUILTIN_ARCHS[hub_id].params == params


def test_smollm2_arch_matches_the_loaded_model():
    from platypus.models import load_causal_lm

    model, _ = load_causal_lm(None)
    arch = resolve_arch(None)
    assert arch.params == sum(p.numel() for p in model.parameters())
    peft = pytest.importorskip("peft")
    lora = peft.get_peft_model(
        model, peft.LoraConfig(r=16, target_modules=["gate_proj", "up_proj", "down_proj"])
    )
    trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
    assert arch.lora_params(16, ["gate_proj", "up_proj", "down_proj"]) == trainable


def test_lora_13b_size():
    # 40 layers x 16 x ((5120 + 13824) x 2 + (13824 + 5120))
    assert BUILTIN_ARCHS["meta-llama/Llama-2-13b-hf"].lora_params(
        16, ["gate_proj", "up_proj", "down_proj"]
    ) == 40 * 16 * 3 * (5120 + 13824)


@pytest.mark.parametrize(
    ("recipe", "hw", "paper_hours"), [(R13, "1xA100-80GB", 5.0), (R70, "4xA100-80GB", 22.0)]
)
def test_paper_runs_fit_and_take_the_papers_time_within_2x(recipe, hw, paper_hours):
    # The paper's script loaded 8-bit weights (LLM.int8) with fp16 autocast, gradient
    # checkpointing, and for 70B split the layers over the GPUs: the recipe with 8-bit weights.
    paper = plan_recipe(with_compute(load_recipe(recipe), quantization="8bit"), hw)
    train = _stage(paper, "train")
    assert train.fits
    assert paper_hours / 2 <= train.hours <= paper_hours * 2
    # The recipe as written (bf16 weights) fits too, and is faster than int8.
    ours = _stage(plan_recipe(load_recipe(recipe), hw), "train")
    assert ours.fits and ours.hours < train.hours
    assert all(s.fits for s in plan_recipe(load_recipe(recipe), hw).stages)


def test_70b_on_one_gpu_does_not_fit_and_the_fix_is_8bit():
    plan = plan_recipe(load_recipe(R70), "1xA100-80GB")
    train = _stage(plan, "train")
    assert not train.fits and train.memory_gb_per_device > 120
    assert train.fix == "train.compute.quantization=8bit"
    assert train.fixed["memory_gb_per_device"] <= 79.2


def test_13b_without_checkpointing_is_fixed_by_checkpointing():
    recipe = load_recipe(R13)
    recipe = recipe.model_copy(update={"train": recipe.train.model_copy(
        update={"gradient_checkpointing": False, "micro_batch_size": 4})})  # fmt: skip
    train = _stage(plan_recipe(recipe, "1xA100-80GB"), "train")
    assert not train.fits
    assert train.fix == "train.gradient_checkpointing=true"
    assert train.fixed["memory_gb_per_device"] < train.memory_gb_per_device


def test_memory_terms_move_the_right_way():
    arch = BUILTIN_ARCHS["meta-llama/Llama-2-7b-hf"]
    hw = hardware("1xA100-80GB")
    base = dict(hw=hw, micro_batch=2, length=2048, autocast=True, lora_r=16,
                lora_targets=["gate_proj", "up_proj", "down_proj"], lora_dropout=0.05)  # fmt: skip
    bf16 = ComputeSettings(dtype="bfloat16")
    full = train_memory(arch, compute=bf16, checkpointing=False, **base)
    ckpt = train_memory(arch, compute=bf16, checkpointing=True, **base)
    q4 = train_memory(arch, compute=ComputeSettings(quantization="4bit"), checkpointing=False,
                      **base)  # fmt: skip
    assert full["weights"] == pytest.approx(arch.params * 2 / 2**30)
    assert ckpt["activations"] < full["activations"] / 5
    assert q4["weights"] < full["weights"] / 3
    assert full["lora_adamw"] == pytest.approx(arch.lora_params(16, base["lora_targets"]) * 16
                                               / 2**30)  # fmt: skip


def test_eval_batch_auto_is_the_largest_power_of_two_that_fits():
    """`eval.batch_size: auto` plans the batch the run would pick: beside the loaded weights,
    the largest power of two whose forward pass fits half of what the device has left."""
    from platypus.sizing import AUTO_BATCH_SHARE, eval_memory

    recipe = load_recipe(R13)
    auto = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"batch_size": "auto"})})
    hw = hardware("1xA100-80GB")
    plan = _stage(plan_recipe(auto, "1xA100-80GB"), "eval")
    batch = int(plan.notes[0].split("memory for ")[1].split(" x ")[0])
    arch, compute = BUILTIN_ARCHS["meta-llama/Llama-2-13b-hf"], recipe.eval.compute

    def mem(b):
        return eval_memory(arch, compute=compute, hw=hw, batch=b, length=2048, autocast=False)

    def per_batch(b):
        return sum(v for k, v in mem(b).items() if k not in ("weights", "runtime"))

    budget = AUTO_BATCH_SHARE * (hw.memory_gb - mem(1)["weights"] - mem(1)["runtime"])
    assert batch & (batch - 1) == 0 and batch >= 2  # a power of two, more than one row
    assert per_batch(batch) <= budget < per_batch(2 * batch)
    assert plan.fits


def test_cli_json(capsys):
    assert main(["plan", str(R13), "--hardware", "1xA100-80GB", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["stages"]) == {"data", "train", "merge", "eval"}
    for stage in out["stages"].values():
        assert {"memory_gb_per_device", "fits", "hours"} <= set(stage)
    assert out["params_b"] == pytest.approx(13.016, abs=1e-3)


def test_cli_table_and_errors(capsys, tmp_path):
    assert main(["plan", str(R70), "--hardware", "4xA100-80GB"]) == 0
    out = capsys.readouterr().out
    assert "layers split over 4 devices" in out and "train" in out
    bad = tmp_path / "r.yaml"
    bad.write_text("train: {model: someone/unknown-model}\n")
    assert main(["plan", str(bad), "--hardware", "1xA100-80GB"]) == 2
    err = capsys.readouterr().err
    assert "no local folder or cached config.json" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(PlatypusError):
        hardware("8xTPU")


def test_clean_set_sets_the_token_count(tmp_path):
    rows = [{"id": str(k), "instruction": "Add 2 and 3.", "input": "", "output": "5" * 40,
             "data_source": "t"} for k in range(50)]  # fmt: skip
    data = tmp_path / "clean.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = load_recipe(R13)
    recipe = recipe.model_copy(
        update={"train": recipe.train.model_copy(update={"input": str(data)})}
    )
    plan = plan_recipe(recipe, "1xA100-80GB")
    assert "50 rows" in plan.data
    assert _stage(plan, "train").tokens < 50 * 200


@pytest.mark.parametrize(
    "precision, batch, length",
    [
        ("fp32", 2, 256),
        pytest.param("4bit", 2, 256, marks=pytest.mark.slow),
        # bf16 is emulated on a CPU without bf16 instructions: a short row
        pytest.param("bf16", 1, 32, marks=pytest.mark.slow),
    ],
)
def test_smollm2_training_step_memory_within_25_percent(precision, batch, length):
    """Two LoRA steps of SmolLM2 in their own process (the second holds gradients, AdamW state
    and activations at once: the steady state the plan describes), loaded and run as the
    trainer does: the plan's memory within 25% of the process's peak RSS."""
    case = {"model": "smollm2", "model_key": "smollm2", "mode": "train", "precision": precision,
            "batch": batch, "length": length, "steps": 2}  # fmt: skip
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "plan.py"), "--child", json.dumps(case)],
        capture_output=True, text=True, timeout=600, cwd=REPO, check=True,
    )  # fmt: skip
    measured = json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"] / 1024
    spec = importlib.util.spec_from_file_location("bench_plan", REPO / "benchmarks" / "plan.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert abs(bench.planned_gb(case) / measured - 1) <= 0.25


def test_an_evals_tokens_are_its_tasks_own_costs():
    """Each task prices itself (`Task.plan_cost`): an eval of the v2 six costs the sum of theirs,
    capped at `limit` items; no task falls back to a made-up default."""
    from platypus.plan import eval_tokens
    from platypus.tasks.registry import TASKS

    recipe = load_recipe(R13)
    six = ["ifeval", "bbh", "math_hard", "gpqa", "musr", "mmlu_pro"]
    v2 = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"tasks": six})})
    assert eval_tokens(v2) == sum(TASKS[t].plan_cost[0] * TASKS[t].plan_cost[1] for t in six)
    limited = v2.model_copy(update={"eval": v2.eval.model_copy(update={"limit": 5})})
    assert eval_tokens(limited) == sum(5 * TASKS[t].plan_cost[1] for t in six)
    assert all(items > 0 and tokens > 0 for items, tokens in (t.plan_cost for t in TASKS.values()))


def test_the_eval_plan_autocasts_only_where_the_run_will(monkeypatch):
    """`eval.bf16: true` allows bf16; on a CPU the run autocasts only where this host's probe
    finds bf16 faster (`eval.run.compute_policy`), and the plan's memory follows the same call."""
    from platypus.compute import FORCE_PROBE_VAR

    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml")
    assert recipe.eval.bf16 is True and recipe.eval.compute.dtype == "auto"
    fp32 = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"bf16": False})})
    plans = {}
    for verdict in ("bf16-slow", "bf16-fast"):
        monkeypatch.setenv(FORCE_PROBE_VAR, verdict)
        plans[verdict] = _stage(plan_recipe(recipe, "cpu", cpu_tflops=1.0), "eval").memory
    plain = _stage(plan_recipe(fp32, "cpu", cpu_tflops=1.0), "eval").memory
    assert plans["bf16-slow"] == plain  # the run stays fp32 on such a host
    assert plans["bf16-fast"] != plain


def test_the_gpu_speed_switches_lower_the_planned_memory():
    """Liger's fused loss holds a chunk's logits, not every token's; activation offloading keeps
    one layer's saved activations on the device. Planned from the recipe's switches, on a GPU
    only (on a CPU the run refuses both)."""
    recipe = load_recipe(R13)

    def train_gb(hw: str, **switches) -> dict:
        t = recipe.train.model_copy(update={"gradient_checkpointing": False} | switches)
        plan = plan_recipe(recipe.model_copy(update={"train": t}), hw)
        return _stage(plan, "train").memory

    plain = train_gb("1xA100-80GB")
    liger = train_gb("1xA100-80GB", liger=True)
    offloaded = train_gb("1xA100-80GB", activation_offloading=True)
    assert liger["logits"] < plain["logits"] / 10
    assert liger["activations"] == plain["activations"]
    assert offloaded["activations"] < plain["activations"] / 5
    assert offloaded["logits"] == plain["logits"]
