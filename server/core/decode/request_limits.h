// Server-wide limits on what one inference request may make the server hold, checked before
// decoding spends memory on it (the element limits) and before it is queued (the bytes limit),
// so that no single request and no pile of them can exhaust a machine's memory.
#ifndef SPEECH_SERVER_CORE_DECODE_REQUEST_LIMITS_H_
#define SPEECH_SERVER_CORE_DECODE_REQUEST_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "batcher/request.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Each limit is off when zero. The defaults keep a 2-core, 24 GiB machine alive under any single
// request and a full queue on every default model.
struct RequestLimits {
  // Elements of one input, batch rows included (--max-input-elements): 64 Mi, 256 MiB of FP32.
  int64_t max_input_elements = int64_t{1} << 26;
  // Elements of all inputs of one request (--max-request-elements).
  int64_t max_request_elements = int64_t{1} << 27;
  // Input bytes of one model version's requests accepted and not yet answered
  // (--max-queued-bytes-per-model): 1 GiB.
  int64_t max_queued_bytes_per_model = int64_t{1} << 30;
};

// INVALID_ARGUMENT, naming the input (or the request), its element count, the limit and its
// flag, when `message`'s shapes ask for more elements than `limits` allow. Reads only the shapes,
// so it runs before any tensor is decoded or copied; malformed shapes (negative dimensions) are
// left to the decoder, which names them.
absl::Status CheckElementLimits(const inference::ModelInferRequest& message,
                                const RequestLimits& limits);

// The bytes of `request`'s inputs: what it holds while queued.
int64_t InputBytes(const InferenceRequest& request);

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_DECODE_REQUEST_LIMITS_H_
