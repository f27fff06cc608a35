"""Compute policies: what `auto` resolves to on this host, the cached CPU probe and its 1.2x rule,
bitsandbytes and accelerate loading through `load_causal_lm`, and eval recording the policy."""

import json
from pathlib import Path

import pytest
import torch

import platypus.compute as compute
from conftest import random_llama
from platypus.compute import BF16_MIN_SPEEDUP, Policy, cpu_probe, host_key, resolve
from platypus.config import ComputeSettings, EvalConfig
from platypus.errors import PlatypusError
from platypus.eval.loglik import LoglikScorer
from platypus.models import load_causal_lm
from platypus.tasks import load_task


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def measured(monkeypatch):
    """The probe measured, not fixed by the suite's PLATYPUS_FORCE_PROBE."""
    monkeypatch.delenv(compute.FORCE_PROBE_VAR, raising=False)


def fake_probe(speedup: float):
    return lambda refresh=False: {"fp32_s": speedup, "bf16_s": 1.0, "speedup": speedup}


@pytest.fixture(scope="module")
def smollm2_dir():
    """The packaged SmolLM2 from the usual cache (before a test points the cache elsewhere)."""
    from platypus.models import prepared_path

    return prepared_path()


def real_items(shared_data):
    """A few ARC-Challenge and TruthfulQA questions as (context, choices)."""
    arc = load_task("arc_challenge", shared_data)[:3]
    items = arc + load_task("truthfulqa_mc", shared_data)[:2]
    return [(f"Question: {i.question}\nAnswer:", [f" {c}" for c in i.choices]) for i in items]


def logprobs(scorer, requests):
    return [[s.logprob for s in scorer.score(ctx, choices)] for ctx, choices in requests]


# --- resolution -------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a host without CUDA")
def test_auto_on_a_cpu_host_is_fp32_and_bf16_only_where_allowed_and_faster(cache, monkeypatch):
    policy = resolve(ComputeSettings())
    assert (policy.device, policy.dtype, policy.autocast) == ("cpu", torch.float32, None)
    assert policy.load_kwargs() == {"dtype": torch.float32}  # exactly the plain fp32 load
    assert policy.probe is None  # not allowed bf16: the probe is not even consulted
    described = policy.describe()
    assert json.loads(json.dumps(described)) == described
    assert described["dtype"] == "float32" and described["autocast"] is None

    monkeypatch.setattr(compute, "cpu_probe", fake_probe(3.0))
    fast = resolve(ComputeSettings(), allow_bf16=True)
    assert (fast.dtype, fast.autocast) == (torch.float32, torch.bfloat16)
    assert fast.describe()["probe"]["speedup"] == 3.0
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(1.1))
    assert resolve(ComputeSettings(), allow_bf16=True).autocast is None
    # An explicit dtype is the weights' dtype, whatever the probe says.
    explicit = resolve(ComputeSettings(dtype="bfloat16"))
    assert (explicit.dtype, explicit.autocast) == (torch.bfloat16, None)
    assert resolve(explicit) is explicit  # a Policy passes through


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a host without CUDA")
def test_unavailable_devices_and_options_are_one_line():
    cases = [
        (ComputeSettings(device="cuda"), "device cuda requested but torch sees no CUDA"),
        (ComputeSettings(attn_implementation="flash_attention_2"), "needs a CUDA device"),
        (ComputeSettings(max_memory={"cpu": "1GiB"}), "max_memory needs device_map: auto"),
    ]
    if not torch.backends.mps.is_available():
        cases.append((ComputeSettings(device="mps"), "device mps requested"))
    for settings, message in cases:
        with pytest.raises(PlatypusError, match=message) as err:
            resolve(settings)
        assert "\n" not in str(err.value)


