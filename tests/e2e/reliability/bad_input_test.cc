// A matrix of malformed and hostile requests over real gRPC against the real server binary: each
// gets the right status code and a message naming the field, the expected and the received
// value; each refusal that reaches a model is counted once as that model's failure; a correct
// request right after it succeeds. The same refusals are then sent between good requests on one
// ModelStreamInfer stream, which answers each in turn and stays open. Three servers: the default
// repository with the default limits, and a small repository with tight limits and with none.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/shared_memory/shared_memory_test_support.h"
#include "tests/harness/server_fixture.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using Request = inference::ModelInferRequest;

// One row of the matrix.
struct BadRequest {
  std::string name;  // the test's name
  std::function<Request()> build;
  absl::StatusCode code;
  std::vector<std::string> message_parts;  // each must appear in the status message
  // Whether a refusal counts as a failure of the request's model: false when it is refused
  // before a model is found (an unknown model or version, a request that does not parse or that
  // gRPC itself refuses).
  bool reaches_model = true;
};

std::string Int32Bytes(int count) {
  std::string bytes(4 * count, '\0');
  for (int32_t i = 0; i < count; ++i) std::memcpy(bytes.data() + 4 * i, &i, 4);
  return bytes;
}

// A valid request for `simple`: INPUT0 = INPUT1 = 0..15, shape [1, 16].
Request SimpleRequest() {
  std::vector<HostTensor> inputs;
  for (const char* name : {"INPUT0", "INPUT1"}) {
    inputs.push_back(HostTensor{name, "INT32", {1, 16}, Int32Bytes(16)});
  }
  return MakeInferRequest("simple", "", inputs, {});
}

// `simple` with `rows` batch rows of both inputs.
Request SimpleRows(int rows) {
  Request request = SimpleRequest();
  for (int i = 0; i < 2; ++i) {
    request.mutable_inputs(i)->set_shape(0, rows);
    request.set_raw_input_contents(i, Int32Bytes(16 * rows));
  }
  return request;
}

// SimpleRequest() changed by `edit`.
std::function<Request()> Simple(std::function<void(Request*)> edit) {
  return [edit] {
    Request request = SimpleRequest();
    edit(&request);
    return request;
  };
}

// One input of `model` with `shape` and `raw` bytes (which need not match the shape).
std::function<Request()> OneInput(std::string model, std::string name, std::string datatype,
                                  std::vector<int64_t> shape, std::string raw) {
  return [=] { return MakeInferRequest(model, "", {HostTensor{name, datatype, shape, raw}}, {}); };
}

std::function<Request()> Identity(std::vector<int64_t> shape, std::string raw) {
  return OneInput("identity", "INPUT0", "FP32", std::move(shape), std::move(raw));
}

std::function<Request()> Strings(std::vector<int64_t> shape, std::string raw) {
  return OneInput("simple_identity", "INPUT0", "BYTES", std::move(shape), std::move(raw));
}

// A BYTES element as Triton lays it out raw: a 4-byte little-endian length, then the bytes.
std::string BytesElement(const std::string& value, uint32_t declared_length) {
  std::string element(4, '\0');
  std::memcpy(element.data(), &declared_length, 4);
  return element + value;
}

std::string BytesElement(const std::string& value) {
  return BytesElement(value, static_cast<uint32_t>(value.size()));
}

std::function<Request()> FastPitch(std::vector<int64_t> ids) {
  std::string bytes(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int64_t));
  return OneInput("fastpitch", "INPUT__0", "INT64", {1, static_cast<int64_t>(ids.size())}, bytes);
}

std::function<Request()> Wav2Vec2(int64_t samples, float value = 0.1f) {
  const std::vector<float> audio(samples, value);
  std::string bytes(reinterpret_cast<const char*>(audio.data()), audio.size() * sizeof(float));
  return OneInput("wav2vec2", "AUDIO", "FP32", {1, samples}, bytes);
}

constexpr int64_t kTwoTo40 = int64_t{1} << 40;
constexpr int64_t kTwoTo62 = int64_t{1} << 62;

// The region the shared-memory cases name; registered by the suite.
constexpr char kRegion[] = "bad_input_region";
constexpr size_t kRegionBytes = 64;

void UseRegion(Request* request, int input, const std::string& region, int64_t byte_size,
               int64_t offset = 0) {
  SetSharedMemoryRegion(request->mutable_inputs(input)->mutable_parameters(), region, byte_size,
                        offset);
  request->mutable_raw_input_contents()->DeleteSubrange(input, 1);
}

