// Named metric families with labelled series, and their Prometheus text exposition (format
// 0.0.4). Families and series are made at start-up and model load; the objects handed out are
// the lock-free primitives of metrics.h, so recording never touches the registry.
#ifndef SPEECH_SERVER_METRICS_STORE_REGISTRY_H_
#define SPEECH_SERVER_METRICS_STORE_REGISTRY_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/metrics/store/primitives.h"

namespace speech {

// Formats a sample value as Prometheus expects: shortest round-trip decimal, "NaN", "+Inf",
// "-Inf".
std::string FormatMetricValue(double value);

// Escapes a label value for the text format: backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view value);

// What every family shares. Thread-safe: series are added under mu_, which exposition also takes;
// the series themselves are lock-free.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }

  // Appends "# HELP", "# TYPE" and every series' samples; nothing when the family has no series.
  void AppendTo(std::string* out) const;

 protected:
  MetricFamily(std::string name, std::string help, std::string type,
               std::vector<std::string> label_names);

  // "{a="x",b="y"" without the closing brace (so that histograms can add "le"), or "" when there
  // are no labels.
  std::string OpenLabels(const std::vector<std::string>& label_values) const;
  // CHECKs that `label_values` has one value per label name.
  void CheckArity(const std::vector<std::string>& label_values) const;

  virtual bool Empty() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  virtual void AppendSamples(std::string* out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;

  mutable absl::Mutex mu_;

 private:
  // Constant after construction.
  const std::string name_;
  const std::string help_;
  const std::string type_;
  const std::vector<std::string> label_names_;
};

// Counters with one value per label set. The exposed value is the counter divided (integer
// division) by `divisor`, so that one nanosecond counter can be exposed in microseconds.
class CounterFamily final : public MetricFamily {
 public:
  // The series with `label_values` (one per label name, in order), made at zero on first use;
  // the pointer stays valid as long as the registry. Takes a mutex: call it at load time, never
  // per request. REQUIRES: label_values.size() equals the number of label names.
  Counter* Add(std::vector<std::string> label_values);

  // Reads a counter's value at exposition time (before the divisor).
  using Reader = std::function<uint64_t()>;
  // Adds (or replaces the reader of) a series whose value is read rather than counted: a count
  // or a sum that a histogram already holds, so that the request path adds to it once. `read`
  // runs on the exposing thread with the family's mutex held (it must not call back into the
  // registry) and must stay valid as long as the registry. REQUIRES: as Add; no counter of Add
  // has these label values.
  void AddDerived(std::vector<std::string> label_values, Reader read);

 private:
  friend class MetricRegistry;
  struct Series {
    std::vector<std::string> label_values;
    Counter counter;
    Reader read;  // set for a derived series, whose `counter` stays unused
  };
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                uint64_t divisor);
  bool Empty() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return series_.empty(); }
  void AppendSamples(std::string* out) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t divisor_;
  std::deque<Series> series_ ABSL_GUARDED_BY(mu_);  // a deque: adding never moves a counter
};

// Histograms sharing one bucket layout, one per label set.
class HistogramFamily final : public MetricFamily {
 public:
  // As CounterFamily::Add.
  Histogram* Add(std::vector<std::string> label_values);

 private:
  friend class MetricRegistry;
  struct Series {
    Series(std::vector<std::string> values, std::shared_ptr<const HistogramBuckets> buckets)
        : label_values(std::move(values)), histogram(std::move(buckets)) {}
    std::vector<std::string> label_values;
    Histogram histogram;
  };
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::shared_ptr<const HistogramBuckets> buckets);
  bool Empty() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return series_.empty(); }
  void AppendSamples(std::string* out) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<const HistogramBuckets> buckets_;
  std::deque<Series> series_ ABSL_GUARDED_BY(mu_);
};

// Gauges read at exposition time (queue depths, GPU utilisation): each series is a callback.
class GaugeFamily final : public MetricFamily {
 public:
  // Reads the current value; nullopt leaves the sample out of this exposition.
  using Reader = std::function<std::optional<double>()>;

  // Adds (or replaces) the series with `label_values`. `read` is called on the exposing thread,
  // with the family's mutex held (it must not call back into the registry), for as long as the
  // registry lives: whatever it reads must outlive every later Expose call.
  void Add(std::vector<std::string> label_values, Reader read);

 private:
  friend class MetricRegistry;
  struct Series {
    std::vector<std::string> label_values;
    Reader read;
  };
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);
  bool Empty() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return series_.empty(); }
  void AppendSamples(std::string* out) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::vector<Series> series_ ABSL_GUARDED_BY(mu_);
};

// Owns every family. Thread-safe. Families are exposed in the order they were added.
class MetricRegistry {
 public:
  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Each fails with INVALID_ARGUMENT for a name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, a label
  // name that is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with "__", or is "le" for a histogram),
  // a repeated label name or a zero divisor; ALREADY_EXISTS when the name is taken.
  absl::StatusOr<CounterFamily*> AddCounter(std::string name, std::string help,
                                            std::vector<std::string> label_names,
                                            uint64_t divisor = 1);
  absl::StatusOr<HistogramFamily*> AddHistogram(std::string name, std::string help,
                                                std::vector<std::string> label_names,
                                                std::shared_ptr<const HistogramBuckets> buckets);
  absl::StatusOr<GaugeFamily*> AddGauge(std::string name, std::string help,
                                        std::vector<std::string> label_names);

  // The text exposition of every family that has series.
  std::string Expose() const;

 private:
  absl::Status CheckNew(absl::string_view name, const std::vector<std::string>& label_names,
                        bool histogram) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_STORE_REGISTRY_H_
