"""Sentence embeddings on ONNX Runtime or OpenVINO instead of torch (`embed_backend`).

sentence-transformers' own `backend="onnx"`/`"openvino"` need optimum-onnx / optimum-intel,
which pin transformers < 4.58 / < 5.6; with this project's transformers 5.x optimum's exporter
does not import (`cannot import name 'get_parameter_dtype' from 'transformers.modeling_utils'`).
So the same thing is built from the libraries' parts: the model's transformer is exported once
with `torch.onnx.export`, int8 is `onnxruntime.quantization.quantize_dynamic` (weights int8 per
channel, activations quantised per batch; only matrix products with a constant weight), and the
sentence-transformers modules after it are applied as the model folder defines them (mean
pooling over the attention mask, then L2 normalisation). Tokenisation is the model's own
tokenizer with its `max_seq_length`. Exports are cached under the cache folder, keyed by the
weights' fingerprint and the export recipe. OpenVINO reads the same fp32 export (its run of the
dynamic-int8 graph was far slower than fp32, so int8 is ONNX Runtime's only).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from platypus.errors import PlatypusError
from platypus.paths import cache_dir

BACKENDS = ("torch", "onnx", "openvino")
OPSET = 17
# Changing how models are exported or quantised changes this, and with it the cached exports'
# and vectors' names.
RECIPE = f"torch.onnx legacy opset{OPSET}; int8: quantize_dynamic QInt8 per-channel MatMul const-B"


def recipe_tag(backend: str) -> str:
    """Short hash of the export recipe and the runtime's version (vectors can move by a rounding
    between runtime releases)."""
    if backend == "onnx":
        version = _version("onnxruntime")
    else:
        version = _version("openvino")
    return hashlib.sha256(f"{RECIPE}|{backend} {version}".encode()).hexdigest()[:8]


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        hint = "onnxruntime onnx" if dist == "onnxruntime" else "openvino onnx"
        raise PlatypusError(
            f"embed_backend {'onnx' if dist == 'onnxruntime' else dist} needs {dist}: "
            f"pip install {hint}"
        ) from None


def _local_folder(resolved: str) -> Path:
    path = Path(resolved)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download  # a hub id: its (cached) snapshot

    return Path(snapshot_download(resolved))


def _max_length(folder: Path) -> int:
    """max_seq_length of a sentence-transformers folder whose modules are the ones this backend
    reproduces: Transformer, mean Pooling, optional Normalize (vectors are always normalised)."""
    spec = folder / "modules.json"
    if not spec.is_file():
        raise PlatypusError(f"embedding model {folder}: no modules.json (not a sentence model)")
    kinds = [m["type"].rsplit(".", 1)[-1] for m in json.loads(spec.read_text())]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise PlatypusError(f"embedding model {folder}: modules {kinds}; the onnx backend "
                            "supports Transformer, Pooling (mean)[, Normalize]")  # fmt: skip
    pooling = next(m for m in json.loads(spec.read_text()) if m["type"].endswith("Pooling"))
    config = json.loads((folder / pooling["path"] / "config.json").read_text())
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise PlatypusError(f"embedding model {folder}: pooling {modes}; the onnx backend "
                            "supports mean pooling only")  # fmt: skip
    st_config = folder / "sentence_bert_config.json"
    length = None
    if st_config.is_file():
        length = json.loads(st_config.read_text()).get("max_seq_length")
    if length is None:
        from transformers import AutoTokenizer

        length = AutoTokenizer.from_pretrained(folder, trust_remote_code=False).model_max_length
    return int(length)


@contextlib.contextmanager
def _locked(path: Path):
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_fp32(folder: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    # No folder code runs here: OnnxEncoder refuses a folder that ships some.
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    model = AutoModel.from_pretrained(folder, dtype=torch.float32, trust_remote_code=False).eval()
    names = list(tokenizer.model_input_names)

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    sample = tokenizer(["a sample", "another, longer sample sentence"], padding=True,
                       return_tensors="pt")  # fmt: skip
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHidden(), tuple(sample[n] for n in names), str(tmp),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)  # fmt: skip
    os.replace(tmp, out)


def _quantise(fp32: Path, out: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" (a static-only step)
    try:
        quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"],
                         extra_options={"MatMulConstBOnly": True})  # fmt: skip
    finally:
        logging.getLogger().setLevel(level)
    os.replace(tmp, out)


def onnx_file(resolved: str, fingerprint: str, int8: bool, root: Path | None = None) -> Path:
    """The exported model (exported, and quantised, on first use; cached)."""
    root = root or cache_dir() / "onnx"
    root.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(RECIPE.encode()).hexdigest()[:8]
    fp32 = root / f"{fingerprint}-{tag}-fp32.onnx"
    int8_path = root / f"{fingerprint}-{tag}-int8.onnx"
    want = int8_path if int8 else fp32
    if want.is_file():
        return want
    with _locked(root / f"{fingerprint}-{tag}"):
        if not fp32.is_file():
            _export_fp32(_local_folder(resolved), fp32)
        if int8 and not int8_path.is_file():
            _quantise(fp32, int8_path)
    return want


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class OnnxEncoder:
    """Encodes texts with an exported transformer on ONNX Runtime or OpenVINO, then mean
    pooling and L2 normalisation: what the packaged sentence-transformers modules do."""

    def __init__(
        self, resolved: str, fingerprint: str, backend: str, int8: bool, trust_remote_code=False
    ):
        from platypus.models.remote_code import check_custom_code

        if backend not in ("onnx", "openvino"):
            raise ValueError(backend)
        recipe_tag(backend)  # a one-line error when the runtime is missing
        folder = _local_folder(resolved)
        if check_custom_code(folder, trust_remote_code, "embedding model"):
            raise PlatypusError(
                f"embedding model {resolved}: ships its own code, which the {backend} export "
                "does not run; use embed_backend: torch"
            )
        self.max_length = _max_length(folder)
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        self.names = list(self.tokenizer.model_input_names)
        path = onnx_file(resolved, fingerprint, int8)
        threads = int(os.environ.get("PLATYPUS_EMBED_THREADS", 0)) or _threads()
        if backend == "onnx":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._run = lambda feed: session.run(None, feed)[0]
        else:
            import openvino as ov

            compiled = ov.Core().compile_model(str(path), "CPU", {
                "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"})  # fmt: skip
            self._run = lambda feed: next(iter(compiled(feed).values()))
        self.dimension = int(self.encode(["x"], 1).shape[1])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """(len(texts), dim) float32 in the order given, batches of `batch_size` in that order."""
        out = []
        for start in range(0, len(texts), batch_size):
            enc = self.tokenizer(texts[start : start + batch_size], padding=True,
                                 truncation="longest_first", max_length=self.max_length,
                                 return_tensors="np")  # fmt: skip
            feed = {n: np.asarray(enc[n], dtype=np.int64) for n in self.names}
            hidden = np.asarray(self._run(feed), dtype=np.float32)
            mask = feed["attention_mask"][..., None].astype(np.float32)
            x = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            x /= np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
            out.append(x.astype(np.float32, copy=False))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
