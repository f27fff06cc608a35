"""Run the Open LLM Leaderboard v1 harness (lm-eval b281b09) offline on exported task items.

Runs under ``.venv-v1/bin/python`` (see setup.sh). It builds b281b09's own task objects with
their hub datasets replaced by local jsonl files, runs b281b09's own evaluator with its own
model class, and records per evaluated doc what the evaluator does not return: the row, the
few-shot rows drawn, every request with its response, and the per-doc metrics.

    .venv-v1/bin/python benchmarks/v1_harness/run_v1.py --items DIR --model FOLDER \
        --out FILE.json [--tasks arc_challenge mmlu ...] [--limit N]

DIR layout (Hugging Face row format of the dataset each b281b09 task loads):
    arc_challenge/{train,test}.jsonl     hellaswag/{train,validation}.jsonl
    mmlu/<subject>/{dev,test}.jsonl      truthfulqa_mc/validation.jsonl
    winogrande/{train,validation}.jsonl  gsm8k/{train,test}.jsonl
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Everything is local: never let datasets/transformers reach for the hub.
for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")

HARNESS_COMMIT = "b281b0921b636bc36ad05c0b0b0763bd6dd43463"


class UserError(Exception):
    """A mistake in the arguments or items: reported as one line, exit status 2."""


# ---------------------------------------------------------------- item checks
# Each check raises UserError for a row the b281b09 task would crash on or misread.


def _need(row: dict, fields: tuple[str, ...], where: str) -> None:
    missing = [f for f in fields if f not in row]
    if missing:
        raise UserError(f"{where}: missing field(s) {', '.join(missing)}")


def _check_arc(row: dict, where: str) -> None:
    _need(row, ("id", "question", "choices", "answerKey"), where)
    choices = row["choices"]
    if not isinstance(choices, dict) or "text" not in choices or "label" not in choices:
        raise UserError(f"{where}: choices must be {{'text': [...], 'label': [...]}}")
    key = row["answerKey"]
    letter = {"1": "A", "2": "B", "3": "C", "4": "D", "5": "E"}.get(key, key)
    if letter not in "ABCDE"[: len(choices["text"])] or len(letter) != 1:
        raise UserError(f"{where}: answerKey {row['answerKey']!r} does not name one of the choices")


def _check_hellaswag(row: dict, where: str) -> None:
    _need(row, ("activity_label", "ctx_a", "ctx_b", "endings", "label"), where)
    if str(row["label"]) not in {str(i) for i in range(len(row["endings"]))}:
        raise UserError(f"{where}: label {row['label']!r} is not an index into endings")


def _check_mmlu(row: dict, where: str) -> None:
    _need(row, ("question", "choices", "answer"), where)
    if (
        len(row["choices"]) != 4
        or row["answer"] not in (0, 1, 2, 3)
        or isinstance(row["answer"], bool)
    ):
        raise UserError(f"{where}: needs 4 choices and answer as an int 0-3")


def _check_truthfulqa(row: dict, where: str) -> None:
    _need(row, ("question", "mc1_targets", "mc2_targets"), where)
    for key in ("mc1_targets", "mc2_targets"):
        t = row[key]
        if not isinstance(t, dict) or len(t.get("choices", [])) != len(t.get("labels", [None])):
            raise UserError(f"{where}: {key} must be {{'choices': [...], 'labels': [...]}}")
    if 0 not in row["mc2_targets"]["labels"]:
        raise UserError(f"{where}: mc2_targets.labels has no 0 (b281b09 splits true/false there)")


def _check_winogrande(row: dict, where: str) -> None:
    _need(row, ("sentence", "option1", "option2", "answer"), where)
    if row["answer"] not in ("1", "2"):
        raise UserError(f"{where}: answer must be the string '1' or '2'")
    if "_" not in row["sentence"]:
        raise UserError(f"{where}: sentence has no '_' blank")


def _check_gsm8k(row: dict, where: str) -> None:
    _need(row, ("question", "answer"), where)
    if "#### " not in row["answer"]:
        raise UserError(f"{where}: answer has no '#### <number>' line")


# ---------------------------------------------------------------- task registry


@dataclass(frozen=True)
class Family:
    """One leaderboard benchmark: which b281b09 task(s) it is and how the leaderboard ran it."""

    shots: int
    splits: tuple[str, ...]  # jsonl files the task's dataset is made of
    eval_split: str  # the split b281b09's evaluator picks (test, else validation)
    fewshot_split: str | None  # split the few-shot rows come from
    check: Callable[[dict, str], None]
    headline: str  # metric the leaderboard reports
    task_class: str | None = None  # key in lm_eval.tasks.TASK_REGISTRY; None for MMLU


FAMILIES: dict[str, Family] = {
    "arc_challenge": Family(
        25, ("train", "test"), "test", "train", _check_arc, "acc_norm", "arc_challenge"
    ),
    "hellaswag": Family(
        10,
        ("train", "validation"),
        "validation",
        "train",
        _check_hellaswag,
        "acc_norm",
        "hellaswag",
    ),
    "mmlu": Family(5, ("dev", "test"), "test", "dev", _check_mmlu, "acc"),
    "truthfulqa_mc": Family(
        0, ("validation",), "validation", None, _check_truthfulqa, "mc2", "truthfulqa_mc"
    ),
    "winogrande": Family(
        5, ("train", "validation"), "validation", "train", _check_winogrande, "acc", "winogrande"
    ),
    "gsm8k": Family(5, ("train", "test"), "test", "train", _check_gsm8k, "acc", "gsm8k"),
}


def read_jsonl(path: Path, check: Callable[[dict, str], None]) -> list[dict]:
    if not path.is_file():
        raise UserError(f"{path} is missing")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise UserError(f"{where}: a row must be a JSON object")
            check(row, where)
            rows.append(row)
    if not rows:
        raise UserError(f"{path} has no rows")
    return rows


def load_family_splits(folder: Path, fam: Family) -> dict[str, list[dict]]:
    splits = {s: read_jsonl(folder / f"{s}.jsonl", fam.check) for s in fam.splits}
    if fam.fewshot_split and len(splits[fam.fewshot_split]) < fam.shots:
        raise UserError(
            f"{folder / fam.fewshot_split}.jsonl has {len(splits[fam.fewshot_split])} rows; "
            f"{fam.shots}-shot needs at least {fam.shots}"
        )
    return splits


# ---------------------------------------------------------------- capture


class Recorder:
    """Wraps one LM and the task objects so the evaluator's per-doc traffic is kept."""

    def __init__(self):
        self.entries: list[dict] = []  # one per evaluated doc, in evaluation order
        self.responses: dict[str, list] = {}  # request type -> [(args, response)] in call order
        self.metrics: dict[int, dict] = {}  # id(doc) -> metrics from process_results
        self.raw_of: dict[int, tuple] = {}  # id(processed doc) -> (processed doc, raw row)
        self.row_of: dict[int, tuple] = {}  # id(eval doc) -> (doc, row index in the eval split)
        self.pending_fewshot: list[int] | None = None
        self.pool_index: dict[int, tuple] = {}  # id(pool list) -> (pool, {id(doc): index})

    def wrap_lm(self, lm) -> None:
        for reqtype in ("loglikelihood", "greedy_until"):
            orig = getattr(lm, reqtype)

            def wrapped(requests, _orig=orig, _type=reqtype):
                requests = list(requests)
                out = _orig(requests)
                self.responses.setdefault(_type, []).extend(zip(requests, out, strict=True))
                return out

            setattr(lm, reqtype, wrapped)

    def wrap_task(self, name: str, task, fam: Family) -> None:
        rec = self
        orig_process_doc = task._process_doc

        def _process_doc(doc):
            raw = copy.deepcopy(dict(doc))  # ARC's _process_doc rewrites answerKey in place
            out = orig_process_doc(doc)
            rec.raw_of[id(out)] = (out, raw)
            return out

        eval_docs_attr = "test_docs" if task.has_test_docs() else "validation_docs"
        orig_eval_docs = getattr(task, eval_docs_attr)

        def eval_docs():
            docs = list(orig_eval_docs())
            for i, d in enumerate(docs):
                rec.row_of[id(d)] = (d, i)
            return docs

        orig_fewshot = task.fewshot_examples

        def fewshot_examples(k, rnd):
            shots = orig_fewshot(k=k, rnd=rnd)
            # MMLU keeps its dev rows in _fewshot_docs; the others sample _training_docs.
            pool = task._fewshot_docs if fam.fewshot_split == "dev" else task._training_docs
            cached = rec.pool_index.get(id(pool))
            if cached is None or cached[0] is not pool:
                cached = (pool, {id(d): i for i, d in enumerate(pool)})
                rec.pool_index[id(pool)] = cached
            rec.pending_fewshot = [cached[1][id(d)] for d in shots]
            return shots

        orig_construct = task.construct_requests

        def construct_requests(doc, ctx):
            reqs = orig_construct(doc, ctx)
            as_list = list(reqs) if isinstance(reqs, (list, tuple)) else [reqs]
            rec.entries.append(
                {
                    "task": name,
                    "doc": doc,
                    "context": ctx,
                    "fewshot": rec.pending_fewshot,
                    "requests": [(r.request_type, tuple(r.args), r.index) for r in as_list],
                }
            )
            rec.pending_fewshot = None
            return reqs

        orig_process_results = task.process_results

        def process_results(doc, results):
            metrics = orig_process_results(doc, results)
            rec.metrics[id(doc)] = {"inputs": list(results), "metrics": metrics}
            return metrics

        task._process_doc = _process_doc
        setattr(task, eval_docs_attr, eval_docs)
        task.fewshot_examples = fewshot_examples
        task.construct_requests = construct_requests
        task.process_results = process_results

    def collect(self, families_of: dict[str, str]) -> dict[str, list[dict]]:
        """Pair each doc's requests with the responses, in the order the evaluator sent them."""
        queues = {t: iter(v) for t, v in self.responses.items()}
        per_task: dict[str, list[dict]] = {}
        for entry in self.entries:
            doc = entry["doc"]
            fam = FAMILIES[families_of[entry["task"]]]
            requests = []
            for reqtype, args, index in entry["requests"]:
                sent, resp = next(queues[reqtype])
                if tuple(sent) != args:
                    raise RuntimeError("request/response pairing lost its order")
                requests.append(_request_record(reqtype, args, index, resp))
            processed, raw = self.raw_of.get(id(doc), (doc, doc))
            scored = self.metrics[id(doc)]
            if [r["passed_to_task"] for r in requests] != scored["inputs"]:
                raise RuntimeError("process_results saw other responses than recorded")
            docs = per_task.setdefault(entry["task"], [])
            record = {
                "doc_id": len(docs),
                "row_index": self.row_of[id(doc)][1],
                "doc": raw,
            }
            if processed is not raw:
                record["harness_doc"] = processed
            record["fewshot"] = (
                None
                if entry["fewshot"] is None
                else {"split": fam.fewshot_split, "indices": entry["fewshot"]}
            )
            record["context"] = entry["context"]
            record["requests"] = requests
            record["metrics"] = scored["metrics"]
            docs.append(record)
        leftover = [t for t, q in queues.items() if next(q, None) is not None]
        if leftover:
            raise RuntimeError(f"unpaired responses left for {leftover}")
        return per_task


