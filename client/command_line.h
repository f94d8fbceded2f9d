// A small hand-written command-line parser for speech_client: flags are `--name=value` or
// `--name value`, may repeat and may appear before or after positional arguments; `--` ends the
// flags. Kept apart from the binary so it can be tested.
#ifndef SPEECH_CLIENT_COMMAND_LINE_H_
#define SPEECH_CLIENT_COMMAND_LINE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace speech {

// The parsed arguments. Immutable after Parse, so safe to read from any thread.
class CommandLine {
 public:
  // The flags a program accepts, by name without the leading dashes.
  struct Spec {
    // Flags that take a value: `--name=value` or `--name value`.
    std::vector<std::string> value_flags;
    // Flags without a value: `--name`, or `--name=true` / `--name=false`. `-h` means `--help`
    // when "help" is listed here.
    std::vector<std::string> bool_flags;
  };

  // Parses `args` (without the program name). Returns INVALID_ARGUMENT for an unknown flag, a
  // value flag missing its value, or a bool flag given something other than true/false.
  static absl::StatusOr<CommandLine> Parse(absl::Span<const std::string> args, const Spec& spec);

  // Arguments that are not flags, in order.
  const std::vector<std::string>& positional() const { return positional_; }

  // Whether the flag was given at all.
  bool Has(absl::string_view name) const;

  // The last value given for `name`, or `default_value` when it was not given.
  std::string GetString(absl::string_view name, absl::string_view default_value = "") const;

  // Every value given for `name`, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;

  // The last value as an integer; INVALID_ARGUMENT naming the flag when it is not one.
  absl::StatusOr<int64_t> GetInt(absl::string_view name, int64_t default_value) const;

  // True when a bool flag was given (and its last value was not "false").
  bool GetBool(absl::string_view name) const;

 private:
  std::vector<std::string> positional_;
  std::vector<std::pair<std::string, std::string>> flags_;  // in order given
};

}  // namespace speech

#endif  // SPEECH_CLIENT_COMMAND_LINE_H_
