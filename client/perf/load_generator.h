// Applies load to an InferTransport and collects what completes into measurement windows:
// concurrency mode runs N clients, each a thread that sends its next request when the previous
// returns; request-rate mode sends on a schedule (constant or Poisson gaps) without waiting.
#ifndef SPEECH_CLIENT_PERF_LOAD_GENERATOR_H_
#define SPEECH_CLIENT_PERF_LOAD_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/perf/transport/infer_transport.h"
#include "client/perf/report/perf_report.h"
#include "client/perf/report/perf_stats.h"
#include "client/perf/request_schedule.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// What the profiler needs of a load: start it, cut windows, stop it. Implementations are
// thread-safe.
class LoadSource {
 public:
  virtual ~LoadSource() = default;
  // Starts sending. Called at most once.
  virtual void Start() = 0;
  // Every request that completed since Start or the previous call, over the time since then.
  virtual ClientWindow TakeWindow() = 0;
  // Stops sending and waits for requests in flight. Idempotent.
  virtual void Stop() = 0;
};

// Thread-safe. Owns its threads; borrows the transport and the requests, which must outlive it.
// Shutdown: Stop (or the destructor) stops issuing, joins the client or scheduling threads, then
// waits for asynchronous requests still in flight.
class LoadGenerator final : public LoadSource {
 public:
  struct Options {
    LoadMode mode = LoadMode::kConcurrency;
    // Concurrency mode: clients in the closed loop. Must be positive.
    int concurrency = 1;
    // Request-rate mode: how requests are spaced. Its rate must be positive.
    RequestSchedule::Options schedule;
    // Rows per request, for counting inferences. Must be positive.
    int64_t batch_size = 1;
  };

  // INVALID_ARGUMENT for bad options or no requests. Requests are sent in order, cycling.
  static absl::StatusOr<std::unique_ptr<LoadGenerator>> Create(
      Options options, InferTransport* transport,
      const std::vector<inference::ModelInferRequest>* requests);

  ~LoadGenerator() override;

  void Start() override;
  ClientWindow TakeWindow() override;
  void Stop() override;

 private:
  LoadGenerator(Options options, InferTransport* transport,
                const std::vector<inference::ModelInferRequest>* requests,
                std::unique_ptr<RequestSchedule> schedule);

  const inference::ModelInferRequest& NextRequest();
  void Record(const InferOutcome& outcome);
  void ClientLoop();
  void ScheduleLoop();

  // Constant after construction.
  const Options options_;
  InferTransport* const transport_;
  const std::vector<inference::ModelInferRequest>* const requests_;

  std::unique_ptr<RequestSchedule> schedule_;  // used by the scheduling thread only
  std::atomic<uint64_t> next_request_{0};
  absl::Notification stop_;
  std::vector<std::thread> threads_;  // touched by Start and Stop only, which callers serialise

  absl::Mutex mutex_;
  ClientWindow window_ ABSL_GUARDED_BY(mutex_);
  absl::Time window_start_ ABSL_GUARDED_BY(mutex_);
  int64_t in_flight_ ABSL_GUARDED_BY(mutex_) = 0;  // asynchronous requests not yet done
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_LOAD_GENERATOR_H_