def test_flash_attention_without_its_package_is_one_line(monkeypatch):
    """On a CUDA host without flash-attn, transformers would fail at the load with a traceback;
    the policy refuses it first (the device check stubbed: this host may have no GPU)."""
    import importlib.util

    from platypus import compute

    monkeypatch.setattr(compute, "_device", lambda name: "cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "flash_attn" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(PlatypusError, match="needs the flash-attn package") as err:
        resolve(ComputeSettings(attn_implementation="flash_attention_2"))
    assert "\n" not in str(err.value)


def test_quantization_is_a_bitsandbytes_config(cache, monkeypatch):
    four = resolve(ComputeSettings(device="cpu", quantization="4bit"))
    config = four.quantization_config()
    assert config.load_in_4bit and not config.load_in_8bit
    assert config.bnb_4bit_quant_type == "nf4"
    assert config.bnb_4bit_use_double_quant is True
    # The 4-bit compute dtype on a CPU: fp32 unless bf16 is allowed and faster (or asked for).
    assert config.bnb_4bit_compute_dtype == torch.float32
    assert four.load_kwargs()["quantization_config"] is not None
    assert four.describe()["quantization"] == "4bit"
    assert four.describe()["quant_compute"] == "float32"
    four_bit = ComputeSettings(device="cpu", quantization="4bit")
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(1.1))
    assert resolve(four_bit, allow_bf16=True).quant_compute == torch.float32
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(2.5))
    assert resolve(four_bit, allow_bf16=True).quant_compute == torch.bfloat16
    given = resolve(four_bit, allow_bf16=True, probe=False)  # training's `bf16: true`
    assert given.quantization_config().bnb_4bit_compute_dtype == torch.bfloat16
    eight = resolve(ComputeSettings(device="cpu", quantization="8bit")).quantization_config()
    assert eight.load_in_8bit and not eight.load_in_4bit
    assert resolve(ComputeSettings(device="cpu")).quantization_config() is None
    big = resolve(ComputeSettings(device_map="auto", max_memory={"0": "70GiB", "cpu": "120GiB"}))
    assert big.load_kwargs()["max_memory"] == {0: "70GiB", "cpu": "120GiB"}  # GPU ids as ints


# --- the CPU probe ----------------------------------------------------------------------------


def test_probe_is_measured_once_per_host_and_obeys_the_threshold(cache, measured, monkeypatch):
    def timer(fp32: float, bf16: float):
        # _measure reads the clock before and after the fp32 reps, then the bf16 reps.
        ticks = iter([0.0, fp32, 0.0, bf16])
        return lambda: next(ticks)

    monkeypatch.setattr(compute, "_timer", timer(12.0, 10.0))  # exactly 1.2x
    first = cpu_probe()
    assert first["cached"] is False and first["speedup"] == pytest.approx(1.2)
    stored = json.loads((cache / "compute-probe.json").read_text())
    assert list(stored) == [host_key()] and stored[host_key()]["speedup"] == first["speedup"]

    def no_measuring():
        raise AssertionError("measured again")

    monkeypatch.setattr(compute, "_measure", no_measuring)
    second = cpu_probe()  # read back from the file
    assert second["cached"] is True and second["speedup"] == first["speedup"]
    assert resolve(ComputeSettings(device="cpu"), allow_bf16=True).autocast == torch.bfloat16

    monkeypatch.undo()
    monkeypatch.setenv("PLATYPUS_CACHE", str(cache))
    monkeypatch.delenv(compute.FORCE_PROBE_VAR, raising=False)
    monkeypatch.setattr(compute, "_timer", timer(11.9, 10.0))  # 1.19x: below the threshold
    slower = cpu_probe(refresh=True)
    assert slower["cached"] is False and slower["speedup"] < BF16_MIN_SPEEDUP
    assert resolve(ComputeSettings(device="cpu"), allow_bf16=True).autocast is None


def test_real_probe_times_both_dtypes(cache, measured):
    result = cpu_probe()
    assert result["fp32_s"] > 0 and result["bf16_s"] > 0
    assert result["speedup"] == pytest.approx(result["fp32_s"] / result["bf16_s"])
    assert result["host"] == host_key() and "forced" not in result


