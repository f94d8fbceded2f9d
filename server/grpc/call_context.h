// What the request core learns of a gRPC call: its deadline and whether it was cancelled.
#ifndef SPEECH_SERVER_GRPC_CALL_CONTEXT_H_
#define SPEECH_SERVER_GRPC_CALL_CONTEXT_H_

#include <grpcpp/grpcpp.h>

#include "server/core/inference_core.h"

namespace speech {

// The deadline (infinite when the client set none) and a cancellation check that reads
// `context`, which must outlive every use of the result.
CallContext CallContextOf(grpc::CallbackServerContext* context);

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_CALL_CONTEXT_H_
