"""Reads published checkpoints and copies their weights into our modules.

`load(path)` returns a `Checkpoint`: the flat weights (a `torch.save` file's
state dict, taken out of its container and without DistributedDataParallel's
`module.` prefixes, or a `.safetensors` file) and the file's other entries
(its saved model config or training arguments) as plain Python values.

A model's mapping (fastpitch_checkpoint.py, hifigan_checkpoint.py,
wav2vec2_checkpoint.py) names, for each of our parameters, where it comes
from: `Key` (one tensor, under one of several published names),
`WeightNorm` (a weight-normed weight, folded into a plain one) or `Chunk`
(a slice of a fused tensor). `apply()` resolves every entry, checks every
shape and copies the weights; on any problem it raises `MismatchError`
listing all missing keys, unexpected keys and mis-shaped keys at once.

Nothing here trusts the file: weights load with torch's weights-only
unpickler, and a file whose metadata pickles other classes (fairseq's
argparse.Namespace or omegaconf configs) is read with an unpickler that
builds inert stand-ins for those classes instead of importing them.
"""

import dataclasses
import json
import os
import pickle
import re
import types
from typing import (Any, Callable, Dict, Iterable, List, Optional, Sequence,
                    Tuple)

import torch
from torch import nn

# Containers that hold the weights in the layouts we read, in the order we
# look for them: DeepLearningExamples FastPitch ('state_dict'), HiFi-GAN
# ('generator', older 'gen'), fairseq and DeepLearningExamples wav2vec 2.0
# ('model'). Averaged weights, where training kept them, sit beside them.
WEIGHT_CONTAINERS = ("state_dict", "model", "generator", "gen")
EMA_CONTAINERS = ("ema_state_dict", "ema_model", "gen_ema")


class CheckpointError(ValueError):
    """The checkpoint cannot be converted; the message says why."""


class MismatchError(CheckpointError):
    """Keys that a mapping needed and did not find, did not expect, or found
    with another shape; all of them, each list sorted."""

    def __init__(self, source: str, missing: Sequence[str],
                 unexpected: Sequence[str],
                 misshaped: Sequence[Tuple[str, Tuple[int, ...],
                                           Tuple[int, ...]]],
                 hints: Sequence[str] = ()):
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        self.misshaped = sorted(misshaped)
        lines = [f"{source}: the checkpoint does not match the model "
                 f"({len(self.missing)} missing, {len(self.unexpected)} "
                 f"unexpected, {len(self.misshaped)} mis-shaped keys)"]
        lines += [f"  missing key: {k}" for k in self.missing]
        lines += [f"  unexpected key: {k}" for k in self.unexpected]
        lines += [f"  mis-shaped key: {k} expected {list(e)} found {list(f)}"
                  for k, e, f in self.misshaped]
        lines += [f"  hint: {h}" for h in hints]
        super().__init__("\n".join(lines))


@dataclasses.dataclass
class Checkpoint:
    path: str
    weights: Dict[str, torch.Tensor]
    # The file's other top-level entries (or a config.json beside it), as
    # plain dicts, lists and scalars.
    meta: Dict[str, Any]
    container: str      # The entry that held the weights; "" when flat.


# ---------------------------------------------------------------- reading


