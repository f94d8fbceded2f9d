#include "server/grpc/stream_infer_reactor.h"

#include <string>
#include <utility>

#include "proto/check.h"
#include "server/grpc/call_context.h"
#include "server/grpc/raw_messages.h"
#include "server/grpc/status_util.h"

namespace speech {

StreamInferReactor::StreamInferReactor(InferenceCore* core, grpc::CallbackServerContext* context,
                                       InFlightCounter* calls)
    : core_(core), context_(context), calls_(calls) {
  if (calls_ != nullptr) calls_->Enter();
  ReadNext();
}

void StreamInferReactor::ReadNext() {
  reading_.Clear();
  StartRead(&reading_);
}

void StreamInferReactor::OnReadDone(bool ok) {
  if (!ok) {
    {
      absl::MutexLock lock(&mutex_);
      reads_done_ = true;
    }
    MaybeFinish();
    return;
  }
  // The request's inputs borrow the message's bytes: both live until the response is queued.
  auto message = std::make_shared<inference::ModelInferRequest>();
  const absl::Status parsed = ParseInferRequest(reading_, message.get());
  auto response = std::make_shared<inference::ModelStreamInferResponse>();
  {
    absl::MutexLock lock(&mutex_);
    ++in_flight_;
  }
  if (!parsed.ok()) {
    response->set_error_message(BoundedStatusMessage(parsed.message()));
    QueueWrite(*response);
    ReadNext();
    return;
  }
  // Started before the next read, so that a stream's requests reach the batcher in the order they
  // were sent (the next read's callback may run on another thread as soon as it is started).
  core_->StartInference(message.get(), CallContextOf(context_), response->mutable_infer_response(),
                        [this, message, response](absl::Status status) {
                          if (!status.ok()) {
                            response->set_error_message(BoundedStatusMessage(status.message()));
                            inference::ModelInferResponse* echo =
                                response->mutable_infer_response();
                            echo->Clear();
                            echo->set_model_name(message->model_name());
                            echo->set_model_version(message->model_version());
                            echo->set_id(message->id());
                          }
                          QueueWrite(*response);
                        });
  ReadNext();
}

void StreamInferReactor::QueueWrite(const inference::ModelStreamInferResponse& response) {
  auto raw = std::make_unique<grpc::ByteBuffer>();
  if (absl::Status serialized = SerializeReply(response, raw.get()); !serialized.ok()) {
    // Still one response per request: the error in place of the reply.
    inference::ModelStreamInferResponse error;
    error.set_error_message(BoundedStatusMessage(serialized.message()));
    *error.mutable_infer_response()->mutable_id() = response.infer_response().id();
    raw = std::make_unique<grpc::ByteBuffer>();
    const absl::Status fallback = SerializeReply(error, raw.get());
    SPEECH_CHECK(fallback.ok(), "a short error response does not serialize: ", fallback.message());
  }
  grpc::ByteBuffer* start = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    --in_flight_;
    writes_.push_back(std::move(raw));
    if (!writing_) {
      writing_ = true;
      start = writes_.front().get();
    }
  }
  if (start != nullptr) StartWrite(start);
}

void StreamInferReactor::OnWriteDone(bool /*ok*/) {
  // A failed write means the client is gone; the remaining responses are written (and fail) in
  // turn so that every request still in flight is accounted for before the stream finishes.
  grpc::ByteBuffer* next = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    writes_.pop_front();
    if (writes_.empty()) {
      writing_ = false;
    } else {
      next = writes_.front().get();
    }
  }
  if (next != nullptr) {
    StartWrite(next);
  } else {
    MaybeFinish();
  }
}

void StreamInferReactor::MaybeFinish() {
  {
    absl::MutexLock lock(&mutex_);
    if (!reads_done_ || in_flight_ > 0 || writing_ || finished_) return;
    finished_ = true;
  }
  HandOffAndFinish(this, grpc::Status::OK);
}

}  // namespace speech
