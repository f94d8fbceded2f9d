#include "models/torch/tensors/string_tensors.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/bytes_elements.h"
#include "proto/check.h"

namespace speech {

c10::List<std::string> GatherStrings(absl::Span<InferenceRequest* const> batch, int index) {
  c10::List<std::string> strings;
  for (const InferenceRequest* request : batch) {
    const InputTensor& input = request->inputs[index];
    absl::StatusOr<std::vector<absl::string_view>> elements =
        SplitBytesElements(absl::string_view(input.data, input.byte_size), input.name);
    SPEECH_CHECK(elements.ok(),
                 "a BYTES input reached the model unvalidated: ", elements.status().message());
    for (absl::string_view element : *elements) strings.push_back(std::string(element));
  }
  return strings;
}

absl::Status ScatterStrings(const c10::IValue& value, const inference::ModelOutput& spec,
                            bool batching, int64_t total_rows,
                            absl::Span<InferenceRequest* const> batch) {
  const std::string what = absl::StrCat("output '", spec.name(), "'");
  if (!value.isList()) {
    return absl::InternalError(
        absl::StrCat(what, " is a ", value.tagKind(), "; expected a list of strings"));
  }
  const c10::List<c10::IValue> list = value.toList();
  const int64_t count = static_cast<int64_t>(list.size());
  const int64_t rows = batching ? total_rows : 1;
  if (rows == 0 || count % rows != 0) {
    return absl::InternalError(
        absl::StrCat(what, " holds ", count, " strings, which do not divide into ", rows, " rows"));
  }
  const int64_t per_row = count / rows;
  int64_t next = 0;
  for (InferenceRequest* request : batch) {
    OutputTensor output;
    output.name = spec.name();
    output.type = inference::TYPE_STRING;
    const int64_t own_rows = batching ? request->batch_rows : 1;
    if (batching) output.shape.push_back(own_rows);
    output.shape.push_back(per_row);
    for (int64_t i = 0; i < own_rows * per_row; ++i, ++next) {
      const c10::IValue element = list.get(next);
      if (!element.isString()) {
        return absl::InternalError(absl::StrCat(what, " element ", next, " is a ",
                                                element.tagKind(), "; expected a string"));
      }
      AppendBytesElement(element.toStringRef(), &output.data);
    }
    request->outputs.push_back(std::move(output));
  }
  return absl::OkStatus();
}

}  // namespace speech