@pytest.mark.parametrize("verdict", ["bf16-fast", "bf16-slow"])
def test_a_forced_probe_decides_every_auto_path_without_measuring(
    verdict, tmp_path, tiny_llama, cache, monkeypatch
):
    """PLATYPUS_FORCE_PROBE makes this host decide as the other kind of host would: eval and
    training autocast, QLoRA's compute dtype and embedding precision all follow it, the
    policy records the forced verdict, and nothing is timed or cached."""
    from platypus.config import DedupConfig, TrainConfig
    from platypus.similarity.engine import resolve_embedding
    from platypus.train.recipe import LoraRecipe

    monkeypatch.setenv(compute.FORCE_PROBE_VAR, verdict)
    monkeypatch.setattr(compute, "_measure", lambda: pytest.fail("measured"))
    fast = verdict == "bf16-fast"
    bf16 = torch.bfloat16 if fast else None
    policy = resolve(ComputeSettings(device="cpu"), allow_bf16=True)
    assert policy.autocast == bf16 and policy.describe()["probe"]["forced"] == verdict
    four_bit = resolve(ComputeSettings(quantization="4bit"), allow_bf16=True)
    assert four_bit.quant_compute == (torch.bfloat16 if fast else torch.float32)
    assert resolve_embedding(DedupConfig()).precision == ("bf16" if fast else "fp32")
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "r1", "instruction": "Add 2 and 3.", "input": "",
                                "output": "5", "data_source": "t"}) + "\n")  # fmt: skip
    config = TrainConfig(model=str(tiny_llama), bf16="auto", val_size=0,
                         output_dir=str(tmp_path / "out"))  # fmt: skip
    recipe = LoraRecipe(config, data)
    recipe.setup()
    assert recipe.autocast_dtype == bf16
    assert recipe.compute_record()["probe"]["forced"] == verdict
    assert not (cache / compute.PROBE_FILE).exists()


def test_a_forced_probe_with_an_unknown_verdict_is_one_line(monkeypatch):
    monkeypatch.setenv(compute.FORCE_PROBE_VAR, "fast")
    with pytest.raises(PlatypusError, match="PLATYPUS_FORCE_PROBE='fast': expected one of"):
        resolve(ComputeSettings(device="cpu"), allow_bf16=True)


# --- loading ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2_fp32():
    model, tokenizer = load_causal_lm()
    return LoglikScorer(model, tokenizer)


def test_default_load_is_plain_fp32_on_cpu(smollm2_fp32):
    model = smollm2_fp32.model
    assert model.dtype == torch.float32 and model.device.type == "cpu"
    assert not hasattr(model, "platypus_compute")
    policy_model, _ = load_causal_lm(compute=ComputeSettings(device="cpu"))
    assert isinstance(policy_model.platypus_compute, Policy)
    for a, b in zip(model.parameters(), policy_model.parameters(), strict=True):
        assert torch.equal(a, b)


