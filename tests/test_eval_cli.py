"""`platypus eval`: results, cache, adapters, contamination split and errors."""

import json

import pytest

from platypus.cli import main
from platypus.models import load_causal_lm


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A LoRA adapter with non-zero weights on the Platypus target modules (untrained)."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model, _ = load_causal_lm()
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["gate_proj", "up_proj", "down_proj"],
                        init_lora_weights=False)  # fmt: skip
    folder = tmp_path_factory.mktemp("adapter")
    get_peft_model(model, config).save_pretrained(folder)
    return folder


def test_eval_writes_results_and_caches(tmp_path, capsys, shared_data):
    args = ["eval", "--tasks", "arc_challenge,truthfulqa_mc", "--limit", "3", "--data-root",
            str(shared_data)]  # fmt: skip
    code, out, err = run(capsys, *args, "--output-dir", str(tmp_path / "a"), "--no-cache")
    assert code == 0, err
    assert "| arc_challenge | acc_norm |" in out and "| truthfulqa_mc | mc2 |" in out
    first = json.loads((tmp_path / "a" / "results.json").read_text())
    assert first["tasks"]["arc_challenge"]["summary"]["items"] == 3
    assert len(first["tasks"]["truthfulqa_mc"]["items"][0]["extra_lls"]) > 0
    assert (tmp_path / "a" / "results.md").read_text().startswith("| task | metric |")
    # Cached: the second run reads the stored task results (same numbers).
    run(capsys, *args, "--output-dir", str(tmp_path / "b"))
    code, _, err = run(capsys, *args, "--output-dir", str(tmp_path / "c"))
    assert code == 0, err
    again = json.loads((tmp_path / "c" / "results.json").read_text())
    assert again["tasks"] == first["tasks"]


def test_adapter_and_contamination_split(tmp_path, capsys, shared_data, adapter):
    leaks = tmp_path / "leaks.jsonl"
    leaks.write_text(json.dumps({"benchmark_id": "arc_challenge/Mercury_7175875",
                                 "category": "duplicate"}) + "\n")  # fmt: skip
    common = ["eval", "--tasks", "arc_challenge", "--limit", "3", "--no-cache",
              "--data-root", str(shared_data), "--contamination", str(leaks)]  # fmt: skip
    assert run(capsys, *common, "--output-dir", str(tmp_path / "base"))[0] == 0
    code, out, err = run(capsys, *common, "--adapter", str(adapter), "--output-dir",
                         str(tmp_path / "lora"))  # fmt: skip
    assert code == 0, err
    base = json.loads((tmp_path / "base" / "results.json").read_text())
    lora = json.loads((tmp_path / "lora" / "results.json").read_text())
    assert lora["model_fingerprint"].startswith(base["model_fingerprint"] + "-")
    b, a = base["tasks"]["arc_challenge"], lora["tasks"]["arc_challenge"]
    assert b["items"][0]["lls"] != a["items"][0]["lls"]  # the adapter changes the model
    assert b["split"]["contaminated"]["items"] == 1 and b["split"]["clean"]["items"] == 2


def test_eval_errors_are_one_line(tmp_path, capsys):
    for argv, expected in [
        (["eval", "--tasks", "drop"], "tasks.0"),
        (["eval", "--tasks", "mmlu", "--data-root", str(tmp_path)], "MMLU split folder not found"),
        (["eval", "--tasks", "mmlu", "--adapter", str(tmp_path / "none")], "adapter folder"),
    ]:
        code, _, err = run(capsys, *argv, "--output-dir", str(tmp_path / "out"))
        assert code == 2 and expected in err and err.count("\n") == 1, err


def test_empty_task_and_stratified_sample(tmp_path, capsys, shared_data):
    from platypus.eval.run import subsample
    from platypus.tasks import load_task

    (tmp_path / "truthfulqa").mkdir()
    (tmp_path / "truthfulqa" / "mc_task.json").write_text("[]")
    code, _, err = run(capsys, "eval", "--tasks", "truthfulqa_mc", "--data-root", str(tmp_path))
    assert code == 2 and "truthfulqa_mc: no items to score" in err and err.count("\n") == 1

    items = load_task("mmlu", shared_data)
    sample = subsample(items, 114, "stratified")
    assert len(sample) == 114 and sample == subsample(items, 114, "stratified")
    assert {i.subject for i in sample} == {i.subject for i in items}  # all 57 subjects, 2 each
    assert [items.index(i) for i in sample] == sorted(items.index(i) for i in sample)
    assert subsample(items, 5, "first") == items[:5]
    arc = load_task("arc_challenge", shared_data)
    spread = subsample(arc, 10, "stratified")
    assert spread[0] is not arc[0] and arc.index(spread[-1]) > len(arc) * 0.9


