// JSON tensor data to raw bytes and back for every datatype: flat and nested arrays, range and
// type checks, counts against the shape, BYTES layout and UTF-8, malformed raw outputs.
#include "server/http/json/tensor_json.h"

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/element_values.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using ::testing::AllOf;
using ::testing::HasSubstr;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string BytesRaw(const std::vector<std::string>& elements) {
  std::string raw;
  for (const std::string& element : elements) {
    const uint32_t length = static_cast<uint32_t>(element.size());
    raw.append(reinterpret_cast<const char*>(&length), sizeof(length));
    raw.append(element);
  }
  return raw;
}

std::string ToRaw(const char* json, DataType type, std::vector<int64_t> shape) {
  absl::StatusOr<std::string> raw = JsonToRawTensor(Json::parse(json), type, shape, "IN");
  EXPECT_TRUE(raw.ok()) << raw.status();
  return raw.ok() ? *raw : "";
}

std::string ToRawError(const char* json, DataType type, std::vector<int64_t> shape) {
  absl::StatusOr<std::string> raw = JsonToRawTensor(Json::parse(json), type, shape, "IN");
  EXPECT_FALSE(raw.ok());
  if (raw.ok()) return "";
  EXPECT_EQ(raw.status().code(), absl::StatusCode::kInvalidArgument) << raw.status();
  return std::string(raw.status().message());
}

Json ToJson(const std::string& raw, DataType type, int64_t count) {
  absl::StatusOr<Json> json = RawTensorToJson(raw, type, count, "OUT");
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : Json();
}

TEST(JsonToRawTensorTest, EveryFixedSizeDatatype) {
  EXPECT_EQ(ToRaw("[true, false, true]", inference::TYPE_BOOL, {3}), std::string("\1\0\1", 3));
  EXPECT_EQ(ToRaw("[0, 255]", inference::TYPE_UINT8, {2}), Raw<uint8_t>({0, 255}));
  EXPECT_EQ(ToRaw("[0, 65535]", inference::TYPE_UINT16, {2}), Raw<uint16_t>({0, 65535}));
  EXPECT_EQ(ToRaw("[4294967295]", inference::TYPE_UINT32, {1}), Raw<uint32_t>({4294967295u}));
  EXPECT_EQ(ToRaw("[18446744073709551615]", inference::TYPE_UINT64, {1}),
            Raw<uint64_t>({std::numeric_limits<uint64_t>::max()}));
  EXPECT_EQ(ToRaw("[-128, 127]", inference::TYPE_INT8, {2}), Raw<int8_t>({-128, 127}));
  EXPECT_EQ(ToRaw("[-32768, 32767]", inference::TYPE_INT16, {2}), Raw<int16_t>({-32768, 32767}));
  EXPECT_EQ(ToRaw("[-2147483648, 2147483647]", inference::TYPE_INT32, {2}),
            Raw<int32_t>({std::numeric_limits<int32_t>::min(), 2147483647}));
  EXPECT_EQ(
      ToRaw("[-9223372036854775808, 9223372036854775807]", inference::TYPE_INT64, {2}),
      Raw<int64_t>({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}));
  EXPECT_EQ(ToRaw("[1.5, -2, 3]", inference::TYPE_FP32, {3}), Raw<float>({1.5f, -2.0f, 3.0f}));
  EXPECT_EQ(ToRaw("[0.1, 1e300]", inference::TYPE_FP64, {2}), Raw<double>({0.1, 1e300}));
  EXPECT_EQ(ToRaw("[1.5, -65504]", inference::TYPE_FP16, {2}),
            Raw<uint16_t>({FloatToHalf(1.5f), FloatToHalf(-65504.0f)}));
  EXPECT_EQ(ToRaw("[1.5, 3]", inference::TYPE_BF16, {2}),
            Raw<uint16_t>({FloatToBf16(1.5f), FloatToBf16(3.0f)}));
}

TEST(JsonToRawTensorTest, BytesAreLengthPrefixed) {
  EXPECT_EQ(ToRaw(R"(["ab", "", "héllo"])", inference::TYPE_STRING, {3}),
            BytesRaw({"ab", "", "h\xc3\xa9llo"}));
}