def _mapped(path) -> bool:
    """Whether this process still maps `path` (a safetensors file loads as a memory map)."""
    return str(Path(path).resolve()) in Path("/proc/self/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_a_quantised_load_lets_go_of_the_checkpoint_file(tiny_llama):
    """transformers keeps full-precision weights as views of the safetensors map, which holds
    every page the quantisation read (3.8 GB for a 4-bit ~1.1B Llama): a quantised load copies
    them out so the map closes. A plain fp32 load keeps its zero-copy map."""
    import gc

    checkpoint = tiny_llama / "model.safetensors"
    plain, _ = load_causal_lm(tiny_llama, compute=ComputeSettings(device="cpu"))
    assert _mapped(checkpoint)
    del plain
    gc.collect()
    assert not _mapped(checkpoint)
    four, _ = load_causal_lm(tiny_llama, compute=ComputeSettings(device="cpu", quantization="4bit"))
    gc.collect()
    assert not _mapped(checkpoint)
    reference, _ = load_causal_lm(tiny_llama, dtype=torch.float32)
    ids = torch.tensor([[1, 5, 9, 2]])
    with torch.inference_mode():  # the copied weights are the checkpoint's: same embeddings
        assert torch.equal(four.get_input_embeddings()(ids), reference.get_input_embeddings()(ids))
        assert torch.equal(four.lm_head.weight, reference.lm_head.weight)


# NF4 is lossy on a 135M model: per-choice summed log-probabilities of 5 ARC/TruthfulQA items
# (4-6 choices, 2-20 tokens each) measured max |4bit - fp32| 6.52 nats, mean 1.97, correlation
# 0.93, every item's pick the same. A broken quantisation is off by tens of nats.
FOUR_BIT_MAX_NATS = 8.0
FOUR_BIT_MEAN_NATS = 3.0


def test_4bit_smollm2_on_cpu_scores_close_to_fp32(smollm2_fp32, shared_data):
    import bitsandbytes as bnb

    model, tokenizer = load_causal_lm(compute=ComputeSettings(device="cpu", quantization="4bit"))
    layer = model.model.layers[0].mlp.gate_proj
    assert isinstance(layer, bnb.nn.Linear4bit)
    assert layer.weight.quant_type == "nf4"
    requests = real_items(shared_data)
    quantised = logprobs(LoglikScorer(model, tokenizer), requests)
    reference = logprobs(smollm2_fp32, requests)
    q, r = torch.tensor(sum(quantised, [])), torch.tensor(sum(reference, []))
    diffs = (q - r).abs()
    assert 0 < diffs.max() < FOUR_BIT_MAX_NATS  # quantised, yet close
    assert diffs.mean() < FOUR_BIT_MEAN_NATS
    assert torch.corrcoef(torch.stack([q, r]))[0, 1] > 0.85
    picks = [[max(range(len(x)), key=x.__getitem__) for x in s] for s in (quantised, reference)]
    assert picks[0] == picks[1]


def test_offloaded_model_scores_like_the_whole_model(tmp_path, smollm2_dir, shared_data):
    """accelerate's big-model loading on a CPU-only host: a max_memory cap below the model's
    size puts part of it on disk (read back from the safetensors file layer by layer)."""
    folder = tmp_path / "llama"
    params = random_llama(folder, smollm2_dir, hidden=1024, layers=8, intermediate=2816)
    assert params > 190_000_000  # 195M: 780 MB in fp32
    whole, tokenizer = load_causal_lm(folder)
    settings = ComputeSettings(device="cpu", device_map="auto", max_memory={"cpu": "600MB"})
    offloaded, _ = load_causal_lm(folder, compute=settings)
    placed = set(offloaded.hf_device_map.values())
    assert placed == {"cpu", "disk"}, offloaded.hf_device_map
    requests = real_items(shared_data)
    a = logprobs(LoglikScorer(whole, tokenizer), requests)
    b = logprobs(LoglikScorer(offloaded, tokenizer), requests)
    for x, y in zip(a, b, strict=True):
        assert x == pytest.approx(y, abs=1e-4)


# --- eval records the policy ------------------------------------------------------------------


def test_results_record_the_policy_and_bf16_follows_the_probe(
    tmp_path, tiny_llama, cache, monkeypatch
):
    from platypus.eval.runner import run_eval

    folder = tiny_llama

    def evaluate(name: str, **extra):
        config = EvalConfig(
            model=str(folder),
            tasks=["truthfulqa_mc"],
            limit=2,
            output_dir=str(tmp_path / name),
            **extra,
        )
        run_eval(config)
        return json.loads((tmp_path / name / "results.json").read_text())

    plain = evaluate("plain")["settings"]["compute"]
    assert (plain["device"], plain["dtype"], plain["autocast"]) == ("cpu", "float32", None)
    assert plain["requested"]["dtype"] == "auto"

    monkeypatch.setattr(compute, "cpu_probe", fake_probe(1.1))
    slow = evaluate("slow", bf16=True)
    assert slow["settings"]["compute"]["autocast"] is None  # bf16 allowed but not faster here
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(2.5))
    fast = evaluate("fast", bf16=True)
    assert fast["settings"]["compute"]["autocast"] == "bfloat16"
    assert fast["settings"]["compute"]["probe"]["speedup"] == 2.5
    fp32_lls = [i["lls"] for i in slow["tasks"]["truthfulqa_mc"]["items"]]
    bf16_lls = [i["lls"] for i in fast["tasks"]["truthfulqa_mc"]["items"]]
    assert fp32_lls != bf16_lls  # scored anew in bf16, not read from the fp32 cache
    assert fp32_lls == [i["lls"] for i in evaluate("plain2")["tasks"]["truthfulqa_mc"]["items"]]


def test_embedder_takes_the_policy_device():
    from platypus.similarity.embed import Embedder

    embedder = Embedder(precision="bf16", use_cache=False, compute=ComputeSettings(device="cpu"))
    assert embedder.device == "cpu" and embedder.model.device.type == "cpu"
    assert embedder.encode(["a cat", "a dog"]).shape == (2, 384)
    if not torch.cuda.is_available():
        with pytest.raises(PlatypusError, match="device cuda requested"):
            Embedder(compute=ComputeSettings(device="cuda"), use_cache=False)


