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
