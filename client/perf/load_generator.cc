#include "client/perf/load_generator.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace speech {

absl::StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(
    Options options, InferTransport* transport,
    const std::vector<inference::ModelInferRequest>* requests) {
  if (transport == nullptr) return absl::InvalidArgumentError("transport must not be null");
  if (requests == nullptr || requests->empty()) {
    return absl::InvalidArgumentError("there must be at least one request to send");
  }
  if (options.batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be positive; was ", options.batch_size));
  }
  std::unique_ptr<RequestSchedule> schedule;
  if (options.mode == LoadMode::kConcurrency) {
    if (options.concurrency <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("concurrency must be positive; was ", options.concurrency));
    }
  } else {
    absl::StatusOr<std::unique_ptr<RequestSchedule>> created =
        RequestSchedule::Create(options.schedule);
    if (!created.ok()) return created.status();
    schedule = *std::move(created);
  }
  return std::unique_ptr<LoadGenerator>(
      new LoadGenerator(options, transport, requests, std::move(schedule)));
}

LoadGenerator::LoadGenerator(Options options, InferTransport* transport,
                             const std::vector<inference::ModelInferRequest>* requests,
                             std::unique_ptr<RequestSchedule> schedule)
    : options_(options),
      transport_(transport),
      requests_(requests),
      schedule_(std::move(schedule)) {
  window_.batch_size = options_.batch_size;
}

LoadGenerator::~LoadGenerator() { Stop(); }

void LoadGenerator::Start() {
  {
    absl::MutexLock lock(&mutex_);
    window_start_ = absl::Now();
  }
  if (options_.mode == LoadMode::kConcurrency) {
    for (int i = 0; i < options_.concurrency; ++i) threads_.emplace_back([this] { ClientLoop(); });
  } else {
    threads_.emplace_back([this] { ScheduleLoop(); });
  }
}

ClientWindow LoadGenerator::TakeWindow() {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  ClientWindow taken = std::move(window_);
  taken.duration = now - window_start_;
  window_ = ClientWindow();
  window_.batch_size = options_.batch_size;
  window_start_ = now;
  return taken;
}

void LoadGenerator::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  stop_.Notify();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](int64_t* in_flight) { return *in_flight == 0; }, &in_flight_));
}

const inference::ModelInferRequest& LoadGenerator::NextRequest() {
  const uint64_t index = next_request_.fetch_add(1, std::memory_order_relaxed);
  return (*requests_)[index % requests_->size()];
}

void LoadGenerator::Record(const InferOutcome& outcome) {
  absl::MutexLock lock(&mutex_);
  if (outcome.status.ok()) {
    window_.latencies.push_back(outcome.latency);
    window_.total_send += outcome.send;
    window_.total_recv += outcome.recv;
  } else {
    ++window_.error_count;
    if (window_.first_error.empty()) window_.first_error = outcome.status.ToString();
  }
}

void LoadGenerator::ClientLoop() {
  while (!stop_.HasBeenNotified()) Record(transport_->Infer(NextRequest()));
}

void LoadGenerator::ScheduleLoop() {
  absl::Time next = absl::Now();
  while (true) {
    next += schedule_->NextGap();
    // Sleeps until the request is due; a late scheduler sends at once and catches up.
    if (stop_.WaitForNotificationWithDeadline(next)) return;
    {
      absl::MutexLock lock(&mutex_);
      ++in_flight_;
    }
    transport_->AsyncInfer(NextRequest(), [this](const InferOutcome& outcome) {
      Record(outcome);
      absl::MutexLock lock(&mutex_);
      --in_flight_;
    });
  }
}

}  // namespace speech
