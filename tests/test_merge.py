"""Merging: streaming I/O, adapter merge vs PEFT, transplant checks, mergekit parity."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file

from platypus.cli import build_parser, main
from platypus.config import EmbeddingSettings, MergeConfig, validated
from platypus.errors import PlatypusError
from platypus.hashing import file_sha256, weights_fingerprint
from platypus.merge.methods import METHODS, TensorMerge, get, names
from platypus.merge.methods.task_arithmetic import task_arithmetic
from platypus.merge.run import merge
from platypus.merge.tensor_writer import StreamWriter
from platypus.merge.tensors import Checkpoint, TensorInfo
from platypus.models import load_causal_lm, prepared_path


def tiny_llama(folder, seed: int, base=None, noise: float = 0.02, vocab: int = 256, layers=2):
    """A small random Llama, or a 'fine-tune' of `base` (its weights plus seeded noise)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    if base is not None:
        ref = LlamaForCausalLM.from_pretrained(base)
        with torch.no_grad():
            for (_, p), (_, q) in zip(
                model.named_parameters(), ref.named_parameters(), strict=True
            ):
                p.copy_(q + noise * torch.randn_like(q))
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    base = tiny_llama(root / "base", 0)
    return {
        "base": base,
        "a": tiny_llama(root / "a", 1, base),
        "b": tiny_llama(root / "b", 2, base),
        "c": tiny_llama(root / "c", 3, base),
    }


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A LoRA adapter on SmolLM2 with non-zero, modest weights on the Platypus modules."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model, _ = load_causal_lm()
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["gate_proj", "up_proj", "down_proj"],
        init_lora_weights=False,
    )
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.mul_(0.3)
    folder = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(folder)
    return folder


def test_stream_writer_shards_round_trip(tmp_path):
    tensors = {
        "a": torch.randn(3, 5),
        "b": torch.arange(7, dtype=torch.int64),
        "c": torch.randn(4, 4).to(torch.bfloat16),
        "d": torch.randn(100),
    }
    infos = [TensorInfo(k, v.dtype, tuple(v.shape)) for k, v in tensors.items()]
    writer = StreamWriter(tmp_path, infos, max_shard_bytes=128)
    for k, v in tensors.items():
        writer.write(k, v)
    writer.close()
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) == 3
    ckpt = Checkpoint(tmp_path)
    for k, v in tensors.items():
        assert torch.equal(ckpt.get(k), v)
    loaded = {}
    for f in set(index["weight_map"].values()):
        loaded |= load_file(tmp_path / f)  # the reference reader accepts the files
    assert loaded.keys() == tensors.keys()
    with pytest.raises(RuntimeError, match="order"):
        StreamWriter(tmp_path / "x", infos, 1 << 20).write("b", tensors["b"])
    # Each shard's SHA-256, taken from the bytes as written, is the file's.
    assert writer.digests == {
        f: file_sha256(tmp_path / f) for f in set(index["weight_map"].values())
    }


