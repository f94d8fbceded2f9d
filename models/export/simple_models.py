"""The trivial models: `identity` (echo), Triton's quick-start `simple`, and its BYTES examples
`simple_string` and `simple_identity`.

They exist to exercise the server's plumbing (batching, tensor copies, error
paths) without model compute getting in the way, so they stay as cheap as a
TorchScript module can be.
"""

from typing import List, Tuple

import torch

from common import ModelSpec, TensorSpec


class Identity(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A copy, not `x` itself: the server may reuse its input buffer after
        # the call, so the output must own its memory.
        return x.clone()


class Simple(torch.nn.Module):
    def forward(self, input0: torch.Tensor,
                input1: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return input0 + input1, input0 - input1


def build_identity() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    spec = ModelSpec(
        name="identity", max_batch_size=64,
        inputs=[TensorSpec("INPUT0", "TYPE_FP32", [-1])],
        outputs=[TensorSpec("OUTPUT0", "TYPE_FP32", [-1])],
        # No queue delay: a lone request runs at once, and under load batches
        # still grow while the instance is busy.
        dynamic_batching=True, max_queue_delay_us=0,
        # A copy takes microseconds: a lone request runs on the gRPC thread
        # that received it instead of crossing two thread hand-offs.
        parameters={"execute_inline_when_idle": "true"})
    return torch.jit.script(Identity().eval()), spec


def build_simple() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    spec = ModelSpec(
        name="simple", max_batch_size=8,
        inputs=[TensorSpec("INPUT0", "TYPE_INT32", [16]),
                TensorSpec("INPUT1", "TYPE_INT32", [16])],
        outputs=[TensorSpec("OUTPUT0", "TYPE_INT32", [16]),
                 TensorSpec("OUTPUT1", "TYPE_INT32", [16])])
    return torch.jit.script(Simple().eval()), spec


class SimpleString(torch.nn.Module):
    """Triton's simple_string: `simple` on integers written as strings (BYTES tensors reach
    TorchScript as List[str], one string per element, row after row)."""

    def forward(self, input0: List[str],
                input1: List[str]) -> Tuple[List[str], List[str]]:
        sums: List[str] = []
        differences: List[str] = []
        for i in range(len(input0)):
            a = int(input0[i])
            b = int(input1[i])
            sums.append(str(a + b))
            differences.append(str(a - b))
        return sums, differences


def build_simple_string() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    spec = ModelSpec(
        name="simple_string", max_batch_size=8,
        inputs=[TensorSpec("INPUT0", "TYPE_STRING", [16]),
                TensorSpec("INPUT1", "TYPE_STRING", [16])],
        outputs=[TensorSpec("OUTPUT0", "TYPE_STRING", [16]),
                 TensorSpec("OUTPUT1", "TYPE_STRING", [16])])
    return torch.jit.script(SimpleString().eval()), spec


class SimpleIdentity(torch.nn.Module):
    """Triton's simple_identity for BYTES: each string back unchanged (any bytes, NULs too)."""

    def forward(self, input0: List[str]) -> List[str]:
        return [x for x in input0]


def build_simple_identity() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
    spec = ModelSpec(
        name="simple_identity", max_batch_size=8,
        inputs=[TensorSpec("INPUT0", "TYPE_STRING", [-1])],
        outputs=[TensorSpec("OUTPUT0", "TYPE_STRING", [-1])])
    return torch.jit.script(SimpleIdentity().eval()), spec
