#include "client/perf/inputs/json/json_tensor.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

absl::StatusOr<HostTensor> Convert(const std::string& json, const std::string& datatype,
                                   std::vector<int64_t> configured) {
  return JsonToTensor(Json::parse(json), "IN", datatype, configured);
}

std::string Message(const std::string& json, const std::string& datatype,
                    std::vector<int64_t> configured) {
  absl::StatusOr<HostTensor> tensor = Convert(json, datatype, configured);
  EXPECT_FALSE(tensor.ok()) << json;
  EXPECT_EQ(tensor.status().code(), absl::StatusCode::kInvalidArgument) << json;
  return std::string(tensor.status().message());
}

TEST(JsonToTensorTest, BareArraySizesTheVariableDimension) {
  absl::StatusOr<HostTensor> tensor = Convert("[1, 2, 147]", "INT64", {-1});
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->name, "IN");
  EXPECT_EQ(tensor->datatype, "INT64");
  EXPECT_THAT(tensor->shape, ElementsAre(3));
  EXPECT_THAT(AsVector<int64_t>(*tensor), ElementsAre(1, 2, 147));

  tensor = Convert("[[1, 2], [3, 4], [5, 6]]", "FP32", {-1, 2});  // nested arrays flatten
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(3, 2));
  EXPECT_THAT(AsVector<float>(*tensor), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(JsonToTensorTest, ContentWithShape) {
  absl::StatusOr<HostTensor> tensor =
      Convert(R"({"content": [0.5, -1, 2.25, 3, 4, 5], "shape": [2, 3]})", "FP32", {-1, 3});
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(2, 3));
  EXPECT_THAT(AsVector<float>(*tensor), ElementsAre(0.5f, -1, 2.25f, 3, 4, 5));

  tensor = Convert(R"({"content": [1, 2]})", "INT32", {-1});  // shape is optional
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(2));
}

TEST(JsonToTensorTest, Base64RawBytes) {
  // Two little-endian FP32 values, 1.0 and -2.0: 0000803f 000000c0.
  absl::StatusOr<HostTensor> tensor = Convert(R"({"b64": "AACAPwAAAMA="})", "FP32", {-1});
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(2));
  EXPECT_THAT(AsVector<float>(*tensor), ElementsAre(1.0f, -2.0f));

  tensor = Convert(R"({"b64": "AACAPwAAAMA=", "shape": [1, 2]})", "FP32", {-1, -1});
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(1, 2));

  // BYTES in Triton's layout: length 2, "hi".
  tensor = Convert(R"({"b64": "AgAAAGhp"})", "BYTES", {-1});
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(1));
  EXPECT_EQ(tensor->bytes, std::string("\x02\0\0\0hi", 6));
}

TEST(JsonToTensorTest, EveryDatatype) {
  struct Case {
    const char* datatype;
    const char* json;
    size_t bytes;
  } cases[] = {
      {"BOOL", "[true, false]", 2},
      {"INT8", "[-128, 127]", 2},
      {"INT16", "[-32768, 32767]", 4},
      {"INT32", "[-2147483648, 5]", 8},
      {"INT64", "[-9223372036854775808, 9223372036854775807]", 16},
      {"UINT8", "[0, 255]", 2},
      {"UINT16", "[65535, 1]", 4},
      {"UINT32", "[4294967295, 0]", 8},
      {"UINT64", "[18446744073709551615, 3]", 16},
      {"FP16", "[1.5, -65504]", 4},
      {"BF16", "[1.5, 2]", 4},
      {"FP32", "[1e30, 2]", 8},
      {"FP64", "[1e300, 2]", 16},
      {"INT32", "[4.0, -2.0]", 8},  // whole numbers written as floats are accepted
  };
  for (const Case& c : cases) {
    absl::StatusOr<HostTensor> tensor = Convert(c.json, c.datatype, {-1});
    ASSERT_TRUE(tensor.ok()) << c.datatype << ": " << tensor.status();
    EXPECT_EQ(tensor->bytes.size(), c.bytes) << c.datatype;
  }
  EXPECT_THAT(AsVector<uint8_t>(*Convert("[true, false]", "BOOL", {-1})), ElementsAre(1, 0));
  EXPECT_THAT(AsVector<uint64_t>(*Convert("[18446744073709551615]", "UINT64", {-1})),
              ElementsAre(18446744073709551615u));
  EXPECT_THAT(AsVector<int8_t>(*Convert("[-128, 127]", "INT8", {-1})), ElementsAre(-128, 127));
  const HostTensor half = *Convert("[1.5]", "FP16", {-1});
  EXPECT_EQ(HalfToFloat(AsVector<uint16_t>(half)[0]), 1.5f);
  const HostTensor strings = *Convert(R"(["ab", ""])", "BYTES", {-1});
  EXPECT_EQ(strings.bytes, std::string("\x02\0\0\0ab\0\0\0\0", 10));
  EXPECT_THAT(strings.shape, ElementsAre(2));
}