// Failure counts of every model the server serves, summed over versions.
std::map<std::string, uint64_t> FailureCounts(const InferenceClient& client) {
  std::map<std::string, uint64_t> counts;
  auto stats = client.ModelStatistics();
  EXPECT_TRUE(stats.ok()) << stats.status();
  if (!stats.ok()) return counts;
  for (const inference::ModelStatistics& model : stats->model_stats()) {
    counts[model.name()] += model.inference_stats().fail().count();
  }
  return counts;
}

// Failure counts after `bads` were refused, from the counts before.
std::map<std::string, uint64_t> AfterRefusals(std::map<std::string, uint64_t> counts,
                                              const std::vector<BadRequest>& bads) {
  for (const BadRequest& bad : bads) {
    if (bad.code != absl::StatusCode::kOk && bad.reaches_model) ++counts[bad.build().model_name()];
  }
  return counts;
}

// The id a stream response to `request` carries: its own, or none when the server could not
// parse it (which the client's protobuf logs, and sends anyway).
std::string EchoedId(const Request& request) {
  Request parsed;
  return parsed.ParseFromString(request.SerializeAsString()) ? request.id() : "";
}

void ExpectMessage(const std::string& message, const BadRequest& bad) {
  for (const std::string& part : bad.message_parts) {
    EXPECT_THAT(message, HasSubstr(part)) << bad.name;
  }
}

// A fixture whose server answers each row of a matrix.
class MatrixTest : public RealServerTest {
 protected:
  // Sends `bad` and checks its code, its message and the failure counts; then a good request
  // must succeed.
  static void ExpectAnswered(const BadRequest& bad) {
    SCOPED_TRACE(bad.name);
    const std::map<std::string, uint64_t> before = FailureCounts(*client_);
    const absl::Status status = client_->Infer(bad.build()).status();
    EXPECT_EQ(status.code(), bad.code) << status;
    ExpectMessage(std::string(status.message()), bad);
    EXPECT_EQ(FailureCounts(*client_), AfterRefusals(before, {bad}));
    ExpectServed(client_->Infer(SimpleRequest()));
  }

  static void ExpectServed(const absl::StatusOr<inference::ModelInferResponse>& response) {
    ASSERT_TRUE(response.ok()) << response.status();
    auto outputs = OutputsFromResponse(*response);
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    EXPECT_EQ(AsVector<int32_t>((*outputs)[0])[3], 2 * 3);
  }
};

// ---- The default repository, default limits ----