def _request_record(reqtype: str, args: tuple, index, resp) -> dict:
    if reqtype == "loglikelihood":
        context, continuation = args
        ll, is_greedy = resp
        rec = {
            "type": reqtype,
            "context": context,
            "continuation": continuation,
            "loglikelihood": ll,
            "is_greedy": is_greedy,
        }
    elif reqtype == "greedy_until":
        context, gen_args = args
        rec = {"type": reqtype, "context": context, "generation_args": gen_args, "generated": resp}
    else:  # no other request type is used by the six tasks
        raise RuntimeError(f"unexpected request type {reqtype}")
    rec["passed_to_task"] = resp if index is None else resp[index]
    return rec


def _jsonable(obj):
    """numpy scalars and tuples from the harness, as plain JSON values."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


# ---------------------------------------------------------------- running


def build_tasks(items: Path, families: list[str]) -> dict[str, dict[str, object]]:
    """family -> {b281b09 task name: task object on local rows}, in leaderboard order."""
    import datasets
    import lm_eval.tasks
    from lm_eval.tasks import hendrycks_test

    def local(cls, splits: dict[str, list[dict]]):
        class Local(cls):
            def download(self, *args, **kwargs):
                self.dataset = datasets.DatasetDict(
                    {s: datasets.Dataset.from_list(rows) for s, rows in splits.items()}
                )

        Local.__name__ = Local.__qualname__ = cls.__name__
        return Local()

    built = {}
    for fam_name in families:
        fam = FAMILIES[fam_name]
        folder = items / fam_name
        if not folder.is_dir():
            raise UserError(f"{folder} is missing (task {fam_name})")
        if fam.task_class is not None:
            cls = lm_eval.tasks.TASK_REGISTRY[fam.task_class]
            built[fam_name] = {fam.task_class: local(cls, load_family_splits(folder, fam))}
            continue
        subjects = sorted(p.name for p in folder.iterdir() if p.is_dir())
        unknown = [s for s in subjects if s not in hendrycks_test.SUBJECTS]
        if unknown:
            raise UserError(f"{folder}: unknown MMLU subject folder(s) {', '.join(unknown)}")
        if not subjects:
            raise UserError(f"{folder} has no subject folders")
        built[fam_name] = {
            f"hendrycksTest-{s}": local(
                hendrycks_test.create_task(s), load_family_splits(folder / s, fam)
            )
            for s in subjects
        }
    return built


def check_model_folder(model: Path) -> None:
    if not (model / "config.json").is_file():
        raise UserError(f"{model} is not a model folder (no config.json)")
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    tok_path = model / "tokenizer_config.json"
    tok_class = json.loads(tok_path.read_text())["tokenizer_class"] if tok_path.is_file() else None
    rope_hidden = "rope_parameters" in config and "rope_theta" not in config
    if rope_hidden or tok_class == "TokenizersBackend":
        raise UserError(
            f"{model} was saved by transformers 5; convert it first with "
            "benchmarks/v1_harness/model_folder.py"
        )


def guard_single_doc_stderr() -> None:
    """b281b09's mean_stderr divides by n-1: any mean metric over one doc (e.g. --limit 1)
    raises ZeroDivisionError. Report that stderr as null instead; n >= 2 is untouched."""
    import lm_eval.metrics

    orig = lm_eval.metrics.mean_stderr
    if getattr(orig, "_single_doc_guard", False):
        return

    def mean_stderr(arr):
        return None if len(arr) < 2 else orig(arr)

    mean_stderr._single_doc_guard = True
    lm_eval.metrics.mean_stderr = mean_stderr


def _hf_model(name: str):
    def build(model: Path | None):
        if model is None:
            raise UserError(f"--model is required with --model-type {name}")
        check_model_folder(model)
        import lm_eval.models

        return lm_eval.models.get_model(name)(
            pretrained=str(model), dtype="float32", device="cpu", batch_size=1
        )

    return build


def _dummy_model(model: Path | None):
    # b281b09's DummyLM: random log-likelihoods, "lol" generations. Prompts, few-shot draws
    # and requests are the real ones, so a full-size prompt comparison needs no model.
    import lm_eval.models

    return lm_eval.models.get_model("dummy")()


# b281b09 model classes: the leaderboard's causal LMs (both load through transformers 4.36),
# and its dummy LM for prompt-only runs.
MODEL_TYPES: dict[str, Callable] = {
    "hf-causal": _hf_model("hf-causal"),
    "hf-causal-experimental": _hf_model("hf-causal-experimental"),
    "dummy": _dummy_model,
}


def run(args: argparse.Namespace) -> dict:
    import lm_eval
    import lm_eval.evaluator
    import numpy as np
    import torch
    import transformers

    families = args.tasks or [f for f in FAMILIES if (args.items / f).is_dir()]
    if not families:
        raise UserError(f"{args.items} holds none of the task folders {', '.join(FAMILIES)}")
    if args.model is not None:
        check_model_folder(args.model)
    task_groups = build_tasks(args.items, families)
    guard_single_doc_stderr()

    t0 = time.perf_counter()
    lm = MODEL_TYPES[args.model_type](args.model)
    load_s = time.perf_counter() - t0
    rec = Recorder()
    rec.wrap_lm(lm)

    out = {
        "harness": {
            "commit": HARNESS_COMMIT,
            "lm_eval": os.path.dirname(lm_eval.__file__),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "model": {
            "path": None if args.model is None else str(args.model),
            "type": args.model_type,
            "dtype": None if args.model_type == "dummy" else "float32",
            "device": None if args.model_type == "dummy" else "cpu",
            "batch_size": 1,
            "load_seconds": round(load_s, 2),
        },
        "items": str(args.items),
        "limit": args.limit,
        "families": {},
        "results": {},
        "versions": {},
        "leaderboard": {},
        "tasks": {},
    }
    families_of = {}
    for fam_name, task_dict in task_groups.items():
        fam = FAMILIES[fam_name]
        for name, task in task_dict.items():
            rec.wrap_task(name, task, fam)
            families_of[name] = fam_name
        # One evaluator call per benchmark, with its leaderboard shots, as the leaderboard ran
        # them; the global seeds are the ones simple_evaluate sets before evaluating.
        random.seed(1234)
        np.random.seed(1234)
        t0 = time.perf_counter()
        result = lm_eval.evaluator.evaluate(
            lm=lm, task_dict=task_dict, num_fewshot=fam.shots, limit=args.limit
        )
        seconds = time.perf_counter() - t0
        out["results"].update(result["results"])
        out["versions"].update(result["versions"])
        scores = [result["results"][n][fam.headline] for n in task_dict]
        # MMLU's leaderboard number is the unweighted mean over subjects.
        out["leaderboard"][fam_name] = {"metric": fam.headline, "value": sum(scores) / len(scores)}
        out["families"][fam_name] = {
            "num_fewshot": fam.shots,
            "eval_split": fam.eval_split,
            "tasks": list(task_dict),
            "seconds": round(seconds, 2),
        }
        print(
            f"{fam_name}: {fam.headline}={out['leaderboard'][fam_name]['value']:.4f} "
            f"({seconds:.1f}s)",
            file=sys.stderr,
        )

    for name, docs in rec.collect(families_of).items():
        out["tasks"][name] = {"family": families_of[name], "docs": docs}
    return _jsonable(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=Path, required=True, help="folder of task jsonl files")
    parser.add_argument(
        "--model",
        type=Path,
        help="model folder transformers 4.36 loads (see model_folder.py); not for dummy",
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=list(FAMILIES),
        help="benchmarks to run (default: every task folder in --items)",
    )
    parser.add_argument("--limit", type=int, help="evaluate only the first N shuffled docs")
    parser.add_argument(
        "--model-type",
        choices=MODEL_TYPES,
        default="hf-causal",
        help="b281b09 model class (default hf-causal)",
    )
    args = parser.parse_args(argv)
    try:
        if args.limit is not None and args.limit < 1:
            raise UserError("--limit must be at least 1")
        if not args.items.is_dir():
            raise UserError(f"--items {args.items} is not a folder")
        result = run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
