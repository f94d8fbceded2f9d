// The resident memory of a process, read from Linux's /proc, for the end-to-end tests that bound
// the server's memory. Test-only.
#ifndef SPEECH_TESTS_E2E_RELIABILITY_RESIDENT_MEMORY_H_
#define SPEECH_TESTS_E2E_RELIABILITY_RESIDENT_MEMORY_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace speech {

// The resident set size (VmRSS of /proc/<pid>/status) of process `pid`, in bytes. NOT_FOUND when
// the process is gone (or is a zombie, which has no VmRSS), INTERNAL when the line does not parse.
// Thread-safe.
absl::StatusOr<int64_t> ResidentBytes(pid_t pid);

}  // namespace speech

#endif  // SPEECH_TESTS_E2E_RELIABILITY_RESIDENT_MEMORY_H_
