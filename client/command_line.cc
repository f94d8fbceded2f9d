#include "client/command_line.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

absl::StatusOr<CommandLine> CommandLine::Parse(absl::Span<const std::string> args,
                                               const Spec& spec) {
  CommandLine parsed;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h" && Contains(spec.bool_flags, "help")) {
      parsed.flags_.emplace_back("help", "true");
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", arg, " (flags start with --)"));
    }
    arg.remove_prefix(2);
    const size_t equals = arg.find('=');
    const std::string name(arg.substr(0, equals));
    const bool has_value = equals != absl::string_view::npos;
    std::string value = has_value ? std::string(arg.substr(equals + 1)) : "";
    if (Contains(spec.value_flags, name)) {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
        }
        value = args[++i];
      }
    } else if (Contains(spec.bool_flags, name)) {
      if (!has_value) {
        value = "true";
      } else if (value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value or true/false; got \"", value, "\""));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    parsed.flags_.emplace_back(name, std::move(value));
  }
  return parsed;
}

bool CommandLine::Has(absl::string_view name) const {
  return std::any_of(flags_.begin(), flags_.end(),
                     [&](const auto& flag) { return flag.first == name; });
}

std::string CommandLine::GetString(absl::string_view name, absl::string_view default_value) const {
  for (auto it = flags_.rbegin(); it != flags_.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::string(default_value);
}

std::vector<std::string> CommandLine::GetAll(absl::string_view name) const {
  std::vector<std::string> values;
  for (const auto& flag : flags_) {
    if (flag.first == name) values.push_back(flag.second);
  }
  return values;
}

absl::StatusOr<int64_t> CommandLine::GetInt(absl::string_view name, int64_t default_value) const {
  if (!Has(name)) return default_value;
  const std::string text = GetString(name);
  int64_t value;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", name, " needs an integer; got \"", text, "\""));
  }
  return value;
}

bool CommandLine::GetBool(absl::string_view name) const {
  return Has(name) && GetString(name) != "false";
}

}  // namespace speech
