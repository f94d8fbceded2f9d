// Real speech for the tests: utterances spoken by Debian's espeak-ng and converted by sox to the
// rate a model takes. Test-only.
#ifndef SPEECH_TESTS_HARNESS_ESPEAK_H_
#define SPEECH_TESTS_HARNESS_ESPEAK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace speech {

// Speaks `text` with espeak-ng (voice `voice`, `words_per_minute`), converts it with sox to mono
// 16-bit at `sample_rate`, writes the WAV file to `path` and returns its samples in [-1, 1).
// Fails naming the command when espeak-ng or sox is missing or fails.
absl::StatusOr<std::vector<float>> Speak(const std::string& text, const std::string& path,
                                         int sample_rate = 16000,
                                         const std::string& voice = "en-us",
                                         int words_per_minute = 175);

// Fifty short English voice commands and sentences of varied length (a few words to a long
// sentence), the same on every call.
const std::vector<std::string>& TestSentences();

}  // namespace speech

#endif  // SPEECH_TESTS_HARNESS_ESPEAK_H_