def test_mapped_reads_are_the_files_bytes_and_never_shared(tmp_path, monkeypatch):
    """Tensors come as views of a private memory map: the same values as plain reads (which a
    tensor not aligned for its dtype still gets), a method writing into one changes neither
    the file nor a second read of the same tensor, and once freed its pages are handed back
    (the next read sees the file again, not the change)."""
    tensors = {
        "odd": torch.randn(3).to(torch.bfloat16),  # 6 bytes: what follows is misaligned
        "after": torch.randn(5),
        "pad": torch.randn(3).to(torch.bfloat16),  # 6 more: aligned again for what follows
        "w": torch.randn(300, 40),
        "ids": torch.arange(9, dtype=torch.int64),
    }
    infos = [TensorInfo(k, v.dtype, tuple(v.shape)) for k, v in tensors.items()]
    writer = StreamWriter(tmp_path, infos, max_shard_bytes=1 << 30)
    for k, v in tensors.items():
        writer.write(k, v)
    writer.close()
    raw = (tmp_path / "model.safetensors").read_bytes()
    ckpt = Checkpoint(tmp_path)
    if not Checkpoint.MAP:
        pytest.skip("no memory maps with madvise on this platform")
    for k, v in tensors.items():
        t = ckpt.get(k)
        assert torch.equal(t, v), k
        assert (k in ckpt._lent) == (k != "after"), k  # mapped unless misaligned
        del t
    assert not ckpt._lent  # every mapped tensor handed back as it was freed
    monkeypatch.setattr(Checkpoint, "MAP", False)
    assert all(torch.equal(Checkpoint(tmp_path).get(k), v) for k, v in tensors.items())
    monkeypatch.setattr(Checkpoint, "MAP", True)

    w = ckpt.get("w")
    view = w[10:20]  # a view keeps the pages lent after the tensor itself is gone
    w.mul_(-2.0)
    again = ckpt.get("w")  # lent already: a plain read, its own memory
    assert torch.equal(again, tensors["w"]) and again.data_ptr() != w.data_ptr()
    del w
    assert "w" in ckpt._lent and torch.equal(view, tensors["w"][10:20] * -2.0)
    del view, again
    assert "w" not in ckpt._lent
    assert torch.equal(ckpt.get("w"), tensors["w"])  # the written pages were dropped
    # w's last page is also the first of "ids": written through w and kept while ids is out,
    # it must not reach a later read of w
    w = ckpt.get("w")
    w.mul_(-2.0)
    ids = ckpt.get("ids")
    del w
    again = ckpt.get("w")
    assert torch.equal(again, tensors["w"]) and "w" not in ckpt._lent  # a plain read
    del again, ids
    w = ckpt.get("w")
    assert torch.equal(w, tensors["w"]) and "w" in ckpt._lent  # mapped again, page dropped
    assert (tmp_path / "model.safetensors").read_bytes() == raw


def test_a_mapped_inputs_delta_is_its_own_memory_with_the_same_bits(tmp_path, monkeypatch):
    """A consumed input that is a view of a memory map becomes its delta in new memory, slice
    by slice (its pages handed back as read, the file's values if it is read again), with the
    bits of `t - base`; the caller's own tensor is overwritten in place as before."""
    from platypus.merge.methods import base as method_base
    from platypus.merge.methods.base import minus
    from platypus.merge.tensors import is_mapped

    g = torch.Generator().manual_seed(4)
    w, b = torch.randn(3000, 70, generator=g), torch.randn(3000, 70, generator=g)
    writer = StreamWriter(tmp_path, [TensorInfo("w", w.dtype, tuple(w.shape))], 1 << 30)
    writer.write("w", w)
    writer.close()
    monkeypatch.setattr(method_base, "CHUNK", 997)  # slices that end inside pages
    t = Checkpoint(tmp_path).get("w")
    if not is_mapped(t):
        pytest.skip("no memory maps with madvise on this platform")
    delta = minus(t, b, own=False)
    assert torch.equal(delta, w - b) and not is_mapped(delta)
    assert torch.equal(t, w)  # handed-back pages read again from the file
    mine = w.clone()
    assert minus(mine, b, own=True).data_ptr() == mine.data_ptr() and torch.equal(mine, w - b)


def test_streamed_reads_hold_about_one_tensor(tmp_path):
    """Reading a file's tensors one after another, each used and dropped, keeps the resident
    set near one tensor (the mapped pages are handed back), not the file's size."""
    from platypus.memory import rss_mb

    if not Checkpoint.MAP or rss_mb() is None:
        pytest.skip("no memory maps with madvise on this platform")
    n, mb = 12, 16
    infos = [TensorInfo(f"t{i}", torch.float32, (mb << 18,)) for i in range(n)]
    writer = StreamWriter(tmp_path, infos, max_shard_bytes=1 << 30)
    for i, e in enumerate(infos):
        writer.write(e.name, torch.full(e.shape, float(i)))
    writer.close()
    ckpt = Checkpoint(tmp_path)
    start, grown = rss_mb(), 0.0
    for i, e in enumerate(infos):
        t = ckpt.get(e.name)
        assert float(t.sum()) == float(i) * t.numel()  # every page touched
        grown = max(grown, rss_mb() - start)
        del t
    assert grown < 3 * mb, f"resident set grew {grown:.0f} MB over {n} reads of {mb} MB"


