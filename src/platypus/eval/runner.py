"""`platypus eval`: score the configured tasks, cache the results, write JSON and a table.

A task's cached result is keyed on what it depends on: the eval config as it identifies a result
(`platypus.settings.result_config`, with this task alone), the model and adapter weights, and the
bytes of the task's data files. A cache file that cannot be read is dropped and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from platypus.errors import PlatypusError
from platypus.eval.config import EvalConfig
from platypus.eval.loglik import LoglikScorer
from platypus.eval.protocols import AVERAGES, Average, average, get_protocol
from platypus.eval.results import ItemResult, percent
from platypus.eval.run import (
    CONTAMINATED,
    aggregate,
    compute_policy,
    contaminated_ids,
    load_model,
    mmlu_only,
    prepare,
    score_task,
    task_options,
    task_shots,
    weights_fingerprints,
)
from platypus.hashing import file_sha256
from platypus.io.writers import write_bytes
from platypus.paths import cache_dir
from platypus.settings import result_config
from platypus.tasks import TASKS, TaskItem, get_task
from platypus.version import __version__

RESULTS = "results.json"  # in the output folder, beside results.md (the table)

# Task name -> the leaderboard's metric, for callers that predate `TASKS[name].headline`.
HEADLINE: dict[str, str] = {name: task.headline for name, task in TASKS.items()}


def headline(task: str) -> str:
    """The metric the leaderboard reports for `task`."""
    return get_task(task).headline


def run_eval(config: EvalConfig, contaminated: Iterable[str] = CONTAMINATED) -> dict:
    """Score `config.tasks`; with `config.contamination` (a leaks.jsonl), split each task's
    headline metric into clean items and items leaked with a category in `contaminated`
    (pass the recipe's `data.decontaminate.remove`)."""
    if not config.tasks:
        raise PlatypusError("eval: no tasks given")
    if config.mmlu_subjects is not None and not config.mmlu_subjects:
        raise PlatypusError("eval: mmlu_subjects is empty; leave it unset for all subjects")
    if config.adapter and not Path(config.adapter).is_dir():
        raise PlatypusError(f"{config.adapter}: adapter folder not found")
    protocol = get_protocol(config.harness)
    if config.engine == "lm-eval":
        _check_lm_eval_engine(config)
    # Data problems surface before minutes are spent loading a model.
    data_root = Path(config.data_root)
    drawing = {"protocol": protocol, "num_fewshot": config.num_fewshot}
    prepared = {
        t: prepare(
            t, data_root, config.limit, mmlu_only(t, config.mmlu_subjects), config.sample, **drawing
        )
        for t in config.tasks
    }
    most = max(len(items) for items, _ in prepared.values())
    leaked = contaminated_ids(config.contamination, contaminated)
    policy = compute_policy(config)
    score, batch, fingerprint = _scorer(config, protocol, policy, most)
    results = {
        "version": __version__,
        "model": config.model or "smollm2",
        "adapter": config.adapter,
        "model_fingerprint": fingerprint,
        "settings": {
            "bf16": config.bf16,
            "limit": config.limit,
            "sample": config.sample,
            "batch_size": batch,  # as run: "auto" resolved
            "num_fewshot": config.num_fewshot,  # None: each task's own (tasks.<name>.num_fewshot)
            "compute": policy.describe(),
            "engine": config.engine,
            "harness": protocol.name,
        }
        | ({"lm_eval_backend": config.lm_eval_backend} if config.engine == "lm-eval" else {}),
        "tasks": {},
    }
    for task in config.tasks:
        results["tasks"][task] = _task_result(config, task, prepared[task], score, fingerprint,
                                              policy, protocol, leaked)  # fmt: skip
    averages = {a.name: _averages(protocol, results["tasks"], a) for a in AVERAGES.values()}
    results["average"] = averages[protocol.average_name]
    # every leaderboard's average of which some task was scored (v1 and v2 side by side)
    results["averages"] = {n: a for n, a in averages.items() if a["all"]["tasks"]}
    out = Path(config.output_dir)
    write_bytes(out / RESULTS, (json.dumps(results, indent=1) + "\n").encode("utf-8"))
    write_bytes(out / "results.md", (table(results) + "\n").encode("utf-8"))
    return results


def _scorer(config: EvalConfig, protocol, policy, most: int):
    """(score(task, items, pool), the batch size as run, the weights' fingerprint): our scorer
    on the loaded model, or lm-evaluation-harness's backend (`engine: lm-eval`)."""
    if config.engine == "lm-eval":
        from platypus.eval.lm_eval_engine import LmEvalEngine

        batch = config.batch_size
        if config.lm_eval_backend == "hf":  # vllm and sglang batch by themselves
            batch = _resolved_batch(config, policy, policy.device, most)
        score = LmEvalEngine(config.model_copy(update={"batch_size": batch}), policy).score_task
        fingerprint = weights_fingerprints(config)
    else:
        model, tokenizer, fingerprint = load_model(config, policy)
        scorer = LoglikScorer(model, tokenizer, bf16=policy.autocast is not None)
        batch = _resolved_batch(config, policy, str(scorer.device), most, model)
        scorer.batch_size = batch
        score = partial(_score_with, scorer, protocol)
    return score, batch, fingerprint


def _task_result(config: EvalConfig, task: str, prepared, score, fingerprint, policy, protocol,
                 leaked) -> dict:  # fmt: skip
    """One task's results: from the cache when a run with the same key scored it, else scored
    (and cached); its headline, shots, notes and clean/contaminated split."""
    key = cache_key(config, task, fingerprint, policy)
    cached = cache_dir() / "eval" / f"{key}.json"
    task_result = _read_cache(cached) if config.cache else None
    if task_result is None:
        items, pool = prepared
        scored = score(task, items, pool)
        summary = aggregate(task, items, scored)
        task_result = {
            "summary": summary,
            "items": [
                {"id": r.id, "lls": r.lls, "extra_lls": r.extra_lls, "metrics": r.metrics}
                | ({"text": r.text} if r.text is not None else {})
                for r in scored
            ],
            "subjects": {i.id: i.subject for i in items} if TASKS[task].per_subject else {},
        }
        if config.cache:
            write_bytes(cached, json.dumps(task_result).encode("utf-8"))
    task_result["headline"] = protocol.headline(task)
    task_result["num_fewshot"] = task_shots(task, config.num_fewshot)
    notes = fewshot_notes(task, Path(config.data_root))
    if notes:
        task_result["notes"] = notes
    if leaked:
        task_result["split"] = _split(task, prepared[0], task_result, leaked)
    return task_result


def task_data_hashes(config: EvalConfig) -> dict[str, dict[str, str]]:
    """{task: {data file relative to data_root: sha256}}: the benchmark files an evaluation
    reads, by content (its stage key and its cache key both depend on them)."""
    root = Path(config.data_root)
    hashes = {}
    for task in config.tasks:
        files = get_task(task).data_files(
            root, **task_options(task, mmlu_only(task, config.mmlu_subjects))
        )
        hashes[task] = {_relative(f, root): file_sha256(f) for f in files}
    return hashes


def cache_key(config: EvalConfig, task: str, fingerprint: str, policy=None) -> str:
    """What `task`'s result depends on, hashed: the config (this task alone; other tasks'
    options left out; its number of few-shot examples, whether `num_fewshot` or the task's own
    gave it), the weights' fingerprint, the content of the task's data files and the
    arithmetic the compute policy resolved to (where it is not plain fp32 on the CPU, which
    keeps the keys results had before policies existed)."""
    spec = get_task(task)
    settings = result_config(config) | {"tasks": [task]}
    settings["num_fewshot"] = task_shots(task, config.num_fewshot)
    if task != "mmlu":
        settings.pop("mmlu_subjects", None)
    root = Path(config.data_root)
    files = spec.data_files(root, **task_options(task, mmlu_only(task, config.mmlu_subjects)))
    data = {_relative(f, root): file_sha256(f) for f in files}
    key = {"version": __version__, "config": settings, "model": fingerprint, "data": data}
    arithmetic = _arithmetic(policy)
    if arithmetic is not None:
        key["compute"] = arithmetic
    if policy is not None and policy.custom_code:  # code the model folder ran (opted in)
        key["custom_code"] = policy.custom_code
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _arithmetic(policy) -> dict | None:
    """What of a policy can change the numbers; None for fp32 on the CPU without autocast."""
    if policy is None:
        return None
    d = policy.describe()
    arithmetic = {k: d[k] for k in ("device", "dtype", "autocast", "quantization")}
    plain = {"device": "cpu", "dtype": "float32", "autocast": None, "quantization": "none"}
    return None if arithmetic == plain else arithmetic


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _task_result_shape(data) -> bool:
    """What the code reading a cached task result relies on: a summary, items each with an id,
    a list of log-likelihoods and metrics, and subjects by id."""
    if not isinstance(data, dict) or not {"summary", "items"} <= data.keys():
        return False
    if not isinstance(data["summary"], dict) or not isinstance(data["items"], list):
        return False
    if not isinstance(data.get("subjects", {}), dict):
        return False
    number = (int, float)
    for item in data["items"]:
        if not (isinstance(item, dict) and isinstance(item.get("id"), str)
                and isinstance(item.get("lls"), list) and isinstance(item.get("metrics"), dict)
                and all(isinstance(x, number) or x is None for x in item["lls"])):  # fmt: skip
            return False
    return True


def _read_cache(path: Path) -> dict | None:
    """A cached task result, or None when there is none or it cannot be read (then it is
    dropped with a warning, to be recomputed)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        if not _task_result_shape(data):
            raise ValueError("not a task result")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(
            f"platypus: warning: {path}: unreadable eval cache ({reason}); recomputing",
            file=sys.stderr,
        )
        path.unlink(missing_ok=True)
        return None
    return data


def _score_with(scorer, protocol, task, items, pool):
    return score_task(scorer, task, items, pool, protocol)


def _resolved_batch(config: EvalConfig, policy, device: str, most: int, model=None) -> int:
    """`config.batch_size`, "auto" resolved (`platypus.eval.batching`) for the model on
    `device`: loaded (`model`, the weights already in memory) or about to be."""
    if config.batch_size != "auto":
        return config.batch_size
    from platypus.eval.batching import resolve_batch_size
    from platypus.sizing import arch_from_config, resolve_arch

    try:
        if model is not None:
            arch = arch_from_config(model.config.to_dict(), str(config.model or "smollm2"))
        else:
            arch = resolve_arch(config.model)
    except PlatypusError as exc:
        raise PlatypusError(f"batch_size auto: {exc}; give a number instead") from None
    return resolve_batch_size("auto", arch, policy, device, most, loaded=model is not None)


def _check_lm_eval_engine(config: EvalConfig) -> None:
    """lm-eval 0.4 scores by its own rules and only tasks we can export to it."""
    if config.harness != "lm-eval-0.4":
        raise PlatypusError(
            f"--engine lm-eval follows lm-eval 0.4's rules; use --harness lm-eval-0.4 with it, "
            f"or our engine for {config.harness}"
        )
    missing = [t for t in config.tasks if get_task(t).export is None]
    if missing:
        raise PlatypusError(f"--engine lm-eval cannot score {', '.join(missing)}; use our engine")


def fewshot_notes(task: str, data_root: Path) -> list[str]:
    """What a reader of the task's score should know about its few-shot pool."""
    spec = get_task(task)
    return spec.notes(Path(data_root)) if spec.notes else []


def item_metric(headline_metric: str) -> str:
    """The per-item metric behind a headline (MMLU's mean of subjects averages `acc`)."""
    return headline_metric.removesuffix("_macro").removesuffix("_weighted")


def _item_metric(task_result: dict) -> str:
    return item_metric(task_result["headline"])


def _split(task: str, items: list[TaskItem], task_result: dict, leaked: set[str]) -> dict:
    """The task's summary (`aggregate`: per-item means, per subject where it has subjects) over
    its clean and over its contaminated items; a part with no items has its headline's
    per-item metric None."""
    metric = _item_metric(task_result)
    rows = {row["id"]: row for row in task_result["items"]}
    out = {}
    for name in ("clean", "contaminated"):
        part = [i for i in items if (i.id in leaked) == (name == "contaminated")]
        if not part:
            out[name] = {"items": 0, metric: None}
            continue
        results = [ItemResult(rows[i.id]["id"], rows[i.id]["lls"], rows[i.id]["metrics"],
                              rows[i.id].get("extra_lls") or [], rows[i.id].get("text"))
                   for i in part]  # fmt: skip
        out[name] = aggregate(task, part, results)
    return out


def _averages(protocol, tasks: dict, of: Average) -> dict:
    """The average `of` over all items, and over the clean and the contaminated items where the
    tasks were split. v1's parts average each task's per-item headline metric over the part
    (as the task table shows it); v2's normalise each part's own summary."""
    out = {"all": average(protocol, {t: r["summary"] for t, r in tasks.items()}, of)}
    for part in ("clean", "contaminated"):
        parts = {}
        for t, r in tasks.items():
            p = (r.get("split") or {}).get(part)
            if p and p[_item_metric(r)] is not None:
                parts[t] = p if of.normalised else {protocol.headline(t): p[_item_metric(r)]}
        if parts:
            out[part] = average(protocol, parts, of)
    return out


def table(results: dict) -> str:
    """results.md: each task's headline score (results.json holds fractions; here percentages
    with their sign, `percent`), its few-shot examples per item, items and clean/contaminated
    parts, then the protocol's average."""
    lines = [
        "| task | metric | shots | score (%) | items | clean (%, items) "
        "| contaminated (%, items) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for task, r in results["tasks"].items():
        metric = r.get("headline") or headline(task)
        per_item = item_metric(metric)
        split = r.get("split", {})
        cells = []
        for name in ("clean", "contaminated"):
            part = split.get(name)
            cells.append(
                ""
                if not part or part[per_item] is None
                else f"{percent(part[per_item])} ({part['items']})"
            )
        score = r["summary"][metric]
        shots = r.get("num_fewshot")
        lines.append(
            f"| {task} | {metric} | {'' if shots is None else shots} | {percent(score)} | "
            f"{r['summary']['items']} | {cells[0]} | {cells[1]} |"
        )
    harness = results.get("settings", {}).get("harness", "")
    averages = results.get("averages") or {"leaderboard-v1": results.get("average", {})}
    for name, avg in averages.items():
        if avg.get("all", {}).get("value") is None:
            continue
        of = avg["all"]
        label = "average" if of["complete"] else f"average of {len(of['tasks'])}/{len(of['of'])}"
        # v1's is scored by the harness's rules; v2's is the leaderboard's normalised mean
        how = harness if name == "leaderboard-v1" else f"{name}, normalised"
        cells = []
        for part_name in ("clean", "contaminated"):
            part = avg.get(part_name)
            cells.append("" if not part else percent(part["value"]))
        lines.append(
            f"| **{label}** ({how}) | | | **{percent(of['value'])}** | | {cells[0]} | {cells[1]} |"
        )
    return "\n".join(lines)