class _Stub:
    """An inert stand-in for a class the tolerant unpickler will not import.

    It keeps whatever the pickle hands it (constructor arguments, state,
    items) so that settings inside can still be read by `plain()`.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "_Stub":
        obj = object.__new__(cls)
        obj.__dict__["_stub_args"] = args
        obj.__dict__["_stub_state"] = None
        obj.__dict__["_stub_items"] = {}
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_stub_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__["_stub_items"][key] = value

    def append(self, value: Any) -> None:
        self.__dict__["_stub_items"][len(self._stub_items)] = value

    def extend(self, values: Iterable[Any]) -> None:
        for v in values:
            self.append(v)


_STUBS: Dict[str, type] = {}


def _stub_class(full_name: str) -> type:
    if full_name not in _STUBS:
        _STUBS[full_name] = type(full_name.replace(".", "_"), (_Stub,),
                                 {"stub_of": full_name})
    return _STUBS[full_name]


def _allowed_globals() -> Dict[str, Any]:
    from torch import _weights_only_unpickler as wou
    allowed = dict(wou._get_allowed_globals())
    allowed.update({f"torch._utils.{n}": getattr(torch._utils, n)
                    for n in dir(torch._utils) if n.startswith("_rebuild")})
    allowed.update({f"torch.{n}": getattr(torch, n)
                    for n in ("bfloat16", "bool", "uint8", "device")})
    return allowed


class _TolerantUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        allowed = _allowed_globals()
        return allowed[full] if full in allowed else _stub_class(full)


# torch.load takes a pickle *module*; this one differs only in its Unpickler.
_tolerant_pickle = types.SimpleNamespace(
    __name__="tolerant_pickle", Unpickler=_TolerantUnpickler,
    load=pickle.load)


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
    "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
    "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool}


def _read_safetensors(path: str) -> Tuple[Dict[str, torch.Tensor],
                                          Dict[str, Any]]:
    """The safetensors format: an 8-byte little-endian header size, a JSON
    header of {name: {dtype, shape, data_offsets}}, then the raw bytes."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        data = f.read()
    weights = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _SAFETENSORS_DTYPES[info["dtype"]]
        if end == begin:
            weights[name] = torch.empty(info["shape"], dtype=dtype)
        else:
            weights[name] = torch.frombuffer(
                bytearray(data[begin:end]), dtype=dtype).reshape(
                    info["shape"])
    return weights, {"metadata": header.get("__metadata__", {})}


def _read_pickle(path: str) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    # torch 1.13's torch.load ignores pickle_module (it resets it to pickle
    # unless weights_only), so call the reader it would have called.
    from torch import serialization
    with open(path, "rb") as f:
        if serialization._is_zipfile(f):
            with serialization._open_zipfile_reader(f) as archive:
                return serialization._load(archive, "cpu", _tolerant_pickle,
                                           encoding="utf-8")
        return serialization._legacy_load(f, "cpu", _tolerant_pickle,
                                          encoding="utf-8")