std::vector<BadRequest> DefaultServerCases() {
  using absl::StatusCode;
  constexpr StatusCode kOk = StatusCode::kOk;
  constexpr StatusCode kInvalid = StatusCode::kInvalidArgument;
  constexpr StatusCode kNotFound = StatusCode::kNotFound;
  const std::string kSimpleInputs = "model 'simple' expects [INPUT0, INPUT1]";
  return {
      // The model and its version.
      {"EmptyRequest",
       [] { return Request(); },
       kNotFound,
       {"Request for unknown model: '' is not in the repository"},
       false},
      {"UnknownModel",
       Simple([](Request* r) { r->set_model_name("nope"); }),
       kNotFound,
       {"Request for unknown model: 'nope' is not in the repository"},
       false},
      {"ModelNameThatIsAPath",
       Simple([](Request* r) { r->set_model_name("../repository/simple"); }),
       kNotFound,
       {"unknown model: '../repository/simple'"},
       false},
      {"UnknownVersion",
       Simple([](Request* r) { r->set_model_version("7"); }),
       kNotFound,
       {"model 'simple' has no version '7'; loaded versions: [1]"},
       false},
      // KServe v2 versions are strings: one that is no number is a version that does not exist.
      {"VersionThatIsNotANumber",
       Simple([](Request* r) { r->set_model_version("latest"); }),
       kNotFound,
       {"has no version 'latest'; loaded versions: [1]"},
       false},
      // Inputs by name.
      {"KnownModelWithoutInputs",
       [] { return MakeInferRequest("simple", "", {}, {}); },
       kInvalid,
       {"model 'simple': input 'INPUT0' is missing", kSimpleInputs}},
      {"WrongInputName",
       Simple([](Request* r) { r->mutable_inputs(1)->set_name("WRONG"); }),
       kInvalid,
       {"unexpected input 'WRONG'", kSimpleInputs}},
      {"EmptyInputName",
       Simple([](Request* r) { r->mutable_inputs(0)->set_name(""); }),
       kInvalid,
       {"unexpected input ''", kSimpleInputs}},
      {"MissingInput",
       Simple([](Request* r) {
         r->mutable_inputs()->RemoveLast();
         r->mutable_raw_input_contents()->RemoveLast();
       }),
       kInvalid,
       {"input 'INPUT1' is missing", kSimpleInputs}},
      {"InputGivenTwice",
       Simple([](Request* r) {
         *r->add_inputs() = r->inputs(0);
         r->add_raw_input_contents(r->raw_input_contents(0));
       }),
       kInvalid,
       {"input 'INPUT0' is given twice"}},
      // Datatypes.
      {"WrongDatatype",
       Simple([](Request* r) { r->mutable_inputs(0)->set_datatype("FP32"); }),
       kInvalid,
       {"input 'INPUT0': datatype 'FP32' does not match INT32"}},
      {"EmptyDatatype",
       Simple([](Request* r) { r->mutable_inputs(0)->set_datatype(""); }),
       kInvalid,
       {"input 'INPUT0': datatype '' does not match INT32"}},
      {"UnknownDatatype",
       Simple([](Request* r) { r->mutable_inputs(1)->set_datatype("FP128"); }),
       kInvalid,
       {"input 'INPUT1': datatype 'FP128' does not match INT32"}},
      // Shapes.
      {"ShapeDoesNotMatchConfiguration",
       Simple([](Request* r) {
         r->mutable_inputs(0)->set_shape(1, 17);
         r->set_raw_input_contents(0, Int32Bytes(17));
       }),
       kInvalid,
       {"input 'INPUT0': shape [1, 17] does not match [-1, 16]"}},
      {"ShapeWithTooManyDimensions",
       Simple([](Request* r) { r->mutable_inputs(0)->add_shape(1); }),
       kInvalid,
       {"input 'INPUT0': shape [1, 16, 1] does not match [-1, 16] (batch dimension"}},
      {"ShapeWithoutTheBatchDimension",
       Simple([](Request* r) {
         r->mutable_inputs(1)->mutable_shape()->erase(
             r->mutable_inputs(1)->mutable_shape()->begin());
       }),
       kInvalid,
       {"input 'INPUT1': shape [16] does not match [-1, 16]"}},
      {"EmptyShape",
       Simple([](Request* r) { r->mutable_inputs(0)->clear_shape(); }),
       kInvalid,
       {"input 'INPUT0': shape [] does not match [-1, 16]"}},
      {"NegativeDimension",
       Simple([](Request* r) { r->mutable_inputs(0)->set_shape(0, -3); }),
       kInvalid,
       {"input 'INPUT0': shape [-3, 16] has a negative dimension -3"}},
      {"ZeroBatchSize",
       Simple([](Request* r) {
         for (int i = 0; i < 2; ++i) r->mutable_inputs(i)->set_shape(0, 0);
         for (int i = 0; i < 2; ++i) r->set_raw_input_contents(i, "");
       }),
       kInvalid,
       {"input 'INPUT0': batch size 0 is outside [1, max_batch_size = 8]"}},
      {"BatchLargerThanMaxBatchSize",
       [] { return SimpleRows(9); },
       kInvalid,
       {"input 'INPUT0': batch size 9 is outside [1, max_batch_size = 8]"}},
      {"BatchSizesDifferBetweenInputs",
       Simple([](Request* r) {
         r->mutable_inputs(1)->set_shape(0, 2);
         r->set_raw_input_contents(1, Int32Bytes(32));
       }),
       kInvalid,
       {"input 'INPUT1': batch size 2 differs from the other inputs' 1"}},
      // Rows of length zero, with no contents at all: a valid empty tensor for a model without
      // length constraints.
      {"ZeroLengthRowsAreServed",
       [] {
         Request request = Identity({4, 0}, "")();
         request.clear_raw_input_contents();
         return request;
       },
       kOk,
       {}},
      // Both refused from the shapes alone, before any byte is decoded or allocated.
      {"HugeDimensionWithSmallRawContents",
       Identity({1, kTwoTo40}, std::string(16, '\0')),
       kInvalid,
       {"model 'identity': input 'INPUT0' has 1099511627776 elements; the limit is 67108864 per "
        "input (--max-input-elements)"}},
      {"OverflowingDimensions",
       Identity({1, kTwoTo62}, ""),
       kInvalid,
       {"input 'INPUT0' has 4611686018427387904 elements", "(--max-input-elements)"}},
      // Raw and typed contents.
      {"RawByteLengthDoesNotMatchShape",
       Simple([](Request* r) { r->mutable_raw_input_contents(1)->resize(60); }),
       kInvalid,
       {"input 'INPUT1': raw_input_contents has 60 bytes; shape [1, 16] of INT32 needs 64"}},
      {"MoreRawContentsThanInputs",
       Simple([](Request* r) { r->add_raw_input_contents("x"); }),
       kInvalid,
       {"raw_input_contents: has 3 entries; expected one per input not in shared memory, 2"}},
      {"FewerRawContentsThanInputs",
       Simple([](Request* r) { r->mutable_raw_input_contents()->RemoveLast(); }),
       kInvalid,
       {"raw_input_contents: has 1 entries; expected one per input not in shared memory, 2"}},
      {"BothRawAndTypedContents",
       Simple([](Request* r) {
         for (int i = 0; i < 16; ++i) r->mutable_inputs(0)->mutable_contents()->add_int_contents(i);
       }),
       kInvalid,
       {"input 'INPUT0': has both raw_input_contents and typed contents; send one"}},
      {"TypedContentsWithTheWrongCount",
       Simple([](Request* r) {
         r->clear_raw_input_contents();
         for (int i = 0; i < 2; ++i) {
           for (int v = 0; v < 15; ++v) {
             r->mutable_inputs(i)->mutable_contents()->add_int_contents(v);
           }
         }
       }),
       kInvalid,
       {"input 'INPUT0': int_contents hold 15 values; shape [1, 16] needs 16"}},
      {"TypedContentsInTheWrongField",
       Simple([](Request* r) {
         r->clear_raw_input_contents();
         for (int i = 0; i < 2; ++i) {
           for (int v = 0; v < 16; ++v) {
             r->mutable_inputs(i)->mutable_contents()->add_fp32_contents(v);
           }
         }
       }),
       kInvalid,
       {"input 'INPUT0': int_contents hold 0 values; shape [1, 16] needs 16"}},
      // BYTES elements.
      {"BytesLengthPrefixCutShort",
       Strings({1, 2}, BytesElement("left") + std::string(2, '\0')),
       kInvalid,
       {"input 'INPUT0': element 1 has a length prefix cut short (2 of 4 bytes)"}},
      {"BytesElementLongerThanTheData",
       Strings({1, 1}, BytesElement("abc", 100)),
       kInvalid,
       {"input 'INPUT0': element 0 declares 100 bytes but only 3 remain"}},
      {"BytesElementCountDoesNotMatchShape",
       Strings({1, 3}, BytesElement("turn") + BytesElement("left")),
       kInvalid,
       {"input 'INPUT0': raw_input_contents holds 2 BYTES elements; shape [1, 3] needs 3"}},
      // Requested outputs.
      {"UnknownRequestedOutput",
       Simple([](Request* r) { r->add_outputs()->set_name("OUTPUT9"); }),
       kInvalid,
       {"unknown output 'OUTPUT9' requested; model 'simple' has outputs [OUTPUT0, OUTPUT1]"}},
      {"EmptyRequestedOutputName",
       Simple([](Request* r) { r->add_outputs(); }),
       kInvalid,
       {"unknown output '' requested"}},
      {"OutputRequestedTwice",
       Simple([](Request* r) {
         r->add_outputs()->set_name("OUTPUT0");
         r->add_outputs()->set_name("OUTPUT1");
         r->add_outputs()->set_name("OUTPUT0");
       }),
       kInvalid,
       {"model 'simple': output 'OUTPUT0' is requested twice"}},
      // As over REST: a plain tensor in place of the classes asked for would be misread.
      {"ClassificationOfAnOutput",
       Simple([](Request* r) {
         auto* output = r->add_outputs();
         output->set_name("OUTPUT1");
         (*output->mutable_parameters())["classification"].set_int64_param(3);
       }),
       StatusCode::kUnimplemented,
       {"model 'simple': output 'OUTPUT1': the classification extension is not supported"}},
      // Parameters.
      {"TimeoutOfTheWrongType",
       Simple([](Request* r) { (*r->mutable_parameters())["timeout"].set_string_param("1s"); }),
       kInvalid,
       {"parameter 'timeout': expected a non-negative int64 number of microseconds; got a "
        "string"}},
      {"NegativeTimeout",
       Simple([](Request* r) { (*r->mutable_parameters())["timeout"].set_int64_param(-5); }),
       kInvalid,
       {"parameter 'timeout': expected a non-negative int64", "got -5"}},
      // As Triton: parameters the server does not know travel with the request, unread.
      {"UnknownParameterIsIgnored",
       Simple([](Request* r) { (*r->mutable_parameters())["colour"].set_string_param("blue"); }),
       kOk,
       {}},
      // binary_data_size belongs to REST's binary extension; over gRPC the raw bytes decide.
      {"BinaryDataSizeIsIgnoredOverGrpc",
       Simple([](Request* r) {
         (*r->mutable_inputs(0)->mutable_parameters())["binary_data_size"].set_int64_param(7);
       }),
       kOk,
       {}},
      // System shared memory.
      {"SharedMemoryRegionNotRegistered",
       Simple([](Request* r) { UseRegion(r, 0, "nowhere", 64); }),
       kNotFound,
       {"input 'INPUT0': shared-memory region 'nowhere' is not registered"}},
      {"SharedMemoryBeyondTheRegion",
       Simple([](Request* r) { UseRegion(r, 1, kRegion, 64, 32); }),
       kInvalid,
       {"input 'INPUT1': shared_memory_offset 32 + shared_memory_byte_size 64 exceeds the 64 "
        "bytes of region 'bad_input_region'"}},
      {"SharedMemoryRegionSmallerThanTheShape",
       Simple([](Request* r) { UseRegion(r, 0, kRegion, 32); }),
       kInvalid,
       {"input 'INPUT0': its shared-memory region has 32 bytes; shape [1, 16] of INT32 needs 64"}},
      {"SharedMemoryNegativeByteSize",
       Simple([](Request* r) { UseRegion(r, 0, kRegion, -1); }),
       kInvalid,
       {"input 'INPUT0': parameter 'shared_memory_byte_size' must be a non-negative integer; was "
        "-1"}},
      {"SharedMemoryByteSizeWithoutRegion",
       Simple([](Request* r) {
         (*r->mutable_inputs(0)->mutable_parameters())["shared_memory_byte_size"].set_int64_param(
             64);
       }),
       kInvalid,
       {"input 'INPUT0': parameter 'shared_memory_byte_size' needs 'shared_memory_region' too"}},
      {"SharedMemoryInputAlsoInRawContents",
       Simple([](Request* r) {
         SetSharedMemoryRegion(r->mutable_inputs(0)->mutable_parameters(), kRegion, 64);
       }),
       kInvalid,
       {"raw_input_contents: has 2 entries; expected one per input not in shared memory, 1"}},
      // Names and shapes a client made huge: the message keeps its start and its end and stays
      // small enough for the client to read (gRPC drops a status past its metadata limit).
      {"HugeModelName",
       Simple([](Request* r) { r->set_model_name(std::string(100000, 'm')); }),
       kNotFound,
       {"Request for unknown model: 'mmm", " bytes left out ...] ",
        "mmm' is not in the repository"},
       false},
      {"HugeInputName",
       Simple([](Request* r) { r->mutable_inputs(0)->set_name(std::string(100000, 'n')); }),
       kInvalid,
       {"model 'simple': unexpected input 'nnn", " bytes left out ...] ", kSimpleInputs}},
      {"ShapeWithAHundredThousandDimensions",
       Simple([](Request* r) {
         for (int i = 0; i < 100000; ++i) r->mutable_inputs(0)->add_shape(1);
       }),
       kInvalid,
       {"model 'simple': input 'INPUT0': shape [1, 16, 1, 1", " bytes left out ...] ",
        "1, 1] does not match [-1, 16] (batch dimension first)"}},
      {"InputNameWithANulByte",
       Simple([](Request* r) { r->mutable_inputs(0)->set_name(std::string("IN\0PUT0", 7)); }),
       kInvalid,
       {std::string("unexpected input 'IN\0PUT0'", 26), kSimpleInputs}},
      // proto3 string fields must be UTF-8: the request does not parse (the client's protobuf
      // logs an error but sends it). Nothing of it can be read, so no model counts it.
      {"InputNameThatIsNotUtf8",
       Simple([](Request* r) { r->mutable_inputs(0)->set_name("IN\xffPUT0"); }),
       kInvalid,
       {"is not a valid inference.ModelInferRequest", "is not valid UTF-8"},
       false},
      // Refused only once computed, when the reply does not fit the output's region.
      {"SharedMemoryOutputRegionTooSmall",
       Simple([](Request* r) {
         SetSharedMemoryRegion(r->add_outputs()->mutable_parameters(), kRegion, 32);
         r->mutable_outputs(0)->set_name("OUTPUT0");
       }),
       kInvalid,
       {"model 'simple': output 'OUTPUT0': 64 bytes (shape [1, 16]) do not fit the 32 bytes of "
        "shared_memory_byte_size in region 'bad_input_region'"}},
      // An id of any length is echoed.
      {"MegabyteIdIsServed",
       Simple([](Request* r) { r->set_id(std::string(1 << 20, 'i')); }),
       kOk,
       {}},
      // The speech models' configured input constraints, checked before the request is queued.
      {"FastPitchWithoutSymbols",
       FastPitch({}),
       kInvalid,
       {"model 'fastpitch'", "input 'INPUT__0'", "is 0; expected at least 1 element"}},
      {"FastPitchSymbolAboveTheSymbolSet",
       FastPitch({12, 40, 148}),
       kInvalid,
       {"input 'INPUT__0': element 2 is 148", "expected values in [0, 147]"}},
      {"FastPitchNegativeSymbol",
       FastPitch({-3}),
       kInvalid,
       {"input 'INPUT__0': element 0 is -3", "expected values in [0, 147]"}},
      // Symbol 0 is padding: alone it left the model nothing and failed inside it (INTERNAL).
      {"FastPitchOfPaddingAlone",
       FastPitch({0, 0, 0, 0}),
       kInvalid,
       {"input 'INPUT__0': row 0 holds only the pad value 0", "constraints.not_all_pad"}},
      {"FastPitchTextLongerThanTheCap",
       FastPitch(std::vector<int64_t>(513, 5)),
       kInvalid,
       {"is 513, above the maximum 512 (constraints.max_length)"}},
      {"Wav2Vec2WithoutAudio",
       Wav2Vec2(0),
       kInvalid,
       {"model 'wav2vec2'", "input 'AUDIO'", "expected at least 1 element"}},
      {"Wav2Vec2AudioShorterThanOneFrame",
       Wav2Vec2(399),
       kInvalid,
       {"is 399, below the minimum 400 (constraints.min_length)"}},
      {"Wav2Vec2AudioHoldingNaN",
       Wav2Vec2(16000, std::nanf("")),
       kInvalid,
       {"input 'AUDIO': element 0 is nan", "expected finite values (constraints.finite)"}},
  };
}

