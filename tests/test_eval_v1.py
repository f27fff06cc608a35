"""`platypus eval --harness leaderboard-v1` on the six tasks of the leaderboard v1 average."""

import json

from platypus.cli import main

SIX = "arc_challenge,hellaswag,mmlu,truthfulqa_mc,winogrande,gsm8k"


def test_six_tasks_under_leaderboard_v1(tmp_path, capsys, shared_data):
    leaks = tmp_path / "leaks.jsonl"
    leaks.write_text(json.dumps({"benchmark_id": "gsm8k/test/0", "category": "duplicate"}) + "\n")
    out_dir = tmp_path / "v1"
    code = main(["eval", "--harness", "leaderboard-v1", "--tasks", SIX, "--limit", "2",
                 "--data-root", str(shared_data), "--output-dir", str(out_dir), "--no-cache",
                 "--contamination", str(leaks)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    results = json.loads((out_dir / "results.json").read_text())
    assert results["settings"]["harness"] == "leaderboard-v1"
    tasks = results["tasks"]
    assert list(tasks) == SIX.split(",")
    assert tasks["mmlu"]["headline"] == "acc_macro"
    assert all(t["summary"]["items"] == 2 for t in tasks.values())
    # GSM8K keeps each completion; b281b09 stops at the first ":" and reports one metric.
    gsm = tasks["gsm8k"]["items"]
    assert all(isinstance(i["text"], str) and ":" not in i["text"] for i in gsm)
    assert all(set(i["metrics"]) == {"exact_match"} for i in gsm)
    assert "train_xl is not in the data root" in tasks["winogrande"]["notes"][0]
    # The six-task average of the headline metrics, and its clean/contaminated parts.
    avg = results["average"]["all"]
    headlines = [tasks[t]["summary"][tasks[t]["headline"]] for t in tasks]
    assert avg["complete"] and abs(avg["value"] - sum(headlines) / 6) < 1e-12
    assert tasks["gsm8k"]["split"]["contaminated"]["items"] == 1
    assert not results["average"]["contaminated"]["complete"]
    assert "| **average** (leaderboard-v1) |" in out
    assert (out_dir / "results.md").read_text().count("\n") == len(tasks) + 3


def test_lm_eval_engine_refuses_leaderboard_v1(tmp_path, capsys, shared_data):
    code = main(["eval", "--harness", "leaderboard-v1", "--engine", "lm-eval", "--tasks",
                 "arc_challenge", "--limit", "1", "--data-root", str(shared_data),
                 "--output-dir", str(tmp_path)])  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().count("\n") == 0 and "use --harness lm-eval-0.4 with it" in err
