// The threading environment of LibTorch's CPU kernels, which OpenMP and OpenBLAS read once,
// when the process loads them: before main() runs, so a process that wants other settings must
// start again.
#ifndef SPEECH_MODELS_TORCH_PROCESS_OPENMP_ENVIRONMENT_H_
#define SPEECH_MODELS_TORCH_PROCESS_OPENMP_ENVIRONMENT_H_

namespace speech {

// Two defaults oversubscribe a server's cores, and on shared cores a thread that spins takes
// the core that the thread it waits for needs (BENCHMARKS.md, "Execution settings"):
// - OpenMP's wait policy lets an idle intra-op thread spin after each parallel region: on 2
//   busy cores a 2-thread run of the tiny models took 7 to 100 times as long as a 1-thread run.
//   OMP_WAIT_POLICY=PASSIVE makes idle threads sleep at once.
// - OpenBLAS (Debian's pthread build) runs its own pool of one thread per core under every
//   instance's matrix products, on top of the intra-op threads: with 2 FastPitch instances and
//   16 clients the server did 60 inferences/s, 345/s with OPENBLAS_NUM_THREADS=1. Intra-op
//   parallelism is the instances' OpenMP threads alone.
//
// When either variable is unset, sets it (PASSIVE, 1) and replaces the process with a fresh
// copy of itself (same pid, same arguments, /proc/self/exe). Returns when both were already
// set (by the user, or by the first start), or when the exec fails (the server then runs with
// the libraries' defaults and says so on stderr). Call first thing in main(), before any thread.
void RestartWithServerThreadingEnvironment(char** argv);

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_PROCESS_OPENMP_ENVIRONMENT_H_