def test_finite_is_torchs_isfinite_all():
    """`finite` (min and max by one aminmax pass) against the library's own `isfinite().all()`
    on every float dtype, with a NaN or an infinity anywhere, or none."""
    from platypus.merge.tensors import finite

    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        for bad in (None, float("nan"), float("inf"), -float("inf")):
            for shape in ((1,), (3, 5), (1000, 7)):
                t = torch.randn(shape, generator=g).to(dtype)
                if bad is not None:
                    flat = t.view(-1)
                    flat[int(torch.randint(flat.numel(), (1,), generator=g))] = bad
                assert finite(t) == bool(torch.isfinite(t).all()), (dtype, bad, shape)
    assert finite(torch.empty(0)) and finite(torch.arange(5))


def test_adapter_merge_matches_base_plus_adapter(tmp_path, adapter, capsys):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "merged"
    code = main(["merge", "--adapter", str(adapter), "--output-dir", str(out)])
    assert code == 0, capsys.readouterr().err
    model, tok = load_causal_lm()
    reference = PeftModel.from_pretrained(model, adapter).eval()
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    ids = AutoTokenizer.from_pretrained(out)("The derivative of x^2 is", return_tensors="pt")
    with torch.no_grad():
        want = reference(**ids).logits
        got = merged(**ids).logits
        base = load_causal_lm()[0](**ids).logits
    assert (want - base).abs().max() > 0.05  # the adapter changes the model
    assert torch.allclose(got, want, atol=1e-3), (got - want).abs().max()
    # Same weights as PEFT's own merge_and_unload.
    peft_merged = reference.merge_and_unload().state_dict()
    ours = merged.state_dict()
    for name in ("model.layers.0.mlp.gate_proj.weight", "model.layers.29.mlp.down_proj.weight"):
        assert torch.allclose(ours[name], peft_merged[name], atol=1e-6)
    card = json.loads((out / "merge.json").read_text())
    assert card["adapter"]["modules"] == 90 and card["compatibility"]["ok"]
    assert {i["role"] for i in card["inputs"]} == {"adapter", "base"}
    assert ModelCard.load(out / "README.md").text.startswith("# Merged model (adapter)")
    # bf16 output: merged in fp32, then cast.
    code = main(
        [
            "merge",
            "--adapter",
            str(adapter),
            "--dtype",
            "bfloat16",
            "--output-dir",
            str(tmp_path / "bf16"),
        ]
    )
    assert code == 0
    half = AutoModelForCausalLM.from_pretrained(tmp_path / "bf16")
    assert half.dtype == torch.bfloat16
    w = load_file(out / "model.safetensors")["model.layers.0.mlp.up_proj.weight"]
    assert torch.equal(half.state_dict()["model.layers.0.mlp.up_proj.weight"], w.bfloat16())
    capsys.readouterr()


def test_transplant_and_its_checks(tmp_path, adapter, tiny, capsys):
    # Target: another fine-tune of SmolLM2 (here: SmolLM2 with the adapter already merged).
    first = tmp_path / "ft"
    assert main(["merge", "--adapter", str(adapter), "--output-dir", str(first)]) == 0
    out = tmp_path / "transplant"
    code = main(_transplant_args(adapter, first, out))
    assert code == 0, capsys.readouterr().err
    base = load_file(prepared_path() / "model.safetensors")
    once, twice = load_file(first / "model.safetensors"), load_file(out / "model.safetensors")
    name = "model.layers.3.mlp.gate_proj.weight"
    assert torch.allclose(twice[name] - base[name], 2 * (once[name] - base[name]), atol=1e-5)
    assert torch.equal(
        twice["model.layers.3.self_attn.q_proj.weight"],
        base["model.layers.3.self_attn.q_proj.weight"],
    )
    card = json.loads((out / "merge.json").read_text())
    assert card["compatibility"]["delta_ratio_max"] < 0.5
    capsys.readouterr()
    # A different architecture is refused with the reasons, in one line.
    code = main(_transplant_args(adapter, tiny["a"], tmp_path / "no"))
    err = capsys.readouterr().err
    assert code == 2 and "hidden_size: adapter base 576, target 64" in err
    assert "vocab_size: adapter base 49152, target 256" in err and err.count("\n") == 1
    # A delta large next to the weights is refused unless forced.
    config = MergeConfig(
        method="transplant",
        adapter=str(adapter),
        target_model=str(first),
        max_delta_ratio=0.001,
        output_dir=str(tmp_path / "big"),
    )
    with pytest.raises(Exception, match="delta too large"):
        merge(config)
    forced = merge(config.model_copy(update={"force": True}))
    assert forced.card["compatibility"]["problems"]