def test_tokenizer_without_pad_token(shared_data):
    """Padding falls back to EOS; pad positions never touch the scores."""
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer = load_causal_lm()
    requests = [("Question: 2 + 2 =\nAnswer:", [" A", " B"]), ("Q: a much longer question, "
                "with more words in it than the other one?\nAnswer:", [" A", " B"])]  # fmt: skip
    with_pad = LoglikScorer(model, tokenizer, batch_size=2).score_many(requests)
    tokenizer.pad_token = None
    assert tokenizer.pad_token_id is None
    without = LoglikScorer(model, tokenizer, batch_size=2).score_many(requests)
    assert [s.logprob for r in without for s in r] == pytest.approx(
        [s.logprob for r in with_pad for s in r], abs=1e-5
    )


def test_batch_size_auto_scores_as_batch_1(tmp_path, capsys, shared_data, monkeypatch):
    """`--batch-size auto` picks the largest power of two whose planned forward pass fits half
    the free memory, no more than the items, records the number it ran with, and gives the
    per-choice log-likelihoods batch 1 gives; the batch size is no part of a result's key."""
    import torch

    from platypus.compute import Policy
    from platypus.config import EvalConfig, result_config
    from platypus.eval import batching
    from platypus.eval.runner import cache_key
    from platypus.sizing import AUTO_BATCH_SHARE, Hardware, eval_memory, resolve_arch

    # The rule: with room for exactly 8 rows beside the loaded weights, 8; fewer items, fewer.
    arch = resolve_arch(None)
    hw = Hardware("cpu", 1, 0.0, 0.0, 0.0, gpu=False)
    mem = eval_memory(arch, compute=EvalConfig().compute, hw=hw, batch=8, length=2048,
                      autocast=False)  # fmt: skip
    rows8 = sum(v for k, v in mem.items() if k not in ("weights", "runtime"))
    policy = Policy(device="cpu", dtype=torch.float32)
    monkeypatch.setattr(batching, "free_memory_gb", lambda device: rows8 / AUTO_BATCH_SHARE)
    assert batching.resolve_batch_size("auto", arch, policy, "cpu", 1000, loaded=True) == 8
    assert batching.resolve_batch_size("auto", arch, policy, "cpu", 3, loaded=True) == 3
    assert batching.resolve_batch_size(5, arch, policy, "cpu", 3, loaded=True) == 5

    monkeypatch.setattr(batching, "free_memory_gb", lambda device: 64.0)  # any host alike
    common = ["eval", "--tasks", "mmlu", "--set", "mmlu_subjects=[anatomy]", "--limit", "5",
              "--no-cache", "--data-root", str(shared_data)]  # fmt: skip
    runs = {}
    for size in ("1", "auto"):
        code, out, err = run(capsys, *common, "--batch-size", size, "--output-dir",
                             str(tmp_path / size))  # fmt: skip
        assert code == 0, err
        runs[size] = json.loads((tmp_path / size / "results.json").read_text())
    assert runs["1"]["settings"]["batch_size"] == 1
    assert runs["auto"]["settings"]["batch_size"] == 5  # all five questions in one batch
    one, auto = (runs[s]["tasks"]["mmlu"]["items"] for s in ("1", "auto"))
    assert [r["id"] for r in one] == [r["id"] for r in auto]
    for a, b in zip(one, auto, strict=True):
        assert b["lls"] == pytest.approx(a["lls"], abs=1e-4), a["id"]
        assert b["metrics"] == a["metrics"], a["id"]

    config = EvalConfig(data_root=str(shared_data), tasks=["mmlu"])
    assert "batch_size" not in result_config(config)  # the stage key
    key = cache_key(config, "mmlu", "weights")
    for size in (1, 64, "auto"):
        assert cache_key(config.model_copy(update={"batch_size": size}), "mmlu", "weights") == key
    with pytest.raises(SystemExit) as exit_:  # argparse's own usage error
        main(["eval", "--batch-size", "many"])
    assert exit_.value.code == 2
    assert "--batch-size: 'many' is not a whole number or auto" in capsys.readouterr().err


