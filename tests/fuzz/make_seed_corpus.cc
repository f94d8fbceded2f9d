// Writes the fuzzers' seed corpus: a few requests for each fuzz model (fuzz_models.h) that the
// request core accepts, and a few that each fail one check, so that fuzzing starts past the
// parser and next to every error path. Each seed says which model should accept it (or that none
// should), and this program checks that before writing it: a seed that no longer does what its
// name says fails here, not silently in the fuzzer.
//
//   bazel run //tests/fuzz:make_seed_corpus -- "$PWD/tests/fuzz/corpus"
//
// writes corpus/infer_request/*.pb (serialized inference.ModelInferRequest) and
// corpus/infer_request_json/*.txt (the REST fuzzer's header line and body).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "batcher/request.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "proto/bytes_elements.h"
#include "proto/grpc_service.pb.h"
#include "server/core/decode/input_constraints.h"
#include "server/core/decode/tensor_codec.h"
#include "server/http/json/infer_request_json.h"
#include "tests/fuzz/fuzz_models.h"

namespace speech {
namespace {

using Input = inference::ModelInferRequest::InferInputTensor;

// The model that accepts the message (decoding and constraints), or "" when none does.
std::string AcceptedBy(const inference::ModelInferRequest& message,
                       absl::Span<const std::optional<absl::string_view>> external = {}) {
  for (const inference::ModelConfig& config : FuzzModelConfigs()) {
    InferenceRequest request;
    if (DecodeInferRequest(message, config, &request, external).ok() &&
        CheckInputConstraints(config, request).ok()) {
      return config.name();
    }
  }
  return "";
}

template <typename T>
std::string RawOf(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

Input* AddInput(inference::ModelInferRequest* message, const std::string& name,
                const std::string& datatype, std::vector<int64_t> shape) {
  Input* input = message->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  return input;
}

// Puts `input` in shared memory as the proto fuzzer reads it (TakeFuzzRegions): its region's
// bytes are appended to raw_input_contents.
void AddRegion(inference::ModelInferRequest* message, Input* input, std::string bytes) {
  (*input->mutable_parameters())["shared_memory_region"].set_string_param("region");
  message->add_raw_input_contents(std::move(bytes));
}

struct Seed {
  std::string name;
  inference::ModelInferRequest message;
  std::string accepted_by;  // "" for a seed every model refuses
};

inference::ModelInferRequest FastPitch(std::vector<int64_t> symbols, bool raw) {
  inference::ModelInferRequest message;
  message.set_model_name("fastpitch");
  message.set_id("seed");
  Input* input = AddInput(&message, "INPUT__0", "INT64", {1, static_cast<int64_t>(symbols.size())});
  if (raw) {
    message.add_raw_input_contents(RawOf(symbols));
  } else {
    for (int64_t symbol : symbols) input->mutable_contents()->add_int64_contents(symbol);
  }
  message.add_outputs()->set_name("OUTPUT__0");
  return message;
}

inference::ModelInferRequest Frontend(std::vector<std::string> texts, bool raw) {
  inference::ModelInferRequest message;
  message.set_model_name("tts_frontend");
  Input* input = AddInput(&message, "TEXT", "BYTES", {static_cast<int64_t>(texts.size()), 1});
  if (raw) {
    message.add_raw_input_contents(PackBytesElements(texts));
  } else {
    for (const std::string& text : texts) input->mutable_contents()->add_bytes_contents(text);
  }
  return message;
}

inference::ModelInferRequest Wav2Vec2(std::vector<int64_t> lengths, float sample) {
  inference::ModelInferRequest message;
  message.set_model_name("wav2vec2");
  const int64_t rows = static_cast<int64_t>(lengths.size());
  AddInput(&message, "AUDIO", "FP32", {rows, 4});
  AddInput(&message, "AUDIO_LENGTHS", "INT64", {rows, 1});
  message.add_raw_input_contents(RawOf(std::vector<float>(rows * 4, sample)));
  message.add_raw_input_contents(RawOf(lengths));
  message.add_outputs()->set_name("LOGITS");
  return message;
}

// every_type with typed contents where the wire has them; FP16 and BF16 have none, so they come
// from shared-memory regions (the fuzzer takes a region's bytes from its name parameter).
inference::ModelInferRequest EveryTypeTyped() {
  inference::ModelInferRequest message;
  message.set_model_name("every_type");
  auto contents = [&](const std::string& name, const std::string& type,
                      std::vector<int64_t> shape) {
    return AddInput(&message, name, type, shape)->mutable_contents();
  };
  inference::InferTensorContents* i8 = contents("I8", "INT8", {2, 3});
  for (int v : {-3, -2, -1, 0, 1, 2}) i8->add_int_contents(v);
  inference::InferTensorContents* i16 = contents("I16", "INT16", {2});
  for (int v : {300, -300}) i16->add_int_contents(v);
  contents("I32", "INT32", {1})->add_int_contents(70000);
  inference::InferTensorContents* u8 = contents("U8", "UINT8", {1, 2});
  for (unsigned v : {0u, 255u}) u8->add_uint_contents(v);
  AddRegion(&message, AddInput(&message, "BF16", "BF16", {1}), std::string("\x80\x3f", 2));  // 1
  inference::InferTensorContents* b = contents("B", "BOOL", {3});
  for (bool v : {true, false, true}) b->add_bool_contents(v);
  AddRegion(&message, AddInput(&message, "F16", "FP16", {2}),
            std::string("\x00\x3c\x00\xc0", 4));  // 1 and -2
  inference::InferTensorContents* f64 = contents("F64", "FP64", {2});
  for (double v : {0.5, -0.25}) f64->add_fp64_contents(v);
  inference::InferTensorContents* s = contents("S", "BYTES", {2});
  for (const char* v : {"a", "bc"}) s->add_bytes_contents(v);
  return message;
}

inference::ModelInferRequest EveryTypeRaw() {
  inference::ModelInferRequest message;
  message.set_model_name("every_type");
  auto raw = [&](const std::string& name, const std::string& type, std::vector<int64_t> shape,
                 std::string bytes) {
    AddInput(&message, name, type, shape);
    message.add_raw_input_contents(std::move(bytes));
  };
  raw("I8", "INT8", {2, 3}, RawOf(std::vector<int8_t>{1, 2, 3, 4, 5, 6}));
  raw("I16", "INT16", {3}, RawOf(std::vector<int16_t>{1, -1, 7}));
  raw("I32", "INT32", {1}, RawOf(std::vector<int32_t>{-5}));
  raw("U8", "UINT8", {2, 2}, RawOf(std::vector<uint8_t>{0, 1, 2, 3}));
  raw("BF16", "BF16", {1}, std::string("\x00\xc0", 2));  // -2.0
  raw("B", "BOOL", {0}, "");
  raw("F16", "FP16", {1}, std::string("\x00\x38", 2));  // 0.5
  raw("F64", "FP64", {2}, RawOf(std::vector<double>{1.0, -1.0}));
  raw("S", "BYTES", {3}, PackBytesElements(std::vector<std::string>{"", "x", "yz"}));
  message.add_outputs()->set_name("OUT");
  return message;
}

std::vector<Seed> ProtoSeeds() {
  std::vector<Seed> seeds;
  auto add = [&](std::string name, inference::ModelInferRequest message, std::string model) {
    seeds.push_back({std::move(name), std::move(message), std::move(model)});
  };
  add("fastpitch_typed", FastPitch({10, 20, 30}, false), "fastpitch");
  {
    inference::ModelInferRequest message = FastPitch({1, 2, 3, 4, 5}, true);
    (*message.mutable_parameters())["timeout"].set_int64_param(100000);
    add("fastpitch_raw_timeout", message, "fastpitch");
  }
  add("fastpitch_value_too_big", FastPitch({10, 148}, false), "");
  add("fastpitch_empty", FastPitch({}, true), "");
  {
    inference::ModelInferRequest message = FastPitch({1, 2}, false);
    message.mutable_inputs(0)->set_shape(0, 9);  // over max_batch_size
    add("fastpitch_batch_too_big", message, "");
  }
  {
    inference::ModelInferRequest message = FastPitch({1, 2}, true);
    message.mutable_raw_input_contents(0)->pop_back();
    add("fastpitch_raw_short", message, "");
  }
  {
    inference::ModelInferRequest message = FastPitch({1, 2}, false);
    (*message.mutable_parameters())["timeout"].set_string_param("soon");
    message.add_outputs()->set_name("OUTPUT__0");
    add("fastpitch_bad_timeout_output_twice", message, "");
  }
  add("tts_frontend_typed", Frontend({"hello", "w\xc3\xb6rld"}, false), "tts_frontend");
  add("tts_frontend_raw", Frontend({"speech"}, true), "tts_frontend");
  add("tts_frontend_not_utf8", Frontend({"ab\xc3\x28"}, true), "");
  add("tts_frontend_empty_text", Frontend({""}, false), "");
  {
    inference::ModelInferRequest message = Frontend({"abc"}, true);
    message.mutable_raw_input_contents(0)->resize(2);  // a length prefix cut short
    add("tts_frontend_prefix_cut", message, "");
  }
  add("wav2vec2_raw", Wav2Vec2({4, 2}, 0.25f), "wav2vec2");
  add("wav2vec2_length_too_big", Wav2Vec2({5}, 0.25f), "");
  add("wav2vec2_not_finite", Wav2Vec2({4}, INFINITY), "");
  {
    inference::ModelInferRequest message = Wav2Vec2({4}, 0.0f);
    message.mutable_inputs(1)->set_shape(0, 2);  // rows disagree between inputs
    add("wav2vec2_rows_disagree", message, "");
  }
  add("every_type_typed_shared_memory", EveryTypeTyped(), "every_type");
  add("every_type_raw", EveryTypeRaw(), "every_type");
  {
    inference::ModelInferRequest message = EveryTypeRaw();
    message.mutable_inputs(0)->set_shape(1, -3);
    add("every_type_negative_dim", message, "");
  }
  {
    inference::ModelInferRequest message = EveryTypeRaw();
    message.mutable_inputs(1)->set_shape(0, int64_t{1} << 62);
    add("every_type_huge_dim", message, "");
  }
  {
    inference::ModelInferRequest message = EveryTypeRaw();
    message.mutable_inputs(2)->mutable_contents()->add_int_contents(1);  // raw and typed
    add("every_type_raw_and_typed", message, "");
  }
  {
    inference::ModelInferRequest message = EveryTypeRaw();
    message.mutable_inputs(8)->set_name("I8");  // given twice, S missing
    add("every_type_input_twice", message, "");
  }
  {
    inference::ModelInferRequest message = EveryTypeRaw();
    (*message.mutable_outputs(0)->mutable_parameters())["classification"].set_int64_param(3);
    add("every_type_classification", message, "");
  }
  {
    inference::ModelInferRequest message;
    message.set_model_name("nobody");
    AddInput(&message, "UNKNOWN", "FP32", {1});
    add("unknown_input", message, "");
  }
  return seeds;
}

struct JsonSeed {
  std::string name;
  std::string header;  // Inference-Header-Content-Length; "" for none
  std::string body;
  std::string accepted_by;
};

// The REST fuzzer's input: the header line, then the body.
std::string JsonFuzzInput(const JsonSeed& seed) { return seed.header + "\n" + seed.body; }

std::vector<JsonSeed> JsonSeeds() {
  std::vector<JsonSeed> seeds = {
      {"fastpitch", "",
       R"({"id":"a","inputs":[{"name":"INPUT__0","shape":[1,3],"datatype":"INT64",)"
       R"("data":[1,2,3]}],"outputs":[{"name":"OUTPUT__0","parameters":{"binary_data":true}}]})",
       "fastpitch"},
      {"fastpitch_nested_data", "",
       R"({"inputs":[{"name":"INPUT__0","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]}],)"
       R"("parameters":{"timeout":5000,"binary_data_output":false}})",
       "fastpitch"},
      {"tts_frontend", "",
       R"({"inputs":[{"name":"TEXT","shape":[1,1],"datatype":"BYTES","data":["hello"]}]})",
       "tts_frontend"},
      {"wav2vec2", "",
       R"({"inputs":[{"name":"AUDIO","shape":[1,3],"datatype":"FP32","data":[0.5,-0.5,0]},)"
       R"({"name":"AUDIO_LENGTHS","shape":[1,1],"datatype":"INT64","data":[2]}]})",
       "wav2vec2"},
      {"every_type_shared_memory", "",
       R"({"inputs":[{"name":"I8","shape":[2,3],"datatype":"INT8","data":[1,2,3,4,5,6]},)"
       R"({"name":"I16","shape":[1],"datatype":"INT16","data":[-7]},)"
       R"({"name":"I32","shape":[1],"datatype":"INT32","data":[7]},)"
       R"({"name":"U8","shape":[1,2],"datatype":"UINT8","data":[0,255]},)"
       R"({"name":"BF16","shape":[1],"datatype":"BF16","data":[1.5]},)"
       R"({"name":"B","shape":[2],"datatype":"BOOL","data":[true,false]},)"
       R"({"name":"F16","shape":[1],"datatype":"FP16","parameters":)"
       R"({"shared_memory_region":"r","shared_memory_byte_size":2}},)"
       R"({"name":"F64","shape":[2],"datatype":"FP64","data":[0.5,1e-3]},)"
       R"({"name":"S","shape":[2],"datatype":"BYTES","data":["x","\u00e9"]}]})",
       ""},  // its F16 is in shared memory, which the fuzzer does not lend
      {"bad_json", "", R"({"inputs":[{"name":)", ""},
      {"bad_shape", "", R"({"inputs":[{"name":"TEXT","shape":[-1],"datatype":"BYTES","data":[]}]})",
       ""},
      {"data_and_binary", "",
       R"({"inputs":[{"name":"INPUT__0","shape":[1,1],"datatype":"INT64","data":[1],)"
       R"("parameters":{"binary_data_size":8}}]})",
       ""},
      // Found by this fuzzer: a number no double holds once threw out of the parser.
      {"number_overflow", "",
       R"({"inputs":[{"name":"INPUT__0","shape":[1,1],"datatype":"INT64","data":[1e999]}]})", ""},
      {"classification", "",
       R"({"inputs":[],"outputs":[{"name":"OUT","parameters":{"classification":2}}]})", ""},
  };
  // Triton's binary extension: the JSON, then each input's bytes.
  const std::string json = R"({"inputs":[{"name":"AUDIO","shape":[1,2],"datatype":"FP32",)"
                           R"("parameters":{"binary_data_size":8}},)"
                           R"({"name":"AUDIO_LENGTHS","shape":[1,1],"datatype":"INT64",)"
                           R"("parameters":{"binary_data_size":8}}]})";
  const std::string bytes = RawOf(std::vector<float>{0.5f, 0.25f}) + RawOf(std::vector<int64_t>{2});
  const std::string length = std::to_string(json.size());
  seeds.push_back({"wav2vec2_binary", length, json + bytes, "wav2vec2"});
  seeds.push_back({"binary_too_long", length, json + bytes + "!", ""});
  seeds.push_back({"binary_without_header", "", json + bytes, ""});
  seeds.push_back({"header_not_a_number", "12x", json + bytes, ""});
  return seeds;
}