def _transplant_args(adapter, target, out) -> list[str]:
    return ["merge", "--method", "transplant", "--adapter", str(adapter),
            "--target-model", str(target), "--output-dir", str(out)]  # fmt: skip


def _mergekit(tmp_path, name, config: dict):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    out = tmp_path / f"mk-{name}"
    run_merge(
        MergeConfiguration.model_validate(config),
        str(out),
        MergeOptions(copy_tokenizer=False, write_model_card=False, quiet=True),
    )
    return load_file(out / "model.safetensors")


CASES = {
    "linear": ({"weight": 0.7}, {"weight": 0.3}, {}),
    "slerp": (None, None, {"t": 0.3}),
    "task_arithmetic": ({"weight": 0.6}, {"weight": 0.8}, {}),
    "ties": ({"weight": 0.6, "density": 0.5}, {"weight": 0.8, "density": 0.3}, {}),
}


@pytest.mark.parametrize("method", list(CASES))
def test_matches_mergekit(tmp_path, tiny, method):
    pytest.importorskip("mergekit")
    pa, pb, extra = CASES[method]
    if method == "slerp":
        mk = {
            "merge_method": "slerp",
            "base_model": str(tiny["base"]),
            "models": [{"model": str(tiny["base"])}, {"model": str(tiny["a"])}],
            "parameters": {"t": extra["t"]},
            "dtype": "float32",
        }
        ours = MergeConfig(
            method="slerp",
            base_model=str(tiny["base"]),
            t=extra["t"],
            models=[{"model": str(tiny["a"])}],
            output_dir=str(tmp_path / "o"),
        )
    else:
        models = [
            {"model": str(tiny["a"]), "parameters": pa},
            {"model": str(tiny["b"]), "parameters": pb},
        ]
        mk = {"merge_method": method, "models": models, "dtype": "float32"}
        if method != "linear":
            mk["base_model"] = str(tiny["base"])
        ours = MergeConfig(
            method=method,
            base_model=str(tiny["base"]),
            output_dir=str(tmp_path / "o"),
            models=[{"model": str(tiny[k]), **p} for k, p in (("a", pa), ("b", pb))],
        )
    want = _mergekit(tmp_path, method, mk)
    result = merge(ours)
    got = load_file(tmp_path / "o" / "model.safetensors")
    assert got.keys() == want.keys()
    # The card's hashes, taken while merging (inputs on a thread, the output as written).
    assert result.card["output"] == {
        "model.safetensors": file_sha256(tmp_path / "o" / "model.safetensors")
    }
    for entry in result.card["inputs"]:
        assert entry["sha256"] == {
            "model.safetensors": file_sha256(Path(entry["path"]) / "model.safetensors")
        }
    base = load_file(tiny["base"] / "model.safetensors")
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-6, rtol=1e-5), (method, k)
    changed = sum(not torch.equal(got[k], base[k]) for k in got)
    assert changed == len(got)  # every tensor took part


