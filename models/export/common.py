"""Shared helpers for the exporters: Triton config text, seeding, timing.

Each model module exposes `build(size, dtype)` returning a scripted module and
a `ModelSpec` describing its Triton config; this file turns the spec into
config.pbtxt text and keeps the writers free of formatting details. Ensembles
(pipelines of those models, `EnsembleSpec`) have a renderer and a check of
their wiring here too.

Specs may use the server's variable-length batching (proto/model_config.proto:
`ragged_padding`, `constraints`, `batch_input`, `batch_output`);
`plain_triton(spec)` strips those for configs that behave as Triton's own.
"""

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch


@dataclasses.dataclass
class TensorSpec:
    name: str
    data_type: str        # Triton enum name, e.g. "TYPE_FP32".
    dims: Sequence[int]   # Excludes the batch dimension.
    # The model's own per-item shape when it differs from `dims` (Triton's
    # `reshape`), e.g. [] for a per-item scalar that clients see as [1].
    reshape: Optional[Sequence[int]] = None
    # Inputs only. When set, requests of different lengths share a batch and
    # the server pads each item's variable dims with this value
    # (`ragged_padding { pad_value: V }`).
    pad_value: Optional[float] = None
    # Inputs with pad_value only: `ragged_padding { bucket_fraction: F }`, the
    # server pads a batch further, to a few sizes per octave (at most F more).
    bucket_fraction: Optional[float] = None
    # Inputs only: `constraints { key: value ... }` checked when a request is
    # decoded, e.g. {"min_length": 1, "finite": True}; written in dict order.
    constraints: Optional[Dict[str, Union[bool, int, float, str]]] = None


@dataclasses.dataclass
class BatchInputSpec:
    """A tensor the server builds from the batch (Triton's `batch_input`).

    forward() receives it after the configured inputs, in list order.
    """
    kind: str            # e.g. "BATCH_ELEMENT_COUNT".
    target_name: str
    data_type: str       # "TYPE_INT32" or "TYPE_INT64".
    source_input: str


@dataclasses.dataclass
class BatchOutputSpec:
    """How outputs are cut back per request (Triton's `batch_output`).

    BATCH_SCATTER_WITH_INPUT_SHAPE names a `source_input`;
    BATCH_SCATTER_WITH_OUTPUT_LENGTHS names a `source_output`.
    """
    kind: str
    target_names: Sequence[str]
    source_input: Optional[str] = None
    source_output: Optional[str] = None


# The parameters of the speech models (FastPitch, HiFi-GAN, wav2vec 2.0): a batch
# whose outputs hold a NaN fails instead of reaching clients.
SPEECH_MODEL_PARAMETERS = {"REJECT_NAN_OUTPUTS": "true"}


@dataclasses.dataclass
class ModelSpec:
    name: str
    max_batch_size: int
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    instance_count: int = 1
    # When false no dynamic_batching block is written and the two fields
    # below are ignored; when true each field is written if set.
    dynamic_batching: bool = False
    preferred_batch_sizes: Optional[Sequence[int]] = None
    max_queue_delay_us: Optional[int] = None
    # default_queue_policy.max_queue_size: past it a request is refused at
    # once with UNAVAILABLE, so that overload cannot grow the queue (and the
    # server's memory) without bound. None writes no policy (unbounded).
    max_queue_size: Optional[int] = 256
    # Triton instance kind: KIND_CPU or KIND_GPU.
    instance_kind: str = "KIND_CPU"
    # A `model_warmup` block's body (Triton text format), when the server's
    # default warm-up (ones, variable dims of 128) does not suit the model.
    warmup: Optional[str] = None
    # Triton `parameters` (string values), e.g. the server's
    # execute_inline_when_idle.
    parameters: Optional[Dict[str, str]] = None
    # Variable-length batching: tensors the server adds to forward()'s
    # arguments, and how padded outputs are cut back per request. Once an
    # input has a pad_value, every output with a -1 dim needs a batch output.
    batch_inputs: Optional[List[BatchInputSpec]] = None
    batch_outputs: Optional[List[BatchOutputSpec]] = None


