#include "models/synthetic_request.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "proto/bytes_elements.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

template <typename T>
void Store(std::string* bytes, int64_t index, T value) {
  std::memcpy(bytes->data() + index * sizeof(T), &value, sizeof(T));
}

// Writes `value` as element `index` of `type`. FP16 and BF16 take the nearest of a few exact
// values (the synthetic data need not be precise, only valid).
void StoreAs(DataType type, std::string* bytes, int64_t index, double value) {
  switch (type) {
    case inference::TYPE_BOOL:
      Store<uint8_t>(bytes, index, value != 0);
      break;
    case inference::TYPE_UINT8:
      Store<uint8_t>(bytes, index, static_cast<uint8_t>(value));
      break;
    case inference::TYPE_INT8:
      Store<int8_t>(bytes, index, static_cast<int8_t>(value));
      break;
    case inference::TYPE_INT16:
      Store<int16_t>(bytes, index, static_cast<int16_t>(value));
      break;
    case inference::TYPE_INT32:
      Store<int32_t>(bytes, index, static_cast<int32_t>(value));
      break;
    case inference::TYPE_INT64:
      Store<int64_t>(bytes, index, static_cast<int64_t>(value));
      break;
    case inference::TYPE_FP32:
      Store<float>(bytes, index, static_cast<float>(value));
      break;
    case inference::TYPE_FP64:
      Store<double>(bytes, index, value);
      break;
    case inference::TYPE_FP16:  // 0.25 steps: -0.5, -0.25, 0, 0.25, 0.5, and 1
      Store<uint16_t>(bytes, index,
                      value >= 0.75    ? 0x3c00
                      : value >= 0.375 ? 0x3800
                      : value >= 0.125 ? 0x3400
                      : value > -0.125 ? 0x0000
                      : value > -0.375 ? 0xb400
                                       : 0xb800);
      break;
    case inference::TYPE_BF16: {
      float f = static_cast<float>(value);
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      Store<uint16_t>(bytes, index, static_cast<uint16_t>(bits >> 16));
      break;
    }
    default:
      break;
  }
}

bool IsFloat(DataType type) {
  return type == inference::TYPE_FP16 || type == inference::TYPE_BF16 ||
         type == inference::TYPE_FP32 || type == inference::TYPE_FP64;
}

}  // namespace

std::unique_ptr<InferenceRequest> SyntheticRequest(const inference::ModelConfig& config,
                                                   int64_t rows, int64_t length, uint32_t seed) {
  auto request = std::make_unique<InferenceRequest>();
  const bool batching = config.max_batch_size() > 0;
  request->batch_rows = batching ? rows : 1;
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(-0.5, 0.5);
  for (const inference::ModelInput& spec : config.input()) {
    InputTensor tensor;
    tensor.name = spec.name();
    tensor.type = spec.data_type();
    if (batching) tensor.shape.push_back(rows);
    for (int64_t dim : spec.dims()) tensor.shape.push_back(dim < 0 ? length : dim);
    const int64_t count = ElementCount(tensor.shape);
    std::string& bytes =
        request->owned_data.emplace_back(count * DataTypeByteSize(spec.data_type()), '\0');
    if (spec.data_type() == inference::TYPE_STRING) {  // "1": text, and a number too
      bytes.clear();
      for (int64_t i = 0; i < count; ++i) AppendBytesElement("1", &bytes);
      tensor.data = bytes.data();
      tensor.byte_size = bytes.size();
      request->inputs.push_back(std::move(tensor));
      continue;
    }
    const inference::InputConstraints& rule = spec.constraints();
    double value = 1;
    if (!rule.lengths_of().empty()) value = static_cast<double>(length);
    if (rule.has_min_value()) value = std::max(value, rule.min_value());
    if (rule.has_max_value()) value = std::min(value, rule.max_value());
    const bool random = IsFloat(spec.data_type()) && rule.lengths_of().empty();
    for (int64_t i = 0; i < count; ++i) {
      StoreAs(spec.data_type(), &bytes, i, random ? uniform(generator) : value);
    }
    tensor.data = bytes.data();
    tensor.byte_size = bytes.size();
    request->inputs.push_back(std::move(tensor));
  }
  return request;
}

}  // namespace speech
