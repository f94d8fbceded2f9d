#include "server/repository/repository_poller.h"

#include "absl/strings/str_cat.h"

namespace speech {

absl::StatusOr<std::unique_ptr<RepositoryPoller>> RepositoryPoller::Create(
    ModelRepository* repository, Options options) {
  if (options.period <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the repository poll period must be positive; was ", absl::FormatDuration(options.period)));
  }
  if (repository == nullptr) return absl::InvalidArgumentError("repository must be set");
  auto poller = std::unique_ptr<RepositoryPoller>(new RepositoryPoller(repository, options));
  poller->thread_ = std::thread([raw = poller.get()] { raw->Run(); });
  return poller;
}

RepositoryPoller::RepositoryPoller(ModelRepository* repository, Options options)
    : repository_(repository), options_(options) {}

RepositoryPoller::~RepositoryPoller() { Stop(); }

void RepositoryPoller::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Real time on purpose: the period is an operator's setting, not part of batching.
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.period);
      if (stopping_) return;
    }
    repository_->Poll();
    absl::MutexLock lock(&mu_);
    ++polls_;
  }
}

void RepositoryPoller::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int RepositoryPoller::polls() const {
  absl::MutexLock lock(&mu_);
  return polls_;
}

}  // namespace speech
