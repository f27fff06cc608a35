"""Copy a model folder saved by transformers 5 into one that transformers 4.36.2 loads the same.

The leaderboard-v1 harness (lm-eval b281b09) runs on transformers 4.36.2, which reads three
things of a transformers-5 folder differently:

* ``tokenizer_config.json``: ``tokenizer_class`` "TokenizersBackend" does not exist in 4.36;
  ``PreTrainedTokenizerFast`` reads the same tokenizer.json.
* ``tokenizer.json``: BPE merges saved as ``["a", "b"]`` pairs; tokenizers 0.15 wants "a b".
* ``config.json``: ``rope_theta`` only inside ``rope_parameters``; 4.36 silently falls back to
  10000 without a top-level ``rope_theta``. ``dtype`` is also mirrored to ``torch_dtype`` so
  ``dtype=auto`` picks the saved precision.

Standard library only, so it runs under either venv:

    python benchmarks/v1_harness/model_folder.py SRC DST [--force]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


class FolderError(Exception):
    """A problem with the user's folders: reported as one line, exit status 2."""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FolderError(f"{path} is missing") from None
    except json.JSONDecodeError as exc:
        raise FolderError(f"{path} is not valid JSON ({exc})") from None


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def fix_config(config: dict) -> dict:
    rope = config.get("rope_parameters")
    if isinstance(rope, dict):
        # 4.36 has no rope_parameters; anything but plain RoPE would need rope_scaling,
        # which we refuse rather than evaluate a silently different model.
        rope_type = rope.get("rope_type", "default")
        if rope_type != "default":
            raise FolderError(f"rope_type {rope_type!r} cannot be expressed for transformers 4.36")
        if "rope_theta" in rope and "rope_theta" not in config:
            config["rope_theta"] = rope["rope_theta"]
    if "dtype" in config and "torch_dtype" not in config:
        config["torch_dtype"] = config["dtype"]
    return config


def fix_tokenizer_config(tok_config: dict) -> dict:
    tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    return tok_config


def fix_tokenizer(tokenizer: dict) -> dict:
    model = tokenizer.get("model", {})
    merges = model.get("merges")
    if model.get("type") == "BPE" and merges and isinstance(merges[0], list):
        for pair in merges:
            # "a b" is only unambiguous when neither side holds a space.
            if any(" " in part for part in pair):
                raise FolderError(f"merge {pair!r} contains a space; cannot write it as 'a b'")
        model["merges"] = [" ".join(pair) for pair in merges]
    return tokenizer


# file name -> fix applied to its parsed JSON; every other file is copied as is.
FIXES = {
    "config.json": fix_config,
    "tokenizer_config.json": fix_tokenizer_config,
    "tokenizer.json": fix_tokenizer,
}


def convert(src: Path, dst: Path, force: bool = False) -> Path:
    if not (src / "config.json").is_file():
        raise FolderError(f"{src} is not a model folder (no config.json)")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if not (src / name).is_file():
            raise FolderError(f"{src} has no {name}; only fast-tokenizer folders are supported")
    if dst.exists():
        if not force:
            raise FolderError(f"{dst} exists; pass --force to replace it")
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for item in sorted(src.iterdir()):
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        elif item.name in FIXES:
            _write_json(dst / item.name, FIXES[item.name](_read_json(item)))
        else:
            shutil.copy2(item, dst / item.name)
    return dst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="model folder saved by transformers 5")
    parser.add_argument("dst", type=Path, help="new folder for transformers 4.36")
    parser.add_argument("--force", action="store_true", help="replace DST if it exists")
    args = parser.parse_args(argv)
    try:
        out = convert(args.src, args.dst, force=args.force)
    except FolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