@pytest.mark.parametrize("method", ["dare_linear", "dare_ties"])
def test_dare_matches_mergekit_given_its_random_draws(tmp_path, tiny, method):
    """DARE is random: mergekit's draw (read back from its output for a single model) replayed
    through our code gives its result; our own draws are seeded per tensor."""
    pytest.importorskip("mergekit")
    params = {"weight": 0.9, "density": 0.4}
    want = _mergekit(
        tmp_path,
        method,
        {
            "merge_method": method,
            "base_model": str(tiny["base"]),
            "models": [{"model": str(tiny["a"]), "parameters": params}],
            "dtype": "float32",
        },
    )
    base = load_file(tiny["base"] / "model.safetensors")
    a = load_file(tiny["a"] / "model.safetensors")
    for k in want:
        mask = (want[k] != base[k]).float()
        got = task_arithmetic(method, base[k], [a[k]], [0.9], [0.4], masks=[mask], name=k)
        assert torch.allclose(got, want[k], atol=1e-6), k
    # Ours: same seed -> same model; another seed -> another draw; about 40% kept.
    runs = {}
    for seed in (1, 1, 2):
        out = tmp_path / f"ours-{seed}-{len(runs)}"
        merge(
            MergeConfig(
                method=method,
                base_model=str(tiny["base"]),
                seed=seed,
                models=[{"model": str(tiny["a"]), **params}],
                output_dir=str(out),
            )
        )
        runs[str(out)] = load_file(out / "model.safetensors")
    first, same, other = runs.values()
    k = "model.layers.0.mlp.up_proj.weight"
    assert torch.equal(first[k], same[k]) and not torch.equal(first[k], other[k])
    kept = float((first[k] != base[k]).float().mean())
    assert 0.37 < kept < 0.43


