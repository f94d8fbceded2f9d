#include "server/grpc/stream_infer_reactor.h"

#include <string>
#include <utility>

#include "server/grpc/call_context.h"

namespace speech {

StreamInferReactor::StreamInferReactor(InferenceCore* core, grpc::CallbackServerContext* context,
                                       InFlightCounter* calls)
    : core_(core), context_(context), calls_(calls) {
  if (calls_ != nullptr) calls_->Enter();
  ReadNext();
}

void StreamInferReactor::ReadNext() {
  reading_ = std::make_unique<inference::ModelInferRequest>();
  StartRead(reading_.get());
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
  std::shared_ptr<inference::ModelInferRequest> message = std::move(reading_);
  auto response = std::make_shared<inference::ModelStreamInferResponse>();
  {
    absl::MutexLock lock(&mutex_);
    ++in_flight_;
  }
  // Started before the next read, so that a stream's requests reach the batcher in the order they
  // were sent (the next read's callback may run on another thread as soon as it is started).
  core_->StartInference(
      message.get(), CallContextOf(context_), response->mutable_infer_response(),
      [this, message, response](absl::Status status) {
        if (!status.ok()) {
          response->set_error_message(std::string(status.message()));
          inference::ModelInferResponse* echo = response->mutable_infer_response();
          echo->Clear();
          echo->set_model_name(message->model_name());
          echo->set_model_version(message->model_version());
          echo->set_id(message->id());
        }
        QueueWrite(std::make_unique<inference::ModelStreamInferResponse>(std::move(*response)));
      });
  ReadNext();
}

void StreamInferReactor::QueueWrite(std::unique_ptr<inference::ModelStreamInferResponse> response) {
  inference::ModelStreamInferResponse* start = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    --in_flight_;
    writes_.push_back(std::move(response));
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
  inference::ModelStreamInferResponse* next = nullptr;
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
  Finish(grpc::Status::OK);
}

}  // namespace speech
