#include "server/grpc/call_context.h"

#include <chrono>

#include "absl/time/clock.h"

namespace speech {

CallContext CallContextOf(grpc::CallbackServerContext* context) {
  CallContext call;
  const auto deadline = context->deadline();
  // gRPC reports "no deadline" as the far end of the clock's range.
  if (deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    call.deadline = absl::FromChrono(deadline);
  }
  call.is_cancelled = [context] { return context->IsCancelled(); };
  return call;
}

}  // namespace speech