class BadInputTest : public MatrixTest {
 protected:
  static void SetUpTestSuite() {
    StartServer(kDefaultRepository);
    if (client_ == nullptr) return;  // the start failed, and said why
    region_ = new TestSharedMemory("bad_input_test", kRegionBytes);
    ASSERT_TRUE(client_->RegisterSystemSharedMemory(kRegion, region_->key(), kRegionBytes).ok());
  }

  static void TearDownTestSuite() {
    StopServer();
    delete region_;
    region_ = nullptr;
  }

  static std::vector<BadRequest> Refusals() {
    std::vector<BadRequest> refusals;
    for (BadRequest& bad : DefaultServerCases()) {
      if (bad.code != absl::StatusCode::kOk) refusals.push_back(std::move(bad));
    }
    return refusals;
  }

  static void ExpectStreamed(const inference::ModelStreamInferResponse& response) {
    EXPECT_EQ(response.error_message(), "");
    ExpectServed(response.infer_response());
  }

  static inline TestSharedMemory* region_ = nullptr;
};

TEST_F(BadInputTest, Matrix) {
  for (const BadRequest& bad : DefaultServerCases()) ExpectAnswered(bad);
}

// Every refusal of the matrix, one at a time between good requests on one stream: each is
// answered in its stream response, in turn, and the stream keeps serving.
TEST_F(BadInputTest, StreamAnswersEachRefusalAndKeepsServing) {
  const std::vector<BadRequest> refusals = Refusals();
  const std::map<std::string, uint64_t> before = FailureCounts(*client_);
  grpc::ClientContext context;
  auto stream = client_->stub()->ModelStreamInfer(&context);
  inference::ModelStreamInferResponse response;
  ASSERT_TRUE(stream->Write(SimpleRequest()));
  ASSERT_TRUE(stream->Read(&response));
  ExpectStreamed(response);
  for (const BadRequest& bad : refusals) {
    Request request = bad.build();
    request.set_id(bad.name);
    ASSERT_TRUE(stream->Write(request)) << bad.name;
    ASSERT_TRUE(stream->Read(&response)) << bad.name;
    EXPECT_EQ(response.infer_response().id(), EchoedId(request)) << bad.name;
    EXPECT_NE(response.error_message(), "") << bad.name;
    ExpectMessage(response.error_message(), bad);
    ASSERT_TRUE(stream->Write(SimpleRequest())) << "after " << bad.name;
    ASSERT_TRUE(stream->Read(&response)) << "after " << bad.name;
    ExpectStreamed(response);
  }
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status finished = stream->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  // Each refusal that named a served model is counted once, as the unary ones are.
  EXPECT_EQ(FailureCounts(*client_), AfterRefusals(before, refusals));
}