def test_merge_outputs_load_and_errors(tmp_path, tiny, capsys):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "lin"
    code = main(
        [
            "merge",
            "--method",
            "linear",
            "--models",
            f"{tiny['a']},{tiny['b']}",
            "--weights",
            "1,3",
            "--output-dir",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.hidden_size == 64
    card = json.loads((out / "merge.json").read_text())
    assert [i["weight"] for i in card["inputs"]] == [1.0, 3.0]
    assert all(len(next(iter(i["sha256"].values()))) == 64 for i in card["inputs"])
    other = tiny_llama(tmp_path / "other", 5, vocab=300)
    capsys.readouterr()
    for argv, expected in [
        (["merge", "--method", "linear", "--models", f"{tiny['a']},{other}"], "has shape"),
        (
            [
                "merge",
                "--method",
                "slerp",
                "--base-model",
                str(tiny["base"]),
                "--models",
                f"{tiny['a']},{tiny['b']}",
            ],
            "exactly one other model",
        ),
        (["merge", "--method", "ties", "--models", str(tmp_path / "missing")], "not a local model"),
        (["merge", "--adapter", str(tmp_path)], "not a PEFT adapter"),
        (["merge", "--method", "linear", "--models", "a,b", "--weights", "1"], "--weights"),
    ]:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and expected in err and err.count("\n") == 1, err


def test_data_overlap_report(tmp_path):
    from platypus.config import DedupConfig
    from platypus.merge.overlap import overlap_report

    def rows(items):
        fields = {"input": "", "output": "x", "data_source": "t"}
        return "".join(
            json.dumps({"id": str(i), "instruction": t, **fields}) + "\n"
            for i, t in enumerate(items)
        )

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(rows(["What is 2 + 2?", "Name the capital of France.", "Define entropy."]))
    b.write_text(rows(["What is 2 + 2?", "What's the capital city of France?", "Write a poem."]))
    (r,) = overlap_report([str(a), str(b)], DedupConfig(), 0.8)
    assert (
        r["exact_shared"] == 1 and r["near_a"] == 2 and r["near_fraction_b"] == pytest.approx(2 / 3)
    )


def _cli_choices(command: str, option: str) -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and command in a.choices)
    return next(a.choices for a in sub.choices[command]._actions if option in a.option_strings)


def test_registry_is_what_config_and_cli_accept():
    assert names() == sorted(METHODS) and all(get(n).name == n for n in METHODS)
    for name in METHODS:
        assert MergeConfig(method=name).method == name
    assert _cli_choices("merge", "--method") == names()
    assert {"adapter", "transplant", "linear", "slerp", "ties", "dare_ties"} <= set(METHODS)


def test_unknown_method_is_one_line_naming_the_registered():
    for raises in (
        lambda: validated(MergeConfig, {"method": "nope"}, "recipe"),
        lambda: get("nope"),
    ):
        with pytest.raises(PlatypusError) as info:
            raises()
        message = str(info.value)
        assert "\n" not in message and "'nope'" in message
        assert f"registered: {', '.join(names())}" in message


def test_registry_import_leaves_torch_out():
    """The CLI builds its --method choices from the registry: no torch on every start."""
    import subprocess
    import sys

    code = "import sys, platypus.merge.methods; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_parameters_are_the_methods_and_checked_by_them():
    """Method parameters live in `parameters:` (the merge's and each model's), also when
    written beside the fields as recipes did (`t: 0.3`, a model's `weight`); the method refuses
    a name it does not declare, in one line naming where it was."""
    config = MergeConfig(method="slerp", base_model="b", t=0.3, models=[{"model": "a"}])
    assert config.parameters == {"t": 0.3} and config.models[0].parameters == {}
    ties = MergeConfig(method="ties", base_model="b",
                       models=[{"model": "a", "weight": 0.6, "density": 0.5}])  # fmt: skip
    assert ties.models[0].parameters == {"weight": 0.6, "density": 0.5}
    with pytest.raises(ValueError, match="given both beside and in parameters"):
        MergeConfig(method="slerp", t=0.3, parameters={"t": 0.4})
    typo = MergeConfig(method="ties", base_model="b", models=[{"model": "a", "wieght": 1.0}])
    with pytest.raises(PlatypusError, match=r"models\[0\].parameters has no parameter 'wieght' "
                       r"\(it takes: density, weight\)"):  # fmt: skip
        get("ties").validate(typo)
    with pytest.raises(PlatypusError, match="parameters has no parameter 'density'"):
        get("linear").validate(MergeConfig(method="linear", density=0.5, models=[{"model": "a"}]))
    for method in METHODS.values():
        names = [p.name for p in method.parameters]
        assert len(set(names)) == len(names), method.name


# mergekit parameters platypus leaves out: for task_arithmetic, the sparsification settings it
# accepts and ignores (int8_mask, an int8 mask buffer with the same result, is accepted).
NOT_DECLARED: set[str] = set()
IGNORED_BY_MERGEKIT = {"task_arithmetic": {"density", "rescale"}}
PLATYPUS_ONLY = {"seed"}  # mergekit draws DARE's drops from torch's global generator


def test_declared_defaults_match_mergekit():
    pytest.importorskip("mergekit")
    from mergekit.merge_methods import registry
    from mergekit.merge_methods.base import BasePolicy, ParameterScope

    # the methods added with their own registry checks (test_merge_methods_geometric.py,
    # test_merge_methods_delta.py) are read there; these are checked here
    names = {"linear", "slerp", "task_arithmetic", "ties", "dare_linear", "dare_ties",
             "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "model_stock"}  # fmt: skip
    tensor_methods = [m for m in METHODS.values() if m.name in names]
    assert all(isinstance(m, TensorMerge) for m in tensor_methods) and len(tensor_methods) == 11
    for ours in tensor_methods:
        spec = registry.get(ours.name).spec
        theirs = {p.name: p for p in spec.parameters}
        declared = {p.mergekit_name for p in ours.parameters}
        skipped = NOT_DECLARED | IGNORED_BY_MERGEKIT.get(ours.name, set())
        assert set(theirs) - declared == skipped & set(theirs), ours.name
        assert (spec.contract.base == BasePolicy.REQUIRED) == ours.needs_base, ours.name
        base = int(ours.needs_base and spec.contract.min_inputs > 1)  # slerp counts the base
        assert spec.contract.min_inputs - base == ours.min_models, ours.name
        high = spec.contract.max_inputs
        assert (None if high is None else high - base) == ours.max_models, ours.name
        for p in ours.parameters:
            if p.name in PLATYPUS_ONLY:
                continue
            mk = theirs[p.mergekit_name]
            assert (mk.scope != ParameterScope.SHARED) == p.per_model, (ours.name, p.name)
            assert isinstance(p.default, mk.value_type), (ours.name, p.name)
            if not mk.required:  # mergekit requires weight and t; platypus defaults them
                assert p.default == mk.default, (ours.name, p.name)


def test_overlap_report_uses_the_given_embedding_settings(tmp_path, tiny, monkeypatch):
    import platypus.merge.overlap as overlap
    from platypus.similarity.engine import resolve_embedding

    seen = []

    def report(paths, settings, threshold):
        seen.append(settings)
        return [{"a": "a", "b": "b", "rows_a": 1, "rows_b": 1, "exact_shared": 0, "near_a": 0,
                 "near_b": 0, "near_fraction_a": 0.0, "near_fraction_b": 0.0,
                 "threshold": threshold}]  # fmt: skip

    monkeypatch.setattr(overlap, "overlap_report", report)
    config = MergeConfig(
        method="linear",
        models=[{"model": str(tiny["a"])}, {"model": str(tiny["b"])}],
        overlap=["a.jsonl", "b.jsonl"],
        output_dir=str(tmp_path / "o"),
    )
    settings = EmbeddingSettings(model="minilm", precision="fp32", cache=False)
    card = merge(config, embedding=settings).card
    # Given settings, made concrete for this host (the device `auto` became).
    assert seen[-1] == resolve_embedding(settings) and seen[-1].compute.device == "cpu"
    assert seen[-1].model_copy(update={"compute": settings.compute}) == settings
    assert card["data_overlap_embedding"] == {"model": "minilm", "precision": "fp32"}
    out = tmp_path / "o"
    assert "minilm, fp32" in (out / "README.md").read_text()
    assert json.loads((out / "merge.json").read_text())["data_overlap"] == card["data_overlap"]
    assert (out / "overlap.md").read_text().startswith("| set A")
    assert not [f for f in out.iterdir() if f.name.startswith(".")]  # no temp files left
    # Without settings: the defaults (what the recipe's dedup section starts from), with the
    # precision `auto` became on this host recorded.
    card = merge(config).card
    default = resolve_embedding(EmbeddingSettings())
    assert seen[-1] == default and default.precision in ("fp32", "bf16")
    assert card["data_overlap_embedding"] == {"model": None, "precision": default.precision}


def test_adapter_onto_another_base_of_equal_shapes_is_refused(tmp_path, adapter, capsys):
    # `first` is SmolLM2 with the adapter merged: same shapes, other weights.
    first = tmp_path / "ft"
    assert main(["merge", "--adapter", str(adapter), "--output-dir", str(first)]) == 0
    trained = tmp_path / "adapter"
    shutil.copytree(adapter, trained)
    record = {"base_model": None, "weights_fingerprint": weights_fingerprint(prepared_path())}
    (trained / "platypus_base.json").write_text(json.dumps(record))
    capsys.readouterr()
    argv = ["merge", "--adapter", str(trained), "--base-model", str(first)]
    code = main([*argv, "--output-dir", str(tmp_path / "no")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "the adapter was trained on base weights" in err and str(first) in err
    assert main([*argv, "--output-dir", str(tmp_path / "yes"), "--force"]) == 0
    card = json.loads((tmp_path / "yes" / "merge.json").read_text())
    assert any("trained on base weights" in p for p in card["compatibility"]["problems"])
    # On its own base the record matches and the merge goes ahead.
    assert main(["merge", "--adapter", str(trained), "--output-dir", str(tmp_path / "ok")]) == 0


def test_a_recipe_fills_in_the_trained_base_where_a_base_is_required():
    from platypus.config import Recipe
    from platypus.pipeline.stages import STAGES

    stage = STAGES["merge"]
    trained = {"train": {"model": "some/base"}}
    assert stage.config(Recipe.model_validate(trained)).base_model == "some/base"
    two = [{"model": "a"}, {"model": "b"}]
    multislerp = trained | {"merge": {"method": "multislerp", "models": two}}
    assert stage.config(Recipe.model_validate(multislerp)).base_model is None
    ties = trained | {"merge": {"method": "ties", "models": [{"model": "a"}]}}
    assert stage.config(Recipe.model_validate(ties)).base_model == "some/base"
