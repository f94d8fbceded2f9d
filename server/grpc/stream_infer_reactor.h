// ModelStreamInfer: a bidirectional stream of inference requests. Each request read is started
// at once (so a stream keeps several in flight and they batch like unary calls); responses are
// written as requests finish, in completion order, each carrying its request's id. A request that
// fails gets a response with `error_message` set and the stream stays open; so does one that does
// not parse (raw_messages.h), whose response can echo no id.
#ifndef SPEECH_SERVER_GRPC_STREAM_INFER_REACTOR_H_
#define SPEECH_SERVER_GRPC_STREAM_INFER_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/grpc_service.pb.h"
#include "server/core/in_flight_counter.h"
#include "server/core/inference_core.h"
#include "server/grpc/reactor_handoff.h"

namespace speech {

// Owns itself: created by the gRPC service for each stream, deleted by gRPC's OnDone. Thread-safe:
// completions arrive from instance threads while gRPC delivers reads and writes.
class StreamInferReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Counted in `calls` (when not null) until OnDone.
  StreamInferReactor(InferenceCore* core, grpc::CallbackServerContext* context,
                     InFlightCounter* calls = nullptr);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override {
    TakeBackFromGrpc(this);
    if (calls_ != nullptr) calls_->Leave();
    delete this;
  }

 private:
  void ReadNext();
  // Serializes `response` and writes it after those queued before.
  void QueueWrite(const inference::ModelStreamInferResponse& response);
  // Finishes the stream once the client stopped sending and every response is written.
  void MaybeFinish();

  // Constant after construction.
  InferenceCore* const core_;
  grpc::CallbackServerContext* const context_;
  InFlightCounter* const calls_;
  // Touched only by the read callback, and by the constructor before the first read starts; a
  // read is started only once the previous one is handled, so they never overlap.
  grpc::ByteBuffer reading_;

  absl::Mutex mutex_;
  bool reads_done_ ABSL_GUARDED_BY(mutex_) = false;
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  int in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  // The front is being written while `writing_`.
  std::deque<std::unique_ptr<grpc::ByteBuffer>> writes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_STREAM_INFER_REACTOR_H_
