#include "server/repository/retired_models.h"

namespace speech {
namespace {

void Free(ServedModel* model) {
  if (model->batcher != nullptr) model->batcher->Shutdown();
  delete model;
}

}  // namespace

std::shared_ptr<RetiredModels> RetiredModels::Create() {
  std::shared_ptr<RetiredModels> retired(new RetiredModels());
  retired->thread_ = std::thread([raw = retired.get()] { raw->Run(); });
  return retired;
}

RetiredModels::~RetiredModels() { Stop(); }

std::shared_ptr<ServedModel> RetiredModels::Share(std::unique_ptr<ServedModel> model) {
  // The deleter keeps this object alive, so that a version released late still finds it.
  return std::shared_ptr<ServedModel>(
      model.release(),
      [self = shared_from_this()](ServedModel* released) { self->Retire(released); });
}

void RetiredModels::Retire(ServedModel* model) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      pending_.push_back(model);
      return;
    }
  }
  Free(model);
}

void RetiredModels::Run() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(
        +[](RetiredModels* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return self->stopping_ || !self->pending_.empty();
        },
        this));
    if (pending_.empty()) break;  // stopping, and nothing left
    ServedModel* model = pending_.front();
    pending_.pop_front();
    freeing_ = true;
    mu_.Unlock();
    Free(model);
    mu_.Lock();
    freeing_ = false;
    ++freed_;
  }
  stopped_ = true;
}

void RetiredModels::WaitUntilIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](RetiredModels* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->stopped_ || (self->pending_.empty() && !self->freeing_);
      },
      this));
}

void RetiredModels::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

int RetiredModels::freed() const {
  absl::MutexLock lock(&mu_);
  return freed_;
}

}  // namespace speech
