// Whether this binary was built under a sanitizer (--config=asan or --config=tsan; .bazelrc), for
// the tests whose bounds are about the plain build: memory, which the sanitizer's allocator then
// serves, and reaction times, which instrumentation stretches.
#ifndef SPEECH_TESTS_HARNESS_SANITIZER_H_
#define SPEECH_TESTS_HARNESS_SANITIZER_H_

namespace speech {

#if defined(__SANITIZE_ADDRESS__) || defined(SPEECH_THREAD_SANITIZER)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif

}  // namespace speech

#endif  // SPEECH_TESTS_HARNESS_SANITIZER_H_
