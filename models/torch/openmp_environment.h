// OpenMP's environment for LibTorch's intra-op threads, which OpenMP reads once, when the
// process loads it: before main() runs, so a process that wants other settings must start again.
#ifndef SPEECH_MODELS_TORCH_OPENMP_ENVIRONMENT_H_
#define SPEECH_MODELS_TORCH_OPENMP_ENVIRONMENT_H_

namespace speech {

// OpenMP's default wait policy lets an idle intra-op thread spin for a while after each
// parallel region. On a server whose cores are shared (with its own network threads, with other
// instances, with other pods) a spinning thread takes the core that the thread it waits for
// needs: on 2 busy cores a 2-thread run of the tiny models took 7 to 100 times as long as a
// 1-thread run (BENCHMARKS.md, "Execution settings"). With OMP_WAIT_POLICY=PASSIVE idle threads
// sleep at once.
//
// When OMP_WAIT_POLICY is unset, sets it to PASSIVE and replaces the process with a fresh copy
// of itself (same pid, same arguments, /proc/self/exe). Returns when the variable was already
// set (by the user, or by the first start), or when the exec fails (the server then runs with
// OpenMP's defaults and says so on stderr). Call first thing in main(), before any thread.
void RestartWithPassiveOpenMpWaitPolicy(char** argv);

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_OPENMP_ENVIRONMENT_H_
