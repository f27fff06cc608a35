"""What a merge method is: a name, the inputs it takes, the parameters it reads with their
defaults, and how it writes the merged weights.

Two kinds: adapter methods (`adapter`, `transplant`) add a LoRA delta to one model; tensor
methods (`TensorMerge`) combine `models` (and a base, where they need one) one tensor at a
time through `merge_tensor`. Importing this module does not import torch, so the registry's
names are cheap to read (the CLI's choices, the config's validator).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    import torch

    from platypus.merge.config import MergeConfig

_WORDS = {1: "one", 2: "two", 3: "three"}


@dataclass(frozen=True)
class Parameter:
    """A setting a method reads, from the merge's `parameters` (shared) or, for `per_model`
    ones, each model's `parameters` and then the merge's; unset means `default`. Either name
    (ours or mergekit's) is accepted."""

    name: str
    default: Any
    per_model: bool = False
    mergekit: str | None = None  # mergekit's name where it differs (its `lambda` is `scale`)
    help: str = ""
    is_list: bool = False  # the value is a list (e.g. module names), not a gradient over layers

    @property
    def mergekit_name(self) -> str:
        return self.mergekit or self.name

    def setting(self, *sources: dict[str, Any]) -> Any:
        """The first of `sources` (parameter mappings, highest precedence first) that sets
        this parameter under either name; None when none does."""
        for source in sources:
            for key in (self.name, self.mergekit_name):
                if key in source and source[key] is not None:
                    return source[key]
        return None


class MergeMethod(ABC):
    """One merge method. Subclasses set the class attributes and implement `run`."""

    name: str
    summary: str = ""
    needs_base: bool = False  # reads `base_model` (None there: SmolLM2)
    optional_base: bool = False  # reads `base_model` when one is given (mergekit's optional base)
    uses_adapter: bool = False  # reads `adapter` (a recipe fills in the trained one)
    min_models: int = 1  # how many `models` it merges (besides the base)
    max_models: int | None = None  # None: no limit
    parameters: tuple[Parameter, ...] = ()

    def __repr__(self) -> str:
        return f"<merge method {self.name}>"

    def reads_base(self, config: MergeConfig) -> bool:
        """Whether this merge reads `base_model`: always where the method needs one, where it
        is optional when the config gives one."""
        return self.needs_base or (self.optional_base and config.base_model is not None)

    def parameter(self, name: str) -> Parameter:
        return next(p for p in self.parameters if p.name == name)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def validate(self, config: MergeConfig) -> None:
        """Raise a one-line PlatypusError when `config` cannot be merged with this method."""
        if getattr(config, "slices", None):  # layers slice by slice (platypus.merge.slices)
            from platypus.merge.slices import validate_slices

            return validate_slices(self, config)
        n = len(config.models)
        if n == 0 and self.min_models > 0:
            raise PlatypusError(f"merge method {self.name!r} needs `models`")
        low, high = self.min_models, self.max_models
        if n < low or (high is not None and n > high):
            raise PlatypusError(f"merge method {self.name!r} merges {self._arity()}; got {n}")
        known = {p.name for p in self.parameters} | {p.mergekit_name for p in self.parameters}
        per_model = {p.name for p in self.parameters if p.per_model}
        per_model |= {p.mergekit_name for p in self.parameters if p.per_model}
        places = [("parameters", config.parameters, known)]
        places += [(f"models[{i}].parameters", m.parameters, per_model)
                   for i, m in enumerate(config.models)]  # fmt: skip
        for where, given, allowed in places:
            for name in given:
                if name not in allowed:
                    takes = ", ".join(sorted(p.name for p in self.parameters if p.name in allowed
                                             or p.mergekit_name in allowed)) or "none"  # fmt: skip
                    raise PlatypusError(f"merge method {self.name!r}: {where} has no parameter "
                                        f"{name!r} (it takes: {takes})")  # fmt: skip
        from platypus.merge.references import check_reference  # no download, no weights read

        for where, ref in [("base_model", config.base_model)] * self.needs_base + [
            ("models", m.model) for m in config.models
        ]:
            check_reference(ref, where)

    def _arity(self) -> str:
        low, high = self.min_models, self.max_models
        if high is None or low == high:
            shown = low
            count = f"{'exactly' if low == high else 'at least'} {_WORDS.get(low, str(low))}"
        else:
            shown, count = high, f"{low} to {high}"
        noun = ("other model" if self.needs_base else "model") + ("" if shown == 1 else "s")
        return f"the base with {count} {noun}" if self.needs_base else f"{count} {noun}"

    def settings(self, config: MergeConfig, tensor: str = "", t: float = 0.0) -> dict[str, Any]:
        """Every declared parameter's value for the tensor named `tensor` at layer fraction `t`
        (`platypus.merge.parameters`; the whole model: no name, the first layer): a model's
        own setting, else the merge's, else the default. Per-model parameters are lists in
        `models` order."""
        from platypus.merge.parameters import resolve

        def value(p: Parameter, *sources: dict[str, Any]) -> Any:
            v = None
            for source in sources:  # a setting that gives this tensor nothing (a filter list
                given = p.setting(source)  # with no match) falls through, as in mergekit
                v = given if p.is_list else resolve(given, tensor, t)
                if v is not None:
                    break
            if v is None:
                return p.default
            if isinstance(p.default, float) and isinstance(v, int) and not isinstance(v, bool):
                return float(v)
            return v

        values: dict[str, Any] = {}
        for p in self.parameters:
            if p.per_model:
                values[p.name] = [value(p, m.parameters, config.parameters) for m in config.models]
            else:
                values[p.name] = value(p, config.parameters)
        return values

    def model_parameters(self, config: MergeConfig, model) -> dict[str, Any]:
        """What a merge card records of one model: the method's per-model parameters as set
        (a gradient or filter list as written), or their defaults."""
        out = {}
        for p in self.parameters:
            if p.per_model:
                given = p.setting(model.parameters, config.parameters)
                out[p.name] = p.default if given is None else given
        return out

    @abstractmethod
    def run(self, config: MergeConfig, out: Path) -> tuple[Path | None, dict]:
        """Write the merged weights into `out`. Returns the folder whose config and tokenizer
        the output takes (None: the output is no model, e.g. an adapter), and this method's
        part of the merge card (at least `inputs`)."""


class TensorMerge(MergeMethod):
    """A merge of `models` computed tensor by tensor: each tensor is read from every input,
    merged in float32 by `merge_tensor`, cast and written before the next is read."""

    @abstractmethod
    def merge_tensor(
        self,
        name: str,
        base: torch.Tensor | None,
        tensors: Sequence[torch.Tensor],
        settings: dict[str, Any],
    ) -> torch.Tensor:
        """The merged tensor `name` (float32, or float64 for float64 inputs; the caller casts).
        `base` is None unless the merge `reads_base`; `settings` is `self.settings(config)`.
        `tensors` is this call's own list: a method may set an entry to None once it has
        read it, so a large tensor's inputs are freed while it is merged."""

    def run(self, config: MergeConfig, out: Path) -> tuple[Path, dict]:
        if config.slices:  # layers slice by slice (platypus.merge.slices)
            from platypus.merge.slices import run_slices

            return run_slices(self, config, out)
        from platypus.merge.streaming import merge_models

        return merge_models(self, config, out)


# Entries per slice of an elementwise stage (`by_chunks`): 4 MiB of float32, small enough that
# a slice's temporaries are noise next to one large tensor, large enough to amortise the loop.
CHUNK = 1 << 20


def by_chunks(fn, *tensors: torch.Tensor) -> torch.Tensor:
    """`fn(*tensors)` for an `fn` that works entry by entry (the output's entry i depends only
    on the inputs' entries i; all of the shape of the first), computed over consecutive slices
    of `CHUNK` entries into one output. Every entry goes through the same operations as in the
    whole-tensor call, so the result is that call's bit for bit, while the temporaries are a
    slice's: a merge of a 28M-entry embedding holds the inputs and the output, not five more
    copies of the stack of deltas."""
    import torch

    first = tensors[0]
    flat = [t.reshape(-1) for t in tensors]
    n = flat[0].numel()
    if n <= CHUNK:
        return fn(*flat).reshape(first.shape)
    out = None
    for start in range(0, n, CHUNK):
        part = fn(*(t[start : start + CHUNK] for t in flat))
        if out is None:
            out = torch.empty(n, dtype=part.dtype)
        out[start : start + CHUNK] = part
        del part
    return out.reshape(first.shape)


def same_model(a: str, b: str | None) -> bool:
    """Two references to one model: the same text, or two paths to one folder."""
    if b is None:
        return False
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.is_dir() and pb.is_dir() and pa.resolve() == pb.resolve()


def without_base(config: MergeConfig) -> MergeConfig:
    """`config` less any `models` entry naming `base_model`: mergekit takes such an entry as the
    base (its per-model parameters unread), not as one more model."""
    kept = [m for m in config.models if not same_model(m.model, config.base_model)]
    if len(kept) == len(config.models):
        return config
    return config.model_copy(update={"models": kept})


def num_layers(folder: Path, names) -> int:
    """The model's decoder layers: its config's `num_hidden_layers`, else counted from the
    tensor names (`...layers.<i>...`)."""
    import json
    import re

    try:
        config = json.loads((folder / "config.json").read_text())
        layers = config.get("num_hidden_layers") or config.get("text_config", {}).get(
            "num_hidden_layers"
        )
        if isinstance(layers, int) and layers > 0:
            return layers
    except (OSError, ValueError, AttributeError):
        pass
    found = {int(m.group(1)) for n in names if (m := re.search(r"\.layers\.(\d+)\.", n))}
    return max(found) + 1 if found else 0


def work(t: torch.Tensor) -> torch.Tensor:
    """`t` in the dtype merges compute in: float32, or float64 for float64 inputs."""
    import torch

    return t.to(torch.float64 if t.dtype == torch.float64 else torch.float32)


def taken(tensors: list, i: int, consume: bool) -> tuple[torch.Tensor, bool]:
    """`tensors[i]` in the work dtype, and whether the caller may overwrite it: taken from the
    streaming loop's own list (`consume`: the entry is dropped, so its memory goes once the
    caller is done with it) unless it is a view of a checkpoint's memory map (written into,
    each of its pages would be copied on its own), or a converted copy already."""
    from platypus.merge.tensors import is_mapped

    t = work(tensors[i])
    own = (consume and not is_mapped(t)) or t is not tensors[i]
    if consume:
        tensors[i] = None
    return t, own


def minus(t: torch.Tensor, b: torch.Tensor, own: bool) -> torch.Tensor:
    """`t - b`: in `t`'s memory where it is the caller's to overwrite (`taken`), else in new
    memory; a view of a checkpoint's memory map (a consumed input) is subtracted slice by slice,
    each slice's pages handed back once read, so the input and its delta are never both whole
    in memory. The same bits as `t - b` in every case (entry by entry)."""
    import torch

    from platypus.merge.tensors import drop_read_pages, is_mapped

    if own:
        return t.sub_(b)
    if t.numel() <= CHUNK or not (t.is_contiguous() and is_mapped(t)) or t.shape != b.shape:
        return t - b
    out = torch.empty_like(t, dtype=torch.result_type(t, b))
    flat_t, flat_b, flat_out = t.reshape(-1), b.reshape(-1), out.reshape(-1)
    for s in range(0, flat_t.numel(), CHUNK):
        piece = flat_t[s : s + CHUNK]
        torch.sub(piece, flat_b[s : s + CHUNK], out=flat_out[s : s + CHUNK])
        drop_read_pages(piece)
    return out


def finite(t: torch.Tensor) -> bool:
    from platypus.merge.tensors import finite as no_nan_or_inf

    return no_nan_or_inf(t)


def checked_merge(name: str, merged: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A merged tensor as the output stores it: the writer checks what it writes, and a result
    about to be cast to another dtype is checked before the cast too."""
    if merged.dtype != dtype and not finite(merged):
        raise PlatypusError(f"merge produced non-finite values in {name}")
    return merged.to(dtype)