def test_embedding_precision_auto_follows_the_probe_and_the_outputs_record_it(
    tmp_path, monkeypatch
):
    """`precision: auto` (the default) embeds in bf16 only where the probe finds it faster: on
    a CPU that emulates bf16 it would be about 4x slower than fp32. The dedup outputs name the
    precision and device it became, not `auto`."""
    from platypus.config import DecontaminateConfig, DedupConfig
    from platypus.data.dedup.run import dedup
    from platypus.similarity.engine import resolve_embedding

    assert DedupConfig().precision == DecontaminateConfig().precision == "auto"
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(1.1))
    assert resolve_embedding(DedupConfig()).precision == "fp32"
    assert resolve_embedding(DedupConfig(precision="bf16")).precision == "bf16"  # as given
    fixed = DedupConfig(compute=ComputeSettings(dtype="float32"))
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(2.5))
    assert resolve_embedding(DecontaminateConfig()).precision == "bf16"
    assert resolve_embedding(fixed).precision == "fp32"  # weights fixed at fp32: no probe
    assert resolve_embedding(DedupConfig(embed_backend="onnx")).precision == "int8"
    assert resolve_embedding(DedupConfig(embed_backend="openvino")).precision == "fp32"
    with pytest.raises(ValueError, match="resolved"):
        DedupConfig().effective_rescore_margin  # noqa: B018

    monkeypatch.setattr(compute, "cpu_probe", fake_probe(1.1))
    texts = ["a cat", "a cat!", "a dog"]
    rows = [{"id": f"r{i}", "instruction": text, "input": "", "output": "x" * (i + 1),
             "data_source": "t"} for i, text in enumerate(texts)]  # fmt: skip
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = dedup(DedupConfig(cache=False), path, tmp_path / "out")
    assert "`all-MiniLM-L6-v2` (fp32)" in (tmp_path / "out" / "report.md").read_text()
    recorded = json.loads((tmp_path / "out" / "dedup.json").read_text())["config"]
    assert recorded["precision"] == "fp32" and recorded["compute"]["device"] == "cpu"
    assert len(result.kept) == 2


def test_training_bf16_auto_follows_the_probe_and_is_part_of_the_checkpoint(
    tmp_path, tiny_llama, cache, monkeypatch
):
    """`bf16: auto` autocasts only where the host's probe finds bf16 faster; `true` is taken as
    given; what auto became is recorded and a checkpoint made under the other choice is not
    resumed. The plan counts the same choice."""
    from platypus.config import Recipe, TrainConfig
    from platypus.sizing import train_autocast
    from platypus.train.recipe import LoraRecipe

    folder = tiny_llama
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "r1", "instruction": "Add 2 and 3.", "input": "",
                                "output": "5", "data_source": "t"}) + "\n")  # fmt: skip

    def prepared(bf16):
        config = TrainConfig(model=str(folder), bf16=bf16, val_size=0,
                             output_dir=str(tmp_path / "out"))  # fmt: skip
        recipe = LoraRecipe(config, data)
        recipe.setup()
        return recipe

    monkeypatch.setattr(compute, "cpu_probe", fake_probe(1.1))
    slow = prepared("auto")
    assert slow.autocast_dtype is None and slow.compute_record()["autocast"] is None
    assert not train_autocast(slow.config, gpu=False) and train_autocast(slow.config, gpu=True)
    given = prepared(True)  # asked for, so used whatever the probe says
    assert given.autocast_dtype == torch.bfloat16
    monkeypatch.setattr(compute, "cpu_probe", fake_probe(2.5))
    fast = prepared("auto")
    assert fast.autocast_dtype == torch.bfloat16
    assert fast.compute_record()["autocast"] == "bfloat16"
    assert train_autocast(fast.config, gpu=False)
    assert fast.fingerprint != slow.fingerprint  # the other choice's checkpoints are not resumed
    recipe = Recipe.model_validate({"train": {"bf16": "auto"}})
    assert recipe.train.bf16 == "auto"