std::string JsonAcceptedBy(const JsonSeed& seed) {
  std::optional<size_t> json_length;
  if (!seed.header.empty()) {
    absl::StatusOr<size_t> length = ParseJsonHeaderLength(seed.header, seed.body.size());
    if (!length.ok()) return "";
    json_length = *length;
  }
  RestInferRequest request;
  if (!ParseRestInferRequest(seed.body, json_length, &request).ok()) return "";
  return AcceptedBy(request.message);
}

// Whom the proto fuzzer's reading of `message` (regions included) is accepted by.
std::string ProtoAcceptedBy(inference::ModelInferRequest message) {
  FuzzRegions regions;
  if (!TakeFuzzRegions(&message, &regions)) return "";
  return AcceptedBy(message, regions.external);
}

// Map fields (parameters) in a fixed order, so that the same seed is always the same bytes.
std::string Serialized(const inference::ModelInferRequest& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

bool Write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
  return static_cast<bool>(file);
}

// Prints a seed's outcome; false when it is not the one its name promises.
bool Expect(const std::string& name, const std::string& expected, const std::string& got) {
  const bool as_promised = expected == got;
  std::cout << (as_promised ? "  " : "! ") << name << ": "
            << (got.empty() ? "refused by every model" : "accepted by " + got);
  if (!as_promised) {
    std::cout << ", expected " << (expected.empty() ? "no model" : expected);
  }
  std::cout << std::endl;
  return as_promised;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIRECTORY" << std::endl;
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  const std::filesystem::path proto_dir = root / "infer_request";
  const std::filesystem::path json_dir = root / "infer_request_json";
  std::filesystem::create_directories(proto_dir);
  std::filesystem::create_directories(json_dir);
  bool ok = true;
  for (const speech::Seed& seed : speech::ProtoSeeds()) {
    ok &= speech::Expect(seed.name, seed.accepted_by, speech::ProtoAcceptedBy(seed.message));
    ok &= speech::Write(proto_dir / (seed.name + ".pb"), speech::Serialized(seed.message));
  }
  for (const speech::JsonSeed& seed : speech::JsonSeeds()) {
    ok &= speech::Expect(seed.name, seed.accepted_by, speech::JsonAcceptedBy(seed));
    ok &= speech::Write(json_dir / (seed.name + ".txt"), speech::JsonFuzzInput(seed));
  }
  if (!ok) {
    std::cerr << "some seeds are not what they promise, or could not be written" << std::endl;
    return 1;
  }
  std::cout << "wrote the seed corpus under " << root << std::endl;
  return 0;
}