@dataclasses.dataclass
class EnsembleStep:
    """One model of an ensemble and how its tensors connect.

    Maps go from the step model's tensor names to ensemble tensor names; a
    step output that nothing consumes needs no entry.
    """
    model_name: str
    input_map: Dict[str, str]
    output_map: Dict[str, str]
    model_version: int = -1      # -1: the latest version.


@dataclasses.dataclass
class EnsembleSpec:
    """A Triton ensemble (`platform: "ensemble"`): a config and no weights."""
    name: str
    max_batch_size: int
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    steps: List[EnsembleStep]


def plain_triton(spec: ModelSpec) -> ModelSpec:
    """A copy of `spec` without this server's extensions nor what needs them.

    Without ragged_padding Triton batches only requests of the same shape, and
    its batch_input / batch_output need ragged inputs, so all four go.
    """
    return dataclasses.replace(
        spec,
        inputs=[dataclasses.replace(t, pad_value=None, constraints=None)
                for t in spec.inputs],
        batch_inputs=None, batch_outputs=None)


def _value_text(value: Union[bool, int, float, str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _names(names: Sequence[str]) -> str:
    return "[ " + ", ".join(f'"{n}"' for n in names) + " ]"


def _tensor_block(tensors: List[TensorSpec]) -> str:
    items = []
    for t in tensors:
        dims = ", ".join(str(d) for d in t.dims)
        reshape = ""
        if t.reshape is not None:
            shape = ", ".join(str(d) for d in t.reshape)
            reshape = f"    reshape {{ shape: [ {shape} ] }}\n"
        extensions = ""
        if t.pad_value is not None:
            bucket = ""
            if t.bucket_fraction is not None:
                bucket = f" bucket_fraction: {_value_text(t.bucket_fraction)}"
            extensions += (f"    ragged_padding {{ pad_value: "
                           f"{_value_text(t.pad_value)}{bucket} }}\n")
        if t.constraints:
            rules = " ".join(f"{k}: {_value_text(v)}"
                             for k, v in t.constraints.items())
            extensions += f"    constraints {{ {rules} }}\n"
        items.append(
            "  {\n"
            f'    name: "{t.name}"\n'
            f"    data_type: {t.data_type}\n"
            f"    dims: [ {dims} ]\n"
            + reshape + extensions +
            "  }")
    return "[\n" + ",\n".join(items) + "\n]"


def _batch_input_block(specs: List[BatchInputSpec]) -> str:
    items = [
        "  {\n"
        f"    kind: {b.kind}\n"
        f"    target_name: {_names([b.target_name])}\n"
        f"    data_type: {b.data_type}\n"
        f"    source_input: {_names([b.source_input])}\n"
        "  }" for b in specs]
    return "batch_input [\n" + ",\n".join(items) + "\n]"


def _batch_output_block(specs: List[BatchOutputSpec]) -> str:
    items = []
    for b in specs:
        sources = ""
        if b.source_input is not None:
            sources += f"    source_input: {_names([b.source_input])}\n"
        if b.source_output is not None:
            sources += f"    source_output: {_names([b.source_output])}\n"
        items.append(
            "  {\n"
            f"    target_name: {_names(b.target_names)}\n"
            f"    kind: {b.kind}\n"
            + sources +
            "  }")
    return "batch_output [\n" + ",\n".join(items) + "\n]"


def render_config(spec: ModelSpec) -> str:
    """Returns config.pbtxt text in Triton's protobuf text format."""
    lines = [
        f'name: "{spec.name}"',
        'platform: "pytorch_libtorch"',
        f"max_batch_size: {spec.max_batch_size}",
        "input " + _tensor_block(spec.inputs),
        "output " + _tensor_block(spec.outputs),
    ]
    if spec.batch_inputs:
        lines.append(_batch_input_block(spec.batch_inputs))
    if spec.batch_outputs:
        lines.append(_batch_output_block(spec.batch_outputs))
    lines.append(
        "instance_group [\n  {\n"
        f"    count: {spec.instance_count}\n    kind: {spec.instance_kind}\n  }}\n]")
    if spec.dynamic_batching:
        body = []
        if spec.preferred_batch_sizes:
            sizes = ", ".join(str(s) for s in spec.preferred_batch_sizes)
            body.append(f"  preferred_batch_size: [ {sizes} ]")
        if spec.max_queue_delay_us is not None:
            body.append(
                f"  max_queue_delay_microseconds: {spec.max_queue_delay_us}")
        if spec.max_queue_size is not None:
            body.append("  default_queue_policy {\n"
                        f"    max_queue_size: {spec.max_queue_size}\n  }}")
        lines.append("dynamic_batching {\n" + "\n".join(body) + "\n}")
    for key, value in sorted((spec.parameters or {}).items()):
        lines.append(f'parameters {{\n  key: "{key}"\n'
                     f'  value {{ string_value: "{value}" }}\n}}')
    if spec.warmup:
        lines.append("model_warmup [\n  {\n" + spec.warmup + "\n  }\n]")
    return "\n".join(lines) + "\n"


def _map_block(field: str, mapping: Dict[str, str]) -> str:
    return "\n".join(
        f"      {field} {{\n        key: \"{key}\"\n"
        f"        value: \"{value}\"\n      }}"
        for key, value in mapping.items())


def render_ensemble_config(spec: EnsembleSpec) -> str:
    """Returns an ensemble's config.pbtxt text (Triton's format)."""
    steps = []
    for step in spec.steps:
        steps.append(
            "    {\n"
            f'      model_name: "{step.model_name}"\n'
            f"      model_version: {step.model_version}\n"
            + _map_block("input_map", step.input_map) + "\n"
            + _map_block("output_map", step.output_map) + "\n"
            "    }")
    lines = [
        f'name: "{spec.name}"',
        'platform: "ensemble"',
        f"max_batch_size: {spec.max_batch_size}",
        "input " + _tensor_block(spec.inputs),
        "output " + _tensor_block(spec.outputs),
        "ensemble_scheduling {\n  step [\n" + ",\n".join(steps)
        + "\n  ]\n}",
    ]
    return "\n".join(lines) + "\n"


def _dims_agree(a: Sequence[int], b: Sequence[int]) -> bool:
    return len(a) == len(b) and all(
        x == y or x < 0 or y < 0 for x, y in zip(a, b))


def ensemble_problems(spec: EnsembleSpec,
                      models: Dict[str, ModelSpec]) -> List[str]:
    """What is wrong with `spec` given its steps' model specs (empty: fine).

    Checks what Triton checks when it loads an ensemble: every step model
    exists and batches at least max_batch_size rows, maps only tensors it
    has and all of its inputs, every ensemble tensor has exactly one source
    (an ensemble input or one step output) with the data type and dims its
    consumers expect, every ensemble output is produced and every input used.
    """
    problems = []
    # Ensemble tensor -> (data type, client dims, where it comes from).
    sources: Dict[str, tuple] = {
        t.name: (t.data_type, list(t.dims), "ensemble input")
        for t in spec.inputs}
    consumed = set()
    for step in spec.steps:
        model = models.get(step.model_name)
        if model is None:
            problems.append(f"step model '{step.model_name}' is unknown")
            continue
        where = f"step '{step.model_name}'"
        if model.max_batch_size < spec.max_batch_size:
            problems.append(
                f"{where}: max_batch_size {model.max_batch_size} < the "
                f"ensemble's {spec.max_batch_size}")
        for name, tensor in step.output_map.items():
            out = next((t for t in model.outputs if t.name == name), None)
            if out is None:
                problems.append(f"{where}: output_map names no output "
                                f"'{name}'")
            elif tensor in sources:
                problems.append(f"{where}: ensemble tensor '{tensor}' "
                                f"already comes from {sources[tensor][2]}")
            else:
                sources[tensor] = (out.data_type, list(out.dims),
                                   f"{where} output '{name}'")
    for step in spec.steps:
        model = models.get(step.model_name)
        if model is None:
            continue
        where = f"step '{step.model_name}'"
        names = [t.name for t in model.inputs]
        missing = [n for n in names if n not in step.input_map]
        if missing:
            problems.append(f"{where}: inputs {missing} are not mapped")
        for name, tensor in step.input_map.items():
            inp = next((t for t in model.inputs if t.name == name), None)
            if inp is None:
                problems.append(f"{where}: input_map names no input "
                                f"'{name}'")
                continue
            consumed.add(tensor)
            if tensor not in sources:
                problems.append(f"{where}: input '{name}' reads ensemble "
                                f"tensor '{tensor}', which nothing produces")
                continue
            data_type, dims, origin = sources[tensor]
            if data_type != inp.data_type or not _dims_agree(dims, inp.dims):
                problems.append(
                    f"{where}: input '{name}' is {inp.data_type} "
                    f"{list(inp.dims)} but '{tensor}' ({origin}) is "
                    f"{data_type} {dims}")
    for out in spec.outputs:
        if out.name not in sources:
            problems.append(f"ensemble output '{out.name}' is produced by "
                            f"no step")
            continue
        data_type, dims, origin = sources[out.name]
        if data_type != out.data_type or not _dims_agree(dims, out.dims):
            problems.append(f"ensemble output '{out.name}' is "
                            f"{out.data_type} {list(out.dims)} but {origin} "
                            f"is {data_type} {dims}")
    for inp in spec.inputs:
        if inp.name not in consumed:
            problems.append(f"ensemble input '{inp.name}' is not used")
    return problems


# An item's outputs in a padded batch may differ from its outputs alone by
# float rounding (other kernels for other shapes), not by more.
PADDED_RELATIVE_TOLERANCE = 1e-4


@dataclasses.dataclass
class PaddedCheck:
    """How far items' outputs in a padded batch are from their outputs alone.

    `max_relative` is each item's largest absolute difference over the largest
    magnitude of its output alone, the worst over items and outputs compared.
    """
    max_abs: float = 0.0
    max_relative: float = 0.0
    note: str = ""                  # What else was compared, and held.
    failure: Optional[str] = None   # A non-value comparison that failed.

    def add(self, batched: torch.Tensor, alone: torch.Tensor) -> None:
        """Compares one item's output (already cut to its own sizes)."""
        diff = float((batched.double() - alone.double()).abs().max())
        scale = float(alone.double().abs().max())
        self.max_abs = max(self.max_abs, diff)
        self.max_relative = max(self.max_relative,
                                diff / scale if scale > 0 else diff)

    @property
    def ok(self) -> bool:
        return (self.failure is None
                and self.max_relative <= PADDED_RELATIVE_TOLERANCE)

    def __str__(self) -> str:
        if self.failure is not None:
            return f"FAILED: {self.failure}"
        status = "ok" if self.ok else "FAILED"
        note = f"{self.note}, " if self.note else ""
        return (f"{status} ({note}max |diff| {self.max_abs:.1e}, relative "
                f"{self.max_relative:.1e}, limit "
                f"{PADDED_RELATIVE_TOLERANCE:.0e})")


def float_type(dtype: str) -> str:
    return {"fp32": "TYPE_FP32", "fp16": "TYPE_FP16"}[dtype]


def torch_dtype(dtype: str) -> torch.dtype:
    return {"fp32": torch.float32, "fp16": torch.float16}[dtype]


def median_ms(fn: Callable[[], object], threads: int = 2,
              repeats: int = 20) -> float:
    """Median wall time of fn() in milliseconds on `threads` intra-op threads.

    Two threads mirrors the CPU budget the server gives one model instance.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(3):  # Warm up: the JIT profiles the first runs.
                fn()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)
    times.sort()
    return 1000.0 * times[len(times) // 2]