TEST(JsonToTensorTest, ValuesOutOfRangeOrOfTheWrongKind) {
  EXPECT_THAT(Message("[1, 300]", "INT8", {-1}),
              HasSubstr("value 1 (300) is out of range for INT8 [-128, 127]"));
  EXPECT_THAT(Message("[-1]", "UINT16", {-1}),
              HasSubstr("value 0 (-1) is out of range for UINT16"));
  EXPECT_THAT(Message("[4294967296]", "INT32", {-1}), HasSubstr("out of range for INT32"));
  EXPECT_THAT(Message("[9223372036854775808]", "INT64", {-1}), HasSubstr("out of range"));
  EXPECT_THAT(Message("[1e19]", "INT64", {-1}), HasSubstr("out of range"));
  EXPECT_THAT(Message("[0, 1.5]", "INT64", {-1}), HasSubstr("value 1 (1.5) is not a whole number"));
  EXPECT_THAT(Message("[70000]", "FP16", {-1}), HasSubstr("out of range for FP16"));
  EXPECT_THAT(Message("[1e39]", "FP32", {-1}), HasSubstr("out of range for FP32"));
  EXPECT_THAT(Message(R"([1, "2"])", "FP32", {-1}), HasSubstr("value 1 (\"2\") is not a number"));
  EXPECT_THAT(Message("[true]", "INT32", {-1}), HasSubstr("is not a number"));
  EXPECT_THAT(Message("[1]", "BOOL", {-1}), HasSubstr("value 0 (1) is not true or false"));
  EXPECT_THAT(Message("[1]", "BYTES", {-1}), HasSubstr("is not a string"));
  EXPECT_THAT(Message("[null]", "FP32", {-1}), HasSubstr("is not a number"));
}

TEST(JsonToTensorTest, CountsThatDoNotFitTheShape) {
  EXPECT_THAT(Message("[1, 2, 3]", "FP32", {2}), HasSubstr("needs 2 values; got 3"));
  EXPECT_THAT(Message("[1, 2, 3]", "FP32", {-1, -1}), HasSubstr("2 variable dimensions"));
  EXPECT_THAT(Message("[1, 2, 3]", "FP32", {2, -1}), HasSubstr("not a multiple of 2"));
  EXPECT_THAT(Message(R"({"content": [1, 2, 3], "shape": [2, 2]})", "FP32", {-1, -1}),
              HasSubstr("has 3 values; shape [2, 2] needs 4"));
  EXPECT_THAT(Message(R"({"content": [1, 2], "shape": [2]})", "FP32", {3}),
              HasSubstr("shape [2] does not fit the model's shape [3]"));
  EXPECT_THAT(Message(R"({"content": [1], "shape": [1, 1]})", "FP32", {-1}),
              HasSubstr("does not fit"));
  EXPECT_THAT(Message(R"({"content": [1], "shape": [-1]})", "FP32", {-1}),
              HasSubstr("\"shape\" must be an array of whole numbers >= 0"));
  EXPECT_THAT(Message(R"({"content": [1], "shape": 1})", "FP32", {-1}),
              HasSubstr("\"shape\" must be an array"));
}

TEST(JsonToTensorTest, MalformedObjectsAndBase64) {
  EXPECT_THAT(Message(R"({"b64": "not base64!!"})", "FP32", {-1}),
              HasSubstr("\"b64\" is not a base64 string"));
  EXPECT_THAT(Message(R"({"b64": 5})", "FP32", {-1}), HasSubstr("not a base64 string"));
  EXPECT_THAT(Message(R"({"b64": "AAAA"})", "FP32", {-1}),
              HasSubstr("decodes to 3 bytes, not a whole number of 4-byte FP32 elements"));
  EXPECT_THAT(Message(R"({"b64": "AAAA"})", "BYTES", {-1}), HasSubstr("not BYTES elements"));
  EXPECT_THAT(Message(R"({"shape": [1]})", "FP32", {-1}),
              HasSubstr("neither \"content\" nor \"b64\""));
  EXPECT_THAT(Message(R"({"content": [1], "b64": "AACAPw=="})", "FP32", {-1}), HasSubstr("both"));
  EXPECT_THAT(Message(R"({"content": 1})", "FP32", {-1}),
              HasSubstr("\"content\" must be an array"));
  EXPECT_THAT(Message(R"({"content": [1], "dims": [1]})", "FP32", {-1}),
              HasSubstr("unknown member \"dims\""));
  EXPECT_THAT(Message("7", "FP32", {-1}), HasSubstr("expected an array of values or an object"));
  EXPECT_THAT(Message("[1]", "FP99", {-1}), HasSubstr("unknown datatype \"FP99\""));
}

}  // namespace
}  // namespace speech