// Bytes that are no ModelInferRequest at all (gRPC itself refuses them, before our code sees a
// request): each call fails, the server keeps serving, and refusing them writes no log line per
// request (a flood of such requests must not flood the log).
TEST_F(BadInputTest, BytesThatDoNotParseAreRefusedWithoutALogLineEach) {
  auto channel = grpc::CreateChannel(server_->grpc_target(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  const std::string before = server_->Output();
  const auto lines_before = std::count(before.begin(), before.end(), '\n');
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) {
    // Field 0 with wire type 7: no protobuf message starts like this.
    const std::string garbage = absl::StrCat("\x07\xff\xff", std::string(i, '\x07'));
    grpc::Slice slice(garbage.data(), garbage.size());
    grpc::ByteBuffer request(&slice, 1);
    grpc::ClientContext context;
    grpc::CompletionQueue queue;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call = stub.PrepareUnaryCall(
        &context, "/inference.GRPCInferenceService/ModelInfer", request, &queue);
    call->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    call->Finish(&reply, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(queue.Next(&tag, &ok));
    EXPECT_FALSE(status.ok()) << "call " << i << " was answered OK";
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
  }
  ExpectServed(client_->Infer(SimpleRequest()));
  const std::string after = server_->Output();
  EXPECT_LT(std::count(after.begin(), after.end(), '\n') - lines_before, kCalls / 2) << after;
}

// All of them written at once, good and bad alternating: the refusals, answered at once, pass
// the good requests still queued, and every answer finds its request by id.
TEST_F(BadInputTest, StreamAnswersPipelinedRequestsByTheirIds) {
  const std::vector<BadRequest> refusals = Refusals();
  std::vector<std::string> refusal_ids;
  grpc::ClientContext context;
  auto stream = client_->stub()->ModelStreamInfer(&context);
  for (size_t i = 0; i <= refusals.size(); ++i) {
    Request good = SimpleRequest();
    good.set_id(absl::StrCat("good-", i));
    ASSERT_TRUE(stream->Write(good));
    if (i == refusals.size()) break;
    Request bad = refusals[i].build();
    bad.set_id(refusals[i].name);
    refusal_ids.push_back(EchoedId(bad));
    ASSERT_TRUE(stream->Write(bad));
  }
  ASSERT_TRUE(stream->WritesDone());
  std::map<std::string, inference::ModelStreamInferResponse> responses;
  inference::ModelStreamInferResponse response;
  while (stream->Read(&response)) responses[response.infer_response().id()] = response;
  const grpc::Status finished = stream->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  // Ids are unique: at most one refusal (the one that does not parse) echoes none.
  ASSERT_EQ(responses.size(), 2 * refusals.size() + 1);
  for (size_t i = 0; i <= refusals.size(); ++i) {
    ExpectStreamed(responses[absl::StrCat("good-", i)]);
    if (i == refusals.size()) break;
    ExpectMessage(responses[refusal_ids[i]].error_message(), refusals[i]);
  }
}

// ---- A small repository with tight limits, and with none ----

// `simple`, `identity` and `simple_identity` of the default repository, linked into a fresh one
// (they load in a second, where the whole repository takes many).
std::string SmallRepository() {
  namespace fs = std::filesystem;
  const fs::path repository = fs::path(std::getenv("TEST_TMPDIR")) / "small_repository";
  fs::create_directories(repository);
  for (const char* model : {"simple", "identity", "simple_identity"}) {
    std::error_code ignored;
    fs::create_directory_symlink(fs::absolute(fs::path(kDefaultRepository) / model),
                                 repository / model, ignored);
  }
  return repository.string();
}

std::vector<BadRequest> LimitedServerCases() {
  using absl::StatusCode;
  return {
      // simple [8, 16]: 128 elements in each input.
      {"InputAboveMaxInputElements",
       [] { return SimpleRows(8); },
       StatusCode::kInvalidArgument,
       {"model 'simple': input 'INPUT0' has 128 elements; the limit is 100 per input "
        "(--max-input-elements)"}},
      // simple [5, 16]: 80 elements each, 160 together.
      {"RequestAboveMaxRequestElements",
       [] { return SimpleRows(5); },
       StatusCode::kInvalidArgument,
       {"model 'simple': the request's inputs have 160 elements together; the limit is 150 per "
        "request (--max-request-elements)"}},
      // simple [4, 16]: 256 bytes each, 512 together.
      {"RequestAboveMaxQueuedBytesPerModel",
       [] { return SimpleRows(4); },
       StatusCode::kInvalidArgument,
       {"model 'simple'", "512 input bytes are more than a model may hold queued, 500",
        "(--max-queued-bytes-per-model)"}},
      // gRPC refuses it before the server reads it.
      {"MessageAboveGrpcMaxMessageBytes",
       Identity({1, 20000}, std::string(80000, '\0')),
       StatusCode::kResourceExhausted,
       {"Received message larger than max (", "vs. 65536)"},
       false},
  };
}

class LimitedServerTest : public MatrixTest {
 protected:
  static void SetUpTestSuite() {
    StartServer(SmallRepository(),
                {"--max-input-elements=100", "--max-request-elements=150",
                 "--max-queued-bytes-per-model=500", "--grpc-max-message-bytes=65536"});
  }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(LimitedServerTest, Matrix) {
  for (const BadRequest& bad : LimitedServerCases()) ExpectAnswered(bad);
}

// A message above the limit ends the whole stream (gRPC's doing); a new stream serves.
TEST_F(LimitedServerTest, MessageAboveTheLimitEndsOnlyItsStream) {
  {
    grpc::ClientContext context;
    auto stream = client_->stub()->ModelStreamInfer(&context);
    inference::ModelStreamInferResponse response;
    ASSERT_TRUE(stream->Write(SimpleRequest()));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.error_message(), "");
    stream->Write(Identity({1, 20000}, std::string(80000, '\0'))());
    while (stream->Read(&response)) {
    }
    const grpc::Status finished = stream->Finish();
    EXPECT_EQ(finished.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(finished.error_message(), HasSubstr("vs. 65536)"));
  }
  grpc::ClientContext context;
  auto stream = client_->stub()->ModelStreamInfer(&context);
  inference::ModelStreamInferResponse response;
  ASSERT_TRUE(stream->Write(SimpleRequest()));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_message(), "");
  ExpectServed(response.infer_response());
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

// With every limit off, the decoder itself refuses shapes whose bytes cannot exist, from the
// shape and the received sizes alone, without allocating what the shape describes.
std::vector<BadRequest> UnlimitedServerCases() {
  using absl::StatusCode;
  return {
      {"OverflowingDimensions",
       Identity({1, kTwoTo62}, ""),
       StatusCode::kInvalidArgument,
       {"input 'INPUT0': shape [1, 4611686018427387904] holds more bytes than 64 bits can count"}},
      // 64 x 2^58 elements: exactly 2^64, which a plain product wraps to 0 (matching no bytes).
      {"DimensionsWhoseProductWrapsToZero",
       Identity({64, int64_t{1} << 58}, ""),
       StatusCode::kInvalidArgument,
       {"input 'INPUT0': shape [64, 288230376151711744] holds more bytes than 64 bits can count"}},
      {"HugeDimensionWithSmallRawContents",
       Identity({1, kTwoTo40}, std::string(16, '\0')),
       StatusCode::kInvalidArgument,
       {"input 'INPUT0': raw_input_contents has 16 bytes; shape [1, 1099511627776] of FP32 needs "
        "4398046511104"}},
      {"HugeBytesShapeWithTwoElements",
       Strings({1, kTwoTo40}, BytesElement("a") + BytesElement("")),
       StatusCode::kInvalidArgument,
       {"input 'INPUT0': raw_input_contents holds 2 BYTES elements; shape [1, 1099511627776] "
        "needs 1099511627776"}},
  };
}

class UnlimitedServerTest : public MatrixTest {
 protected:
  static void SetUpTestSuite() {
    StartServer(SmallRepository(), {"--max-input-elements=0", "--max-request-elements=0",
                                    "--max-queued-bytes-per-model=0"});
  }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(UnlimitedServerTest, Matrix) {
  for (const BadRequest& bad : UnlimitedServerCases()) ExpectAnswered(bad);
}

}  // namespace
}  // namespace speech
