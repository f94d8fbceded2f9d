#include "server/grpc/status_util.h"

#include "absl/strings/str_cat.h"

namespace speech {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string BoundedStatusMessage(absl::string_view message) {
  if (message.size() <= kMaxStatusMessageBytes) return std::string(message);
  // Room for the note, whose count has at most 20 digits.
  constexpr size_t kKept = (kMaxStatusMessageBytes - 64) / 2;
  size_t head = kKept;
  while (head > 0 && IsContinuationByte(message[head])) --head;
  size_t tail = message.size() - kKept;
  while (tail < message.size() && IsContinuationByte(message[tail])) ++tail;
  return absl::StrCat(message.substr(0, head), " [... ", tail - head, " bytes left out ...] ",
                      message.substr(tail));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      BoundedStatusMessage(status.message()));
}

}  // namespace speech
