"""A repository for LibTorch, taken from wherever the build is told it lives.

The location is a build setting read from the environment at fetch time:
  --repo_env=LIBTORCH_INCLUDE=<dir holding torch/, ATen/, c10/>   (default /usr/include)
  --repo_env=LIBTORCH_LIB=<dir holding libtorch.so>               (default Debian's multiarch dir)
  --repo_env=LIBTORCH_CUDA=1                                      (also link torch_cuda, c10_cuda)
Only LibTorch's own header folders are linked in, so that a system include directory never moves
ahead of the C++ standard headers.
"""

_HEADER_DIRS = ["torch", "ATen", "c10", "caffe2"]

def _libtorch_impl(ctx):
    include = ctx.os.environ.get("LIBTORCH_INCLUDE", "/usr/include")
    lib = ctx.os.environ.get("LIBTORCH_LIB", "/usr/lib/x86_64-linux-gnu")
    cuda = ctx.os.environ.get("LIBTORCH_CUDA", "0") == "1"
    for d in _HEADER_DIRS:
        if ctx.path(include + "/" + d).exists:
            ctx.symlink(include + "/" + d, "include/" + d)
    libs = ["torch", "torch_cpu", "c10"]
    if cuda:
        libs += ["torch_cuda", "c10_cuda"]
    # --no-as-needed for LibTorch only (libtorch_cuda must load even though nothing names its
    # symbols); push/pop restores whatever the linker did before, so that libraries linked after
    # these keep --as-needed semantics as they had them.
    linkopts = ["-L" + lib, "-Wl,-rpath," + lib, "-Wl,--push-state,--no-as-needed"]
    linkopts += ["-l" + name for name in libs]
    linkopts += ["-Wl,--pop-state"]
    ctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "libtorch",
    hdrs = glob(["include/**/*.h", "include/**/*.cuh", "include/**/*.hpp"], allow_empty = True),
    includes = ["include", "include/torch/csrc/api/include"],
    defines = {defines},
    linkopts = {linkopts},
)
""".format(
        linkopts = repr(linkopts),
        defines = repr(["SPEECH_LIBTORCH_CUDA=1"] if cuda else []),
    ))

libtorch_repository = repository_rule(
    implementation = _libtorch_impl,
    environ = ["LIBTORCH_INCLUDE", "LIBTORCH_LIB", "LIBTORCH_CUDA"],
    local = True,
)