def plain(value: Any) -> Any:
    """Stand-ins, namespaces and containers as dicts, lists and scalars.

    An omegaconf node keeps its value in `_val` and a container its entries
    in `_content`; both unwrap to what they hold. Tensors stay tensors.
    """
    if isinstance(value, _Stub):
        state = value._stub_state
        if isinstance(state, dict) and "_val" in state:
            return plain(state["_val"])
        if isinstance(state, dict) and "_content" in state:
            return plain(state["_content"])
        if value._stub_items:
            return plain(value._stub_items)
        return plain(state if state is not None else list(value._stub_args))
    if isinstance(value, types.SimpleNamespace):
        return plain(vars(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _is_weights(value: Any) -> bool:
    return (isinstance(value, dict) and len(value) > 0
            and all(isinstance(v, torch.Tensor) for v in value.values()))


def _strip_prefixes(weights: Dict[str, torch.Tensor]) -> Dict[str,
                                                             torch.Tensor]:
    # DistributedDataParallel saves 'module.x'; wrapped twice, 'module.module.'
    return {re.sub(r"^(module\.)+", "", k): v for k, v in weights.items()}


def _find_checkpoint_file(path: str) -> str:
    if not os.path.isdir(path):
        return path
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.exists(os.path.join(path, name)):
            return os.path.join(path, name)
    raise CheckpointError(f"{path}: a folder without model.safetensors or "
                          f"pytorch_model.bin")


def load(path: str, prefer_ema: bool = False,
         config_path: Optional[str] = None) -> Checkpoint:
    """Reads a checkpoint file, or a Hugging Face model folder.

    The weights come from the first of WEIGHT_CONTAINERS present, or from
    EMA_CONTAINERS first when `prefer_ema`; a file that is itself a state
    dict is used whole. `config_path` (default: a config.json beside the
    file, if any) is read into meta["config_json"].
    """
    path = _find_checkpoint_file(path)
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no such file")
    if path.endswith(".safetensors"):
        weights, meta = _read_safetensors(path)
        container = ""
    else:
        try:
            obj = _read_pickle(path)
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError,
                ValueError) as e:
            raise CheckpointError(f"{path}: not a torch.save file ({e})")
        if _is_weights(obj):
            weights, meta, container = obj, {}, ""
        elif isinstance(obj, dict):
            order = (EMA_CONTAINERS + WEIGHT_CONTAINERS if prefer_ema
                     else WEIGHT_CONTAINERS)
            container = next((k for k in order if _is_weights(obj.get(k))),
                             None)
            if container is None:
                raise CheckpointError(
                    f"{path}: no weights found; top-level keys "
                    f"{sorted(map(str, obj))}, weights expected under one of "
                    f"{list(order)}")
            weights = obj[container]
            meta = {k: plain(v) for k, v in obj.items()
                    if k not in WEIGHT_CONTAINERS + EMA_CONTAINERS
                    and k not in ("optimizer", "optimizer_history",
                                  "last_optimizer_state", "scaler", "amp")}
        else:
            raise CheckpointError(f"{path}: holds a {type(obj).__name__}, "
                                  f"not a checkpoint dictionary")
    config_path = config_path or os.path.join(os.path.dirname(path),
                                              "config.json")
    if os.path.exists(config_path):
        with open(config_path) as f:
            meta["config_json"] = json.load(f)
    return Checkpoint(path, _strip_prefixes(dict(weights)), meta, container)


def find_setting(meta: Any, *names: str) -> Any:
    """The first value under any of `names`, searching nested dicts depth
    first in order (e.g. fairseq's cfg.model.w2v_args.model); None if none."""
    if isinstance(meta, dict):
        for name in names:
            if name in meta and meta[name] is not None:
                return meta[name]
        for value in meta.values():
            found = find_setting(value, *names)
            if found is not None:
                return found
    elif isinstance(meta, list):
        for value in meta:
            found = find_setting(value, *names)
            if found is not None:
                return found
    return None


def count_indexed(weights: Dict[str, torch.Tensor], prefix: str) -> int:
    """How many consecutive N from 0 have some key `prefix + "N."...`."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for k in weights for m in [pattern.match(k)]
             if m}
    n = 0
    while n in found:
        n += 1
    return n


# ---------------------------------------------------------------- mapping


class _Report:
    def __init__(self, weights: Dict[str, torch.Tensor]):
        self.weights = weights
        self.used: set = set()
        self.missing: List[str] = []
        self.misshaped: List[Tuple[str, Tuple[int, ...],
                                   Tuple[int, ...]]] = []

    def take(self, key: str, shape: Sequence[int],
             squeeze: bool) -> Optional[torch.Tensor]:
        """The tensor under `key` if it has `shape`; records what is wrong."""
        self.used.add(key)
        tensor = self.weights[key]
        if (squeeze and tensor.dim() == len(shape) + 1
                and tensor.shape[-1] == 1):
            tensor = tensor.squeeze(-1)   # Saved conv2d-shaped.
        if tuple(tensor.shape) != tuple(shape):
            self.misshaped.append((key, tuple(shape), tuple(tensor.shape)))
            return None
        return tensor.float()


class Source:
    """Where one of our parameters comes from."""

    def resolve(self, report: _Report, shape: torch.Size,
                squeeze: bool) -> Optional[torch.Tensor]:
        raise NotImplementedError

    def present(self, weights: Dict[str, torch.Tensor]) -> bool:
        raise NotImplementedError


class Key(Source):
    """One tensor, under the first of `names` present (published spellings
    of the same parameter); reported missing under the first."""

    def __init__(self, *names: str):
        self.names = names

    def present(self, weights: Dict[str, torch.Tensor]) -> bool:
        return any(n in weights for n in self.names)

    def resolve(self, report: _Report, shape: torch.Size,
                squeeze: bool) -> Optional[torch.Tensor]:
        for name in self.names:
            if name in report.weights:
                return report.take(name, shape, squeeze)
        report.missing.append(self.names[0])
        return None


def fold_weight_norm(g: torch.Tensor, v: torch.Tensor,
                     dim: int) -> torch.Tensor:
    """torch.nn.utils.weight_norm's weight: g * v / ||v||, the norm taken
    over every dim but `dim` (g's one non-singleton dim)."""
    other = [d for d in range(v.dim()) if d != dim]
    norm = v.double().pow(2).sum(dim=other, keepdim=True).sqrt()
    return (g.double() * v.double() / norm).float()


class WeightNorm(Source):
    """`prefix + "weight"` of a module under torch's weight_norm(dim=dim).

    Read as a plain `weight` (weight norm already removed), as
    `weight_g`/`weight_v`, or as the parametrization's `original0` (g) and
    `original1` (v) of torch >= 2.1.
    """

    def __init__(self, prefix: str, dim: int):
        self.prefix = prefix
        self.dim = dim
        self.pairs = [(prefix + "weight_g", prefix + "weight_v"),
                      (prefix + "parametrizations.weight.original0",
                       prefix + "parametrizations.weight.original1")]

    def present(self, weights: Dict[str, torch.Tensor]) -> bool:
        return (self.prefix + "weight" in weights
                or any(g in weights or v in weights for g, v in self.pairs))

    def resolve(self, report: _Report, shape: torch.Size,
                squeeze: bool) -> Optional[torch.Tensor]:
        weights = report.weights
        if self.prefix + "weight" in weights:
            return report.take(self.prefix + "weight", shape, squeeze)
        g_shape = [s if d == self.dim else 1 for d, s in enumerate(shape)]
        pair = next(((g, v) for g, v in self.pairs
                     if g in weights or v in weights), self.pairs[0])
        found = []
        for key, key_shape in zip(pair, (g_shape, shape)):
            if key in weights:
                found.append(report.take(key, key_shape, squeeze))
            else:
                report.missing.append(key)
                found.append(None)
        g, v = found
        if g is None or v is None:
            return None
        return fold_weight_norm(g, v, self.dim)


class Chunk(Source):
    """Part `index` of `parts` equal slices along dim 0 of a fused tensor
    (e.g. a [3D, D] query-key-value projection)."""

    def __init__(self, name: str, index: int, parts: int):
        self.name = name
        self.index = index
        self.parts = parts

    def present(self, weights: Dict[str, torch.Tensor]) -> bool:
        return self.name in weights

    def resolve(self, report: _Report, shape: torch.Size,
                squeeze: bool) -> Optional[torch.Tensor]:
        if self.name not in report.weights:
            report.missing.append(self.name)
            return None
        fused = [shape[0] * self.parts] + list(shape[1:])
        tensor = report.take(self.name, fused, squeeze)
        if tensor is None:
            return None
        return tensor.chunk(self.parts, dim=0)[self.index]


class FirstOf(Source):
    """The first of several sources whose keys are present (e.g. separate
    q/k/v projections or a fused one); reported missing as the first."""

    def __init__(self, *sources: Source):
        self.sources = sources

    def present(self, weights: Dict[str, torch.Tensor]) -> bool:
        return any(s.present(weights) for s in self.sources)

    def resolve(self, report: _Report, shape: torch.Size,
                squeeze: bool) -> Optional[torch.Tensor]:
        chosen = next((s for s in self.sources if s.present(report.weights)),
                      self.sources[0])
        return chosen.resolve(report, shape, squeeze)


Mapping = Dict[str, Source]


def apply(model: nn.Module, mapping: Mapping, checkpoint: Checkpoint,
          ignore: Callable[[str], bool] = lambda key: False,
          squeeze_trailing: bool = False,
          hints: Sequence[str] = ()) -> None:
    """Copies the checkpoint's weights into `model` as `mapping` says.

    `mapping` must name a source for every entry of model.state_dict().
    Checkpoint keys that no source reads and `ignore` does not accept (e.g.
    training-only modules) are unexpected. `squeeze_trailing` accepts a
    tensor with an extra trailing dim of 1 (a conv saved as conv2d).
    Raises MismatchError, with `hints` appended, unless every key matched;
    the model is untouched then.
    """
    ours = model.state_dict()
    if set(ours) != set(mapping):
        raise CheckpointError(
            f"mapping and module disagree (a bug in the mapping): no source "
            f"for {sorted(set(ours) - set(mapping))}, no parameter for "
            f"{sorted(set(mapping) - set(ours))}")
    report = _Report(checkpoint.weights)
    resolved = {name: mapping[name].resolve(report, ours[name].shape,
                                            squeeze_trailing)
                for name in ours}
    unexpected = [k for k in checkpoint.weights
                  if k not in report.used and not ignore(k)]
    if report.missing or unexpected or report.misshaped:
        raise MismatchError(checkpoint.path, report.missing, unexpected,
                            report.misshaped, hints)
    with torch.no_grad():
        for name, tensor in resolved.items():
            ours[name].copy_(tensor)
