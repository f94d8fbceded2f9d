// The KServe v2 messages of the request core (metadata, configuration, statistics, repository
// index) as Triton's HTTP server writes them in JSON: protobuf's JSON mapping with the .proto
// field names, every primitive field printed (defaults too), enums by name, and 64-bit integers
// as JSON numbers rather than the strings protobuf writes, which Triton's clients cannot read.
#ifndef SPEECH_SERVER_HTTP_JSON_MESSAGE_JSON_H_
#define SPEECH_SERVER_HTTP_JSON_MESSAGE_JSON_H_

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace speech {

// `message` as JSON, fields in .proto order. INTERNAL when protobuf cannot print it.
absl::StatusOr<nlohmann::ordered_json> MessageToJson(const google::protobuf::Message& message);

// Sets every unset singular message field of `message` and of the messages it holds (repeated
// and map values too, oneof members excepted), so that MessageToJson prints {"count": 0, "ns": 0}
// where protobuf would print nothing: Triton's statistics always carry every duration, and its
// clients read them unchecked. Stops 8 levels down (for message types that contain themselves).
void SetAllMessageFields(google::protobuf::Message* message);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_JSON_MESSAGE_JSON_H_
