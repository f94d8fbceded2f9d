#!/usr/bin/python3
"""Mutation audit: each deliberate breakage below, applied alone, must make its named test fail.

A breakage that every test still passes is a hole in the tests. Run from the repository root:

    /usr/bin/python3 tests/mutations/audit.py            # every mutation (about 15 minutes)
    /usr/bin/python3 tests/mutations/audit.py codec      # those whose name contains "codec"

For each mutation it replaces one exact piece of code (which must occur exactly once), runs
`bazel test` on the test meant to catch it, and restores the file whatever happens. A mutation is
CAUGHT when the build succeeds and the test fails (bazel exit code 3); a build failure proves
nothing and is reported as such. Exits non-zero unless every mutation selected is caught.
"""

import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Mutation:
    name: str
    path: str
    original: str
    broken: str
    test: str


MUTATIONS = [
    # The codec (server/core/decode/tensor_codec.cc).
    Mutation("codec: batch size differing between inputs accepted",
             "server/core/decode/tensor_codec.cc",
             "if (batch_rows >= 0 && *rows != batch_rows) {", "if (false) {",
             "//server/core/decode:tensor_codec_test"),
    Mutation("codec: raw bytes longer than the shape accepted",
             "server/core/decode/tensor_codec.cc",
             "if (bytes.size() != expected_bytes) {", "if (bytes.size() < expected_bytes) {",
             "//server/core/decode:tensor_codec_contents_test"),
    Mutation("codec: an input given twice accepted",
             "server/core/decode/tensor_codec.cc",
             "if (index_of_spec[found] >= 0) {", "if (false) {",
             "//server/core/decode:tensor_codec_test"),
    Mutation("codec: the timeout request parameter ignored",
             "server/core/decode/tensor_codec.cc",
             "return DecodeTimeout(message, request);", "return absl::OkStatus();",
             "//server/core/decode:tensor_codec_test"),
    # Configuration reaching the batcher (server/repository/batcher_options.cc).
    Mutation("config: preserve_ordering not mapped",
             "server/repository/config/batcher_options.cc",
             "options.preserve_ordering = batching.preserve_ordering();",
             "options.preserve_ordering = false;",
             "//server/repository/config:batcher_options_test"),
    Mutation("config: timeout_action forced to REJECT",
             "server/repository/config/batcher_options.cc",
             "policy.timeout_action() == inference::ModelQueuePolicy::DELAY",
             "false",
             "//server/repository/config:batcher_options_test"),
    Mutation("config: max_queue_size forced to 0",
             "server/repository/config/batcher_options.cc",
             "options.max_queue_size = policy.max_queue_size();",
             "options.max_queue_size = 0;",
             "//server/repository/config:batcher_options_test"),
    Mutation("config: allow_timeout_override ignored",
             "server/repository/config/batcher_options.cc",
             "options.allow_timeout_override = policy.allow_timeout_override();",
             "options.allow_timeout_override = false;",
             "//server/repository/config:batcher_options_test"),
    Mutation("config: execute_inline_when_idle ignored",
             "server/repository/config/batcher_options.cc",
             "options.run_inline_when_idle = inline_parameter != config.parameters().end() &&",
             "options.run_inline_when_idle = false && inline_parameter != config.parameters().end() &&",
             "//server/repository/config:batcher_options_test"),
    # The batcher's inline path (batcher/dynamic_batcher.cc).
    Mutation("batcher: inline path allowed together with preserve_ordering",
             "batcher/dynamic_batcher.cc",
             "batcher->options_.run_inline_when_idle && !batcher->options_.preserve_ordering;",
             "batcher->options_.run_inline_when_idle;",
             "//batcher:dynamic_batcher_test"),
    Mutation("batcher: inline path not asking why a request must be dropped",
             "batcher/dynamic_batcher.cc",
             "const bool droppable = !DropReason(*request, TimeoutAt(*request), now).ok();",
             "const bool droppable = false;",
             "//batcher:dynamic_batcher_test"),
    Mutation("batcher: the fake clock's jumps not waking the scheduler",
             "batcher/dynamic_batcher.cc",
             "SPEECH_CHECK(events->queue.enqueue(std::move(wake)), \"out of memory waking the scheduler\");",
             "(void)wake;",
             "//batcher:dynamic_batcher_test"),
    # The gRPC call reaching the batcher (server/grpc/call_context.cc).
    Mutation("grpc: the cancellation callback always false",
             "server/grpc/call_context.cc",
             "call.is_cancelled = [context] { return context->IsCancelled(); };",
             "call.is_cancelled = [] { return false; };",
             "//server/grpc:inference_service_test"),
    Mutation("grpc: the client's deadline dropped",
             "server/grpc/call_context.cc",
             "call.deadline = absl::FromChrono(deadline);",
             "(void)deadline;",
             "//server/grpc:inference_service_test"),
    # The instance (models/torch/torch_instance.cc).
    Mutation("instance: the output data-type check removed",
             "models/torch/torch_instance.cc",
             "if (tensor.scalar_type() != *ToScalarType(spec.data_type())) {",
             "if (false) {",
             "//models/torch:torch_instance_module_errors_test"),
    # The dashboard (deploy/grafana/speech-server.json).
    Mutation("dashboard: a misspelt metric name",
             "deploy/grafana/speech-server.json",
             "rate(nv_inference_exec_count{",
             "rate(nv_inference_execution_count{",
             "//tests/e2e:prometheus_test"),
]


def run(mutation: Mutation) -> str:
    with open(mutation.path) as f:
        source = f.read()
    if source.count(mutation.original) != 1:
        return f"STALE (the code to break occurs {source.count(mutation.original)} times)"
    try:
        with open(mutation.path, "w") as f:
            f.write(source.replace(mutation.original, mutation.broken))
        result = subprocess.run(
            ["bazel", "test", "--noshow_progress", "--test_output=summary", mutation.test],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        with open(mutation.path, "w") as f:
            f.write(source)
    return {0: "MISSED (every test passed)", 3: "caught", 1: "BUILD FAILED (proves nothing)"}.get(
        result.returncode, f"bazel exit code {result.returncode}")


def main() -> int:
    selected = [m for m in MUTATIONS if len(sys.argv) < 2 or sys.argv[1] in m.name]
    caught = 0
    for i, mutation in enumerate(selected, 1):
        print(f"[{i}/{len(selected)}] {mutation.name} ({mutation.test}) ...", end=" ", flush=True)
        outcome = run(mutation)
        caught += outcome == "caught"
        print(outcome, flush=True)
    print(f"{caught} of {len(selected)} mutations caught")
    return 0 if caught == len(selected) else 1


if __name__ == "__main__":
    sys.exit(main())