def test_num_fewshot_overrides_every_task(tmp_path, capsys, shared_data, tiny_llama):
    """`--num-fewshot N` gives every task N examples per item (recorded per task), changes the
    scores and the cache key; a number a task cannot take is a one-line error."""
    from platypus.config import EvalConfig, result_config
    from platypus.eval.run import prepare
    from platypus.eval.runner import cache_key

    tasks = ["arc_challenge", "mmlu", "winogrande"]
    common = ["eval", "--model", str(tiny_llama), "--tasks", ",".join(tasks), "--limit", "2",
              "--set", "mmlu_subjects=[anatomy]", "--data-root", str(shared_data)]  # fmt: skip
    results = {}
    for name, extra in (("one", ["--num-fewshot", "1"]), ("own", [])):
        code, out, err = run(capsys, *common, *extra, "--output-dir", str(tmp_path / name))
        assert code == 0, err
        results[name] = json.loads((tmp_path / name / "results.json").read_text())
    one, own = results["one"], results["own"]
    assert one["settings"]["num_fewshot"] == 1 and own["settings"]["num_fewshot"] is None
    assert {t: r["num_fewshot"] for t, r in one["tasks"].items()} == dict.fromkeys(tasks, 1)
    assert {t: r["num_fewshot"] for t, r in own["tasks"].items()} == {
        "arc_challenge": 25, "mmlu": 5, "winogrande": 5}  # fmt: skip
    table = (tmp_path / "one" / "results.md").read_text()
    assert "| arc_challenge | acc_norm | 1 |" in table and "| mmlu | acc | 1 |" in table
    for task in tasks:  # other prompts, other log-likelihoods (not the other run's cache)
        assert one["tasks"][task]["items"][0]["lls"] != own["tasks"][task]["items"][0]["lls"]

    # The prompts carry exactly N examples: drawn ones, and MMLU's first N dev items.
    _, drawn = prepare("arc_challenge", shared_data, limit=2, num_fewshot=3)
    assert [len(v) for v in drawn.examples.values()] == [3, 3]
    _, dev = prepare("mmlu", shared_data, limit=2, subjects=["anatomy"], num_fewshot=2)
    _, all_dev = prepare("mmlu", shared_data, limit=2, subjects=["anatomy"])
    assert dev["anatomy"] == all_dev["anatomy"][:2] and len(all_dev["anatomy"]) == 5
    _, none = prepare("winogrande", shared_data, limit=1, num_fewshot=0)
    assert list(none.examples.values()) == [[]]

    # Part of the stage key and the cache key; a task's own number given explicitly is the same
    # result as leaving it unset.
    config = EvalConfig(data_root=str(shared_data), tasks=["arc_challenge"])
    assert result_config(config.model_copy(update={"num_fewshot": 1})) != result_config(config)
    key = cache_key(config, "arc_challenge", "weights")
    assert cache_key(config.model_copy(update={"num_fewshot": 25}), "arc_challenge",
                     "weights") == key  # fmt: skip
    assert cache_key(config.model_copy(update={"num_fewshot": 1}), "arc_challenge",
                     "weights") != key  # fmt: skip

    for argv, expected in [
        (["--tasks", "mmlu", "--num-fewshot", "6"], "mmlu: num_fewshot 6 is more than the 5 dev"),
        (["--tasks", "truthfulqa_mc", "--num-fewshot", "1"], "truthfulqa_mc: num_fewshot 1: the "
         "task is 0-shot only"),
        (["--tasks", "arc_challenge", "--num-fewshot", "1120"], "arc_challenge: num_fewshot 1120 "
         "is more than its few-shot pool allows (1119)"),
        (["--tasks", "arc_challenge", "--num-fewshot", "-1"], "num_fewshot: Input should be "
         "greater than or equal to 0"),
    ]:  # fmt: skip
        code, _, err = run(capsys, "eval", *argv, "--data-root", str(shared_data),
                           "--output-dir", str(tmp_path / "err"))  # fmt: skip
        assert code == 2 and expected in err and err.count("\n") == 1, err


def test_small_scores_print_with_their_unit(shared_data):
    """results.md and the run report show percentages with their sign and the digits a small
    score needs (TruthfulQA mc2 of 0.00136 is 0.14%, not "0.1"); results.json keeps fractions."""
    from types import SimpleNamespace

    from platypus.eval.results import percent
    from platypus.eval.runner import table
    from platypus.pipeline.stages import EvalSummary, TaskScore
    from platypus.report.html import _eval_section

    assert [percent(v) for v in (0.00136, 0.0000136, 0.0, 0.4567, 1.0, 0.9996, None)] == [
        "0.14%", "0.0014%", "0.0%", "45.7%", "100.0%", "99.960%", ""]  # fmt: skip
    results = {
        "settings": {"harness": "lm-eval-0.4"},
        "tasks": {
            "truthfulqa_mc": {
                "summary": {"mc2": 0.00136, "items": 2},
                "headline": "mc2",
                "num_fewshot": 0,
                "split": {"clean": {"items": 1, "mc2": 0.0027}, "contaminated": {"items": 1,
                          "mc2": 0.00002}},
            }
        },
    }  # fmt: skip
    lines = table(results).splitlines()
    assert lines[0].startswith("| task | metric | shots | score (%) |")
    assert lines[2] == "| truthfulqa_mc | mc2 | 0 | 0.14% | 2 | 0.27% (1) | 0.0020% (1) |"

    summary = EvalSummary(label="base", settings={}, tasks={"truthfulqa_mc": TaskScore(
        metric="mc2", score=0.00136, items=2, shots=0)})  # fmt: skip
    html = "".join(_eval_section({"eval-base": SimpleNamespace(summary=summary)}))
    assert ">score (%)</th>" in html and ">0.14%</td>" in html and ">0.1</td>" not in html
