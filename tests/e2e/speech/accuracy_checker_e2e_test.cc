// accuracy_checker against the real server: FastPitch and wav2vec 2.0 under concurrent load, with
// mixed lengths padded into shared batches, must match their TorchScript files run in-process on
// each request alone; and the checker must fail, naming the worst request, when they do not.
// The server serves a copy of the default repository whose fastpitch and wav2vec2 form batches by
// Triton's rules (batch_cost_model "false"): on two CPU cores the measured costs say batching
// does not pay, and the default policy would send every request alone, leaving nothing padded
// to check.
#include <sys/wait.h>
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/inference_client.h"
#include "client/speech/wav_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

// One CSV row by column name.
using Row = std::map<std::string, std::string>;

fs::path TempDir() { return fs::path(std::getenv("TEST_TMPDIR")); }

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `model` of the default repository copied under `root`, `extra` appended to its config.
void CopyModel(const fs::path& root, const std::string& model, const std::string& extra) {
  const fs::path source = fs::path(kDefaultRepository) / model;
  fs::create_directories(root / model / "1");
  fs::copy_file(source / "1" / "model.pt", root / model / "1" / "model.pt",
                fs::copy_options::overwrite_existing);
  WriteFile(root / model / "config.pbtxt", ReadFile(source / "config.pbtxt") + extra);
}

constexpr char kTritonRules[] =
    "\nparameters { key: \"batch_cost_model\" value { string_value: \"false\" } }\n";

// The output rows of a CSV the checker wrote, by output name.
std::map<std::string, Row> ReadCsv(const fs::path& path) {
  std::map<std::string, Row> rows;
  std::vector<std::string> columns;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (columns.empty()) {
      columns = fields;
      continue;
    }
    Row row;
    for (size_t i = 0; i < fields.size() && i < columns.size(); ++i) row[columns[i]] = fields[i];
    rows[row["output"]] = row;
  }
  return rows;
}

double Number(const std::string& text) {
  double value = -1;
  EXPECT_TRUE(absl::SimpleAtod(text, &value)) << text;
  return value;
}

class AccuracyCheckerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repository_ = new fs::path(TempDir() / "batching_repository");
    for (const char* model : {"fastpitch", "wav2vec2"})
      CopyModel(*repository_, model, kTritonRules);
    CopyModel(*repository_, "identity", "");
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", repository_->string()), "--allow-metrics=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    delete server_;
    server_ = nullptr;
    delete repository_;
    repository_ = nullptr;
  }

  // Runs the checker (a data dependency, relative to the runfiles directory) on the server.
  static Result Run(const std::string& args) {
    const std::string command = absl::StrCat(
        "client/accuracy/accuracy_checker --url=", server_->grpc_target(), " ", args, " 2>&1");
    std::FILE* pipe = popen(command.c_str(), "r");
    Result result{-1, ""};
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t read;
    while ((read = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      result.output.append(buffer, read);
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  static std::string Csv(const std::string& name) { return (TempDir() / name).string(); }

  // Expects a passing row: every request compared, none mismatched.
  static void ExpectPasses(const Row& row, const std::string& comparison,
                           const std::string& requests) {
    EXPECT_EQ(row.at("comparison"), comparison);
    EXPECT_EQ(row.at("requests"), requests);
    EXPECT_EQ(row.at("shape_mismatches"), "0");
    EXPECT_EQ(row.at("missing"), "0");
    EXPECT_EQ(row.at("failing_requests"), "0");
    EXPECT_EQ(row.at("status"), "PASS");
    EXPECT_LE(Number(row.at("max_rel_error")), 1e-4);
    if (comparison == "exact") {
      EXPECT_EQ(row.at("differing_elements"), "0");
    }
  }

  // Inferences over executions of `model` so far.
  static double MeanBatch(const std::string& model) {
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    EXPECT_TRUE(client.ok());
    auto stats = (*client)->ModelStatistics(model);
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (!stats.ok() || stats->model_stats_size() != 1) return 0;
    const auto& model_stats = stats->model_stats(0);
    return model_stats.execution_count() == 0
               ? 0
               : static_cast<double>(model_stats.inference_count()) /
                     static_cast<double>(model_stats.execution_count());
  }

  static inline ServerProcess* server_ = nullptr;
  static inline fs::path* repository_ = nullptr;
};

TEST_F(AccuracyCheckerE2eTest, FastPitchInPaddedBatchesMatchesTheReference) {
  const Result result =
      Run(absl::StrCat("-m fastpitch --model-repository=", repository_->string(),
                       " --length-range=8:96 --int-range=1,148 --sample-count=16 --repeat=4 "
                       "--concurrency=8 --csv=",
                       Csv("fastpitch.csv")));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("accuracy: 64/64 requests (100%), 0 failed"));
  EXPECT_THAT(result.output, HasSubstr("64 requests, 0 failed: PASS"));
  std::cout << ReadFile(Csv("fastpitch.csv"));
  const std::map<std::string, Row> rows = ReadCsv(Csv("fastpitch.csv"));
  ASSERT_EQ(rows.size(), 5u);
  ExpectPasses(rows.at("OUTPUT__0"), "float", "64");  // mel spectrogram
  ExpectPasses(rows.at("OUTPUT__1"), "exact", "64");  // mel lengths
  for (const char* name : {"OUTPUT__2", "OUTPUT__3", "OUTPUT__4"}) {
    ExpectPasses(rows.at(name), "float", "64");
  }
  EXPECT_GT(MeanBatch("fastpitch"), 1) << "no padded batch was formed";
}

TEST_F(AccuracyCheckerE2eTest, Wav2vec2InPaddedBatchesMatchesTheReference) {
  const Result result = Run(absl::StrCat(
      "-m wav2vec2 --model-repository=", repository_->string(),
      " --length-range=4000:24000 --sample-count=16 --repeat=2 --csv=", Csv("wav2vec2.csv")));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::cout << ReadFile(Csv("wav2vec2.csv"));
  const std::map<std::string, Row> rows = ReadCsv(Csv("wav2vec2.csv"));
  ASSERT_EQ(rows.size(), 2u);
  ExpectPasses(rows.at("LOGITS"), "float", "32");
  ExpectPasses(rows.at("FRAMES"), "exact", "32");
  EXPECT_GT(MeanBatch("wav2vec2"), 1) << "no padded batch was formed";
}

TEST_F(AccuracyCheckerE2eTest, Wav2vec2FromAFolderOfWavFiles) {
  const fs::path dir = TempDir() / "wavs";
  std::mt19937 random(7);
  std::uniform_real_distribution<float> sample(-0.5f, 0.5f);
  for (int i = 0; i < 6; ++i) {
    WavAudio audio;
    audio.sample_rate = 16000;
    audio.channels = 1;
    audio.samples.resize(4000 + 3000 * i);
    for (float& value : audio.samples) value = sample(random);
    WriteFile(dir / absl::StrCat("utterance", i, ".wav"),
              EncodeWav(audio, WavSampleFormat::kFloat32));
  }
  const Result result = Run(absl::StrCat("-m wav2vec2 --model-repository=", repository_->string(),
                                         " --input-data=", dir.string(),
                                         " --repeat=3 --concurrency=6 --csv=", Csv("wavs.csv")));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::map<std::string, Row> rows = ReadCsv(Csv("wavs.csv"));
  ExpectPasses(rows.at("LOGITS"), "float", "18");
  ExpectPasses(rows.at("FRAMES"), "exact", "18");
}

// With no tolerance at all, the verdict follows what the CSV shows: padding changes the order in
// which floats are summed, so results usually differ in their last bits, but a run whose requests
// all happened to execute alone matches bit for bit. Either way the exit status must agree.
TEST_F(AccuracyCheckerE2eTest, NoToleranceFailsExactlyWhenAnElementDiffers) {
  const Result result = Run(absl::StrCat("-m wav2vec2 --model-repository=", repository_->string(),
                                         " --length-range=4000:24000 --sample-count=16 --repeat=2 "
                                         "--max-rel-error=0 --csv=",
                                         Csv("strict.csv")));
  const std::map<std::string, Row> rows = ReadCsv(Csv("strict.csv"));
  ASSERT_EQ(rows.count("LOGITS"), 1u) << result.output;
  const Row& logits = rows.at("LOGITS");
  EXPECT_EQ(rows.at("FRAMES").at("status"), "PASS");
  if (logits.at("differing_elements") == "0") {
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return;
  }
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(logits.at("status"), "FAIL");
  EXPECT_THAT(result.output, HasSubstr("FAIL: output LOGITS: max_rel_error "));
  EXPECT_THAT(result.output,
              HasSubstr(absl::StrCat("worst: request ", logits.at("worst_request"), " (sample ",
                                     logits.at("worst_sample"), ", repeat ")));
  EXPECT_THAT(result.output, HasSubstr("; AUDIO [1, "));
}

// A model file that is wrong for one input length: the checker must fail and name that request.
TEST_F(AccuracyCheckerE2eTest, ABrokenModelFailsNamingTheWorstRequest) {
  const fs::path broken = TempDir() / "broken_repository";
  CopyModel(broken, "identity", "");
  torch::jit::Module module("m");
  module.define(R"(
def forward(self, x):
    if x.size(1) == 7:
        return x * 2.0
    return x
)");
  module.save((broken / "identity" / "1" / "model.pt").string());
  WriteFile(TempDir() / "identity.json", R"({"data": [
      {"INPUT0": [1, 2, 3]},
      {"INPUT0": [1, 2, 3, 4, 5]},
      {"INPUT0": [0.5, 1, 2, 3, 4, 5, 6]},
      {"INPUT0": [1, 2, 3, 4, 5, 6, 7, 8, 9]}]})");
  const Result result = Run(absl::StrCat("-m identity --model-repository=", broken.string(),
                                         " --input-data=", (TempDir() / "identity.json").string(),
                                         " --repeat=2 --concurrency=4 --csv=", Csv("broken.csv")));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  // The server answers x where the broken reference says 2x: |x - 2x| / max|2x| = 0.5.
  EXPECT_THAT(result.output,
              HasSubstr("FAIL: output OUTPUT0: max_rel_error 0.5 > 0.0001 (max abs error 6); 2 "
                        "of 8 requests outside the thresholds; worst: request 2 (sample 2, "
                        "repeat 0; INPUT0 [1, 7])"));
  const Row row = ReadCsv(Csv("broken.csv")).at("OUTPUT0");
  EXPECT_EQ(row.at("status"), "FAIL");
  EXPECT_EQ(row.at("failing_requests"), "2");
  EXPECT_EQ(row.at("worst_request"), "2");
  EXPECT_EQ(row.at("worst_sample"), "2");
}

TEST_F(AccuracyCheckerE2eTest, UsageErrorsExitWithTwo) {
  Result result = Run("-m fastpitch");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("error: --model-repository=DIR is required"));
  result = Run(absl::StrCat("-m no_such_model --model-repository=", repository_->string()));
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("model 'no_such_model' is not in"));
  result = Run("--help");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("usage: accuracy_checker"));
}

}  // namespace
}  // namespace speech