TEST(JsonToRawTensorTest, NestedAndFlatArraysGiveTheSameBytes) {
  const std::string flat = ToRaw("[1, 2, 3, 4, 5, 6]", inference::TYPE_INT32, {2, 3});
  EXPECT_EQ(flat, Raw<int32_t>({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ToRaw("[[1, 2, 3], [4, 5, 6]]", inference::TYPE_INT32, {2, 3}), flat);
  // Nesting is not checked against the shape (as in Triton); only the count and the order.
  EXPECT_EQ(ToRaw("[[1], [2, [3, 4]], [], 5, [[6]]]", inference::TYPE_INT32, {2, 3}), flat);
  EXPECT_EQ(ToRaw("[[\"a\"], [\"b\"]]", inference::TYPE_STRING, {2, 1}), BytesRaw({"a", "b"}));
}

TEST(JsonToRawTensorTest, EmptyTensors) {
  EXPECT_EQ(ToRaw("[]", inference::TYPE_FP32, {0}), "");
  EXPECT_EQ(ToRaw("[[], []]", inference::TYPE_INT64, {2, 0}), "");
  EXPECT_EQ(ToRaw("[]", inference::TYPE_STRING, {1, 0}), "");
}

TEST(JsonToRawTensorTest, DeepNestingIsNoCrash) {
  std::string deep(100000, '[');
  deep += "1";
  deep += std::string(100000, ']');
  EXPECT_EQ(ToRaw(deep.c_str(), inference::TYPE_INT32, {1}), Raw<int32_t>({1}));
}

TEST(JsonToRawTensorTest, CountMustMatchTheShape) {
  EXPECT_THAT(ToRawError("[1, 2, 3]", inference::TYPE_INT32, {1, 16}),
              HasSubstr("input 'IN': 'data' holds 3 values; shape [1, 16] needs 16"));
  EXPECT_THAT(ToRawError("[[1, 2], [3, 4], [5]]", inference::TYPE_FP32, {2, 2}),
              HasSubstr("'data' holds 5 values; shape [2, 2] needs 4"));
  EXPECT_THAT(ToRawError(R"(["a"])", inference::TYPE_STRING, {2}),
              HasSubstr("'data' holds 1 values; shape [2] needs 2"));
  // A huge shape with little data is refused before any memory is sized by it.
  EXPECT_THAT(ToRawError("[1]", inference::TYPE_FP64, {1000000000, 1000000000}),
              HasSubstr("needs 1000000000000000000"));
  EXPECT_THAT(ToRawError("[1]", inference::TYPE_FP64, {-1}),
              HasSubstr("shape [-1] has a negative dimension or overflows"));
}

TEST(JsonToRawTensorTest, ValuesMustFitTheDatatype) {
  EXPECT_THAT(ToRawError(R"([1, "2"])", inference::TYPE_INT32, {2}),
              AllOf(HasSubstr("input 'IN': element 1 of 'data' is a string (\"2\")"),
                    HasSubstr("INT32 takes integers in [-2147483648, 2147483647]")));
  EXPECT_THAT(ToRawError("[1.5]", inference::TYPE_INT64, {1}),
              HasSubstr("element 0 of 'data' is a number (1.5); INT64 takes integers"));
  EXPECT_THAT(ToRawError("[256]", inference::TYPE_UINT8, {1}),
              HasSubstr("is an integer (256); UINT8 takes integers in [0, 255]"));
  EXPECT_THAT(ToRawError("[-1]", inference::TYPE_UINT32, {1}),
              HasSubstr("is an integer (-1); UINT32 takes integers in [0, 4294967295]"));
  EXPECT_THAT(ToRawError("[-129]", inference::TYPE_INT8, {1}), HasSubstr("[-128, 127]"));
  EXPECT_THAT(ToRawError("[40000]", inference::TYPE_INT16, {1}), HasSubstr("[-32768, 32767]"));
  EXPECT_THAT(ToRawError("[9223372036854775808]", inference::TYPE_INT64, {1}),
              HasSubstr("element 0 of 'data' is an integer (9223372036854775808)"));
  EXPECT_THAT(ToRawError("[1, 0]", inference::TYPE_BOOL, {2}),
              HasSubstr("element 0 of 'data' is an integer (1); BOOL takes true or false"));
  EXPECT_THAT(ToRawError("[true]", inference::TYPE_FP32, {1}),
              HasSubstr("is a boolean (true); FP32 takes numbers"));
  EXPECT_THAT(ToRawError("[1e39]", inference::TYPE_FP32, {1}), HasSubstr("FP32 takes numbers"));
  EXPECT_THAT(ToRawError("[70000]", inference::TYPE_FP16, {1}),
              HasSubstr("FP16 takes numbers within +-65504"));
  EXPECT_THAT(ToRawError("[null]", inference::TYPE_FP64, {1}), HasSubstr("is null"));
  EXPECT_THAT(ToRawError(R"([{"a": 1}])", inference::TYPE_INT32, {1}), HasSubstr("is an object"));
  EXPECT_THAT(ToRawError("[1]", inference::TYPE_STRING, {1}),
              HasSubstr("element 0 of 'data' is an integer (1); BYTES takes strings"));
  EXPECT_THAT(ToRawError(R"(["a", ["b", 3]])", inference::TYPE_STRING, {3}),
              HasSubstr("element 2 of 'data' is an integer (3)"));
}

TEST(JsonToRawTensorTest, DataMustBeAnArrayOfAKnownDatatype) {
  EXPECT_THAT(ToRawError("5", inference::TYPE_INT32, {1}),
              HasSubstr("input 'IN': 'data' must be an array; got an integer (5)"));
  EXPECT_THAT(ToRawError(R"({"x": 1})", inference::TYPE_INT32, {1}),
              HasSubstr("must be an array; got an object"));
  EXPECT_THAT(ToRawError("[1]", inference::TYPE_INVALID, {1}), HasSubstr("is not known"));
}

TEST(JsonToRawTensorTest, LongValuesAreCutInMessages) {
  const std::string long_string = "[\"" + std::string(100, 'x') + "\"]";
  const std::string message = ToRawError(long_string.c_str(), inference::TYPE_INT32, {1});
  EXPECT_THAT(message, HasSubstr("...)"));
  EXPECT_LT(message.size(), 150u);
}

TEST(RawTensorToJsonTest, EveryFixedSizeDatatype) {
  EXPECT_EQ(ToJson(std::string("\1\0\7", 3), inference::TYPE_BOOL, 3),
            Json::parse("[true, false, true]"));
  EXPECT_EQ(ToJson(Raw<uint8_t>({0, 255}), inference::TYPE_UINT8, 2), Json::parse("[0, 255]"));
  EXPECT_EQ(ToJson(Raw<uint16_t>({65535}), inference::TYPE_UINT16, 1), Json::parse("[65535]"));
  EXPECT_EQ(ToJson(Raw<uint32_t>({4294967295u}), inference::TYPE_UINT32, 1),
            Json::parse("[4294967295]"));
  EXPECT_EQ(
      ToJson(Raw<uint64_t>({std::numeric_limits<uint64_t>::max()}), inference::TYPE_UINT64, 1),
      Json::parse("[18446744073709551615]"));
  EXPECT_EQ(ToJson(Raw<int8_t>({-128, 5}), inference::TYPE_INT8, 2), Json::parse("[-128, 5]"));
  EXPECT_EQ(ToJson(Raw<int16_t>({-300}), inference::TYPE_INT16, 1), Json::parse("[-300]"));
  EXPECT_EQ(ToJson(Raw<int32_t>({-7, 123456}), inference::TYPE_INT32, 2),
            Json::parse("[-7, 123456]"));
  EXPECT_EQ(ToJson(Raw<int64_t>({std::numeric_limits<int64_t>::min()}), inference::TYPE_INT64, 1),
            Json::parse("[-9223372036854775808]"));
  EXPECT_EQ(ToJson(Raw<float>({1.5f, -0.25f}), inference::TYPE_FP32, 2),
            Json::parse("[1.5, -0.25]"));
  EXPECT_EQ(ToJson(Raw<double>({0.1}), inference::TYPE_FP64, 1), Json::parse("[0.1]"));
  EXPECT_EQ(ToJson(Raw<uint16_t>({FloatToHalf(1.5f)}), inference::TYPE_FP16, 1),
            Json::parse("[1.5]"));
  EXPECT_EQ(ToJson(Raw<uint16_t>({FloatToBf16(-3.0f)}), inference::TYPE_BF16, 1),
            Json::parse("[-3.0]"));
  // FP32 prints as the double it is, as Triton's does.
  EXPECT_EQ(ToJson(Raw<float>({0.1f}), inference::TYPE_FP32, 1).dump(), "[0.10000000149011612]");
  EXPECT_EQ(
      ToJson(Raw<float>({std::numeric_limits<float>::quiet_NaN()}), inference::TYPE_FP32, 1).dump(),
      "[null]");
}

TEST(RawTensorToJsonTest, BytesBecomeStrings) {
  EXPECT_EQ(ToJson(BytesRaw({"ab", "", "h\xc3\xa9"}), inference::TYPE_STRING, 3),
            Json::parse(R"(["ab", "", "hé"])"));
  EXPECT_EQ(ToJson("", inference::TYPE_STRING, 0), Json::array());
}

TEST(RawTensorToJsonTest, InvalidUtf8MustTravelInBinary) {
  for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
                                 std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80")}) {
    absl::StatusOr<Json> json =
        RawTensorToJson(BytesRaw({"ok", bad}), inference::TYPE_STRING, 2, "OUT");
    ASSERT_FALSE(json.ok());
    EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(json.status().message(),
                AllOf(HasSubstr("output 'OUT': BYTES element 1 is not valid UTF-8"),
                      HasSubstr("\"binary_data\": true")));
  }
  // Four-byte forms are fine.
  EXPECT_EQ(ToJson(BytesRaw({"\xf0\x9f\x98\x80"}), inference::TYPE_STRING, 1).size(), 1u);
}

TEST(RawTensorToJsonTest, MalformedOutputsAreInternalErrors) {
  auto code = [](const std::string& raw, DataType type, int64_t count) {
    return RawTensorToJson(raw, type, count, "OUT").status();
  };
  EXPECT_EQ(code(Raw<float>({1, 2}), inference::TYPE_FP32, 3).code(), absl::StatusCode::kInternal);
  EXPECT_THAT(code(Raw<float>({1, 2}), inference::TYPE_FP32, 3).message(),
              HasSubstr("output 'OUT': has 8 bytes; 3 elements of FP32 need 12"));
  EXPECT_EQ(code("ab", inference::TYPE_STRING, 1).code(), absl::StatusCode::kInternal);
  EXPECT_THAT(code(BytesRaw({"abc"}).substr(0, 5), inference::TYPE_STRING, 1).message(),
              HasSubstr("claims 3 bytes; 1 remain"));
  EXPECT_THAT(code(BytesRaw({"a", "b"}), inference::TYPE_STRING, 1).message(),
              HasSubstr("5 bytes follow its 1 BYTES elements"));
  EXPECT_EQ(code("", inference::TYPE_INVALID, 0).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(code("", inference::TYPE_FP32, -1).code(), absl::StatusCode::kInternal);
}

TEST(TensorJsonTest, EveryDatatypeRoundTrips) {
  const char* kData = "[0, 1, 2, 3, 4, 5]";
  for (DataType type : {inference::TYPE_UINT8, inference::TYPE_UINT16, inference::TYPE_UINT32,
                        inference::TYPE_UINT64, inference::TYPE_INT8, inference::TYPE_INT16,
                        inference::TYPE_INT32, inference::TYPE_INT64, inference::TYPE_FP16,
                        inference::TYPE_BF16, inference::TYPE_FP32, inference::TYPE_FP64}) {
    const std::string raw = ToRaw(kData, type, {2, 3});
    EXPECT_EQ(raw.size(), 6 * DataTypeByteSize(type)) << DataTypeWireName(type);
    EXPECT_EQ(ToJson(raw, type, 6), Json::parse(kData)) << DataTypeWireName(type);
  }
}

TEST(DescribeJsonTest, NamesKindAndValue) {
  EXPECT_EQ(DescribeJson(Json::parse("\"x\"")), "a string (\"x\")");
  EXPECT_EQ(DescribeJson(Json::parse("[1]")), "an array ([1])");
  EXPECT_EQ(DescribeJson(Json()), "null");
}

}  // namespace
}  // namespace speech
