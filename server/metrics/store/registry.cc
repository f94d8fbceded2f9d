#include "server/metrics/store/registry.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "proto/check.h"

namespace speech {
namespace {

bool IsMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsLabelName(absl::string_view name) {
  return IsMetricName(name) && name.find(':') == absl::string_view::npos &&
         name.substr(0, 2) != "__";
}

std::string EscapeHelp(absl::string_view help) {
  std::string escaped;
  for (char c : help) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Shortest round-trip digits; plain decimals (as Prometheus' own clients write bucket bounds,
  // "0.0001" rather than "1e-04") unless the number is very small or very large.
  char buffer[64];
  const double magnitude = std::fabs(value);
  const bool fixed = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21);
  const std::to_chars_result result =
      fixed ? std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed)
            : std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

MetricFamily::MetricFamily(std::string name, std::string help, std::string type,
                           std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(std::move(type)),
      label_names_(std::move(label_names)) {}

void MetricFamily::AppendTo(std::string* out) const {
  absl::MutexLock lock(&mu_);
  if (Empty()) return;
  absl::StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n# TYPE ", name_, " ", type_,
                  "\n");
  AppendSamples(out);
}

std::string MetricFamily::OpenLabels(const std::vector<std::string>& label_values) const {
  if (label_names_.empty()) return "";
  std::string labels = "{";
  for (size_t i = 0; i < label_names_.size(); ++i) {
    absl::StrAppend(&labels, i == 0 ? "" : ",", label_names_[i], "=\"",
                    EscapeLabelValue(label_values[i]), "\"");
  }
  return labels;
}

void MetricFamily::CheckArity(const std::vector<std::string>& label_values) const {
  SPEECH_CHECK(label_values.size() == label_names_.size(), "metric ", name_, " has ",
               label_names_.size(), " labels; a series gave ", label_values.size(), " values");
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names, uint64_t divisor)
    : MetricFamily(std::move(name), std::move(help), "counter", std::move(label_names)),
      divisor_(divisor) {}

Counter* CounterFamily::Add(std::vector<std::string> label_values) {
  CheckArity(label_values);
  absl::MutexLock lock(&mu_);
  for (Series& series : series_) {
    if (series.label_values == label_values) {
      SPEECH_CHECK(series.read == nullptr, "metric ", name(),
                   ": a series is both derived and counted");
      return &series.counter;
    }
  }
  series_.emplace_back();
  series_.back().label_values = std::move(label_values);
  return &series_.back().counter;
}

void CounterFamily::AddDerived(std::vector<std::string> label_values, Reader read) {
  CheckArity(label_values);
  SPEECH_CHECK(read != nullptr, "metric ", name(), ": a derived series needs a reader");
  absl::MutexLock lock(&mu_);
  for (Series& series : series_) {
    if (series.label_values == label_values) {
      SPEECH_CHECK(series.read != nullptr, "metric ", name(),
                   ": a series is both counted and derived");
      series.read = std::move(read);
      return;
    }
  }
  series_.emplace_back();
  series_.back().label_values = std::move(label_values);
  series_.back().read = std::move(read);
}

void CounterFamily::AppendSamples(std::string* out) const {
  for (const Series& series : series_) {
    const std::string labels = OpenLabels(series.label_values);
    const uint64_t value = series.read != nullptr ? series.read() : series.counter.Value();
    absl::StrAppend(out, name(), labels, labels.empty() ? "" : "}", " ", value / divisor_, "\n");
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::shared_ptr<const HistogramBuckets> buckets)
    : MetricFamily(std::move(name), std::move(help), "histogram", std::move(label_names)),
      buckets_(std::move(buckets)) {}

Histogram* HistogramFamily::Add(std::vector<std::string> label_values) {
  CheckArity(label_values);
  absl::MutexLock lock(&mu_);
  for (Series& series : series_) {
    if (series.label_values == label_values) return &series.histogram;
  }
  series_.emplace_back(std::move(label_values), buckets_);
  return &series_.back().histogram;
}

void HistogramFamily::AppendSamples(std::string* out) const {
  const std::vector<int64_t>& bounds = buckets_->upper_bounds();
  const double divisor = buckets_->divisor();
  for (const Series& series : series_) {
    const HistogramSnapshot snapshot = series.histogram.Snapshot();
    const std::string labels = OpenLabels(series.label_values);
    const std::string le_prefix = labels.empty() ? "{le=\"" : absl::StrCat(labels, ",le=\"");
    const std::string closed = labels.empty() ? "" : absl::StrCat(labels, "}");
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += snapshot.bucket_counts[i];
      const std::string le =
          i < bounds.size() ? FormatMetricValue(static_cast<double>(bounds[i]) / divisor) : "+Inf";
      absl::StrAppend(out, name(), "_bucket", le_prefix, le, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(out, name(), "_sum", closed, " ",
                    FormatMetricValue(static_cast<double>(snapshot.sum) / divisor), "\n");
    absl::StrAppend(out, name(), "_count", closed, " ", snapshot.count, "\n");
  }
}

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : MetricFamily(std::move(name), std::move(help), "gauge", std::move(label_names)) {}

void GaugeFamily::Add(std::vector<std::string> label_values, Reader read) {
  CheckArity(label_values);
  absl::MutexLock lock(&mu_);
  for (Series& series : series_) {
    if (series.label_values == label_values) {
      series.read = std::move(read);
      return;
    }
  }
  series_.push_back(Series{std::move(label_values), std::move(read)});
}

void GaugeFamily::AppendSamples(std::string* out) const {
  for (const Series& series : series_) {
    const std::optional<double> value = series.read();
    if (!value.has_value()) continue;
    const std::string labels = OpenLabels(series.label_values);
    absl::StrAppend(out, name(), labels, labels.empty() ? "" : "}", " ", FormatMetricValue(*value),
                    "\n");
  }
}

absl::Status MetricRegistry::CheckNew(absl::string_view name,
                                      const std::vector<std::string>& label_names,
                                      bool histogram) const {
  if (!IsMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name '", name, "'"));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& label : label_names) {
    if (!IsLabelName(label) || (histogram && label == "le")) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric '", name, "': invalid label name '", label, "'"));
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric '", name, "': label '", label, "' repeated"));
    }
  }
  for (const auto& family : families_) {
    if (family->name() == name) {
      return absl::AlreadyExistsError(absl::StrCat("metric '", name, "' is already defined"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> MetricRegistry::AddCounter(std::string name, std::string help,
                                                          std::vector<std::string> label_names,
                                                          uint64_t divisor) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = CheckNew(name, label_names, false); !status.ok()) return status;
  if (divisor == 0) {
    return absl::InvalidArgumentError(absl::StrCat("metric '", name, "': divisor must be >= 1"));
  }
  auto* family =
      new CounterFamily(std::move(name), std::move(help), std::move(label_names), divisor);
  families_.emplace_back(family);
  return family;
}

absl::StatusOr<HistogramFamily*> MetricRegistry::AddHistogram(
    std::string name, std::string help, std::vector<std::string> label_names,
    std::shared_ptr<const HistogramBuckets> buckets) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = CheckNew(name, label_names, true); !status.ok()) return status;
  if (buckets == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("metric '", name, "': no buckets"));
  }
  auto* family = new HistogramFamily(std::move(name), std::move(help), std::move(label_names),
                                     std::move(buckets));
  families_.emplace_back(family);
  return family;
}

absl::StatusOr<GaugeFamily*> MetricRegistry::AddGauge(std::string name, std::string help,
                                                      std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = CheckNew(name, label_names, false); !status.ok()) return status;
  auto* family = new GaugeFamily(std::move(name), std::move(help), std::move(label_names));
  families_.emplace_back(family);
  return family;
}

std::string MetricRegistry::Expose() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& family : families_) family->AppendTo(&out);
  return out;
}

}  // namespace speech
