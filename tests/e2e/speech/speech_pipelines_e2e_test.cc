// The speech pipelines seen from outside: the real server and its `tts` (TEXT -> AUDIO) and `asr`
// (AUDIO -> TRANSCRIPT) ensembles, driven by 16 concurrent real gRPC clients. On the default
// repository every reply equals the reply to the same request sent alone, and bad text and bad
// audio are refused with INVALID_ARGUMENT naming the problem while the server goes on; on the
// same models batching by Triton's rules, replies equal lone replies too and every composing
// model forms batches; an ensemble wired wrongly fails to load, naming the step and the tensor,
// while the others serve.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/inference_client.h"
#include "client/speech/speech_pipelines.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/espeak.h"
#include "tests/harness/server_fixture.h"

namespace speech {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kClients = 16;
// Batched audio may differ from lone audio by float rounding (other kernels for other shapes).
constexpr double kRelativeTolerance = 1e-4;

// The largest difference over the largest magnitude of `want` (0 for equal vectors).
double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0;
  double scale = 1e-12;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  return diff / scale;
}

// What ModelStatistics says of one model, as counts that can be subtracted.
struct Counts {
  int64_t inferences = 0;
  int64_t executions = 0;
  int64_t successes = 0;
  int64_t failures = 0;
  std::map<int64_t, int64_t> executions_by_batch_size;

  // What happened between `before` and this.
  Counts Since(const Counts& before) const {
    Counts delta{inferences - before.inferences,
                 executions - before.executions,
                 successes - before.successes,
                 failures - before.failures,
                 {}};
    for (const auto& [size, count] : executions_by_batch_size) {
      auto it = before.executions_by_batch_size.find(size);
      const int64_t earlier = it == before.executions_by_batch_size.end() ? 0 : it->second;
      if (count > earlier) delta.executions_by_batch_size[size] = count - earlier;
    }
    return delta;
  }

  int64_t LargestBatch() const {
    return executions_by_batch_size.empty() ? 0 : executions_by_batch_size.rbegin()->first;
  }

  std::string ToString() const {
    std::string sizes;
    for (const auto& [size, count] : executions_by_batch_size) {
      absl::StrAppend(&sizes, " ", size, "x", count);
    }
    return absl::StrCat(inferences, " inferences, ", executions, " executions, ", successes,
                        " ok, ", failures, " failed; batch size x executions:", sizes);
  }
};

std::string ReadText(const fs::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Puts the default repository's `model` into `root` with `config_suffix` after its config: the
// weights linked, an ensemble's empty version directory made.
void CopyModel(const fs::path& root, const std::string& model,
               const std::string& config_suffix = "") {
  const fs::path source = fs::path(kDefaultRepository) / model;
  fs::create_directories(root / model / "1");
  std::ofstream(root / model / "config.pbtxt")
      << ReadText(source / "config.pbtxt") << config_suffix;
  if (fs::exists(source / "1" / "model.pt")) {
    fs::create_symlink(fs::absolute(source / "1" / "model.pt"), root / model / "1" / "model.pt");
  }
}

// A server serving both pipelines, and what the tests send it: sixteen sentences of every length
// the test list has (from "Stop." to the long office message) and espeak-ng speaking them.
class PipelineServerTest : public RealServerTest {
 protected:
  static void MakeInputs() {
    if (!texts_->empty()) return;
    const std::vector<std::string>& sentences = TestSentences();
    const std::string dir = std::getenv("TEST_TMPDIR");
    for (size_t i = 0; i < kClients; ++i) {
      const std::string& sentence = sentences[i + 1 < kClients ? 3 * i : 46];
      texts_->push_back(sentence);
      absl::StatusOr<std::vector<float>> audio =
          Speak(sentence, absl::StrCat(dir, "/utterance", i, ".wav"), kAsrSampleRate,
                i % 2 == 0 ? "en-us" : "en-us+f3", 150 + 10 * (i % 4));
      ASSERT_TRUE(audio.ok()) << audio.status();
      utterances_->push_back(*std::move(audio));
    }
  }

  static void TearDownTestSuite() { StopServer(); }

  static std::unique_ptr<InferenceClient> NewClient() {
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  static absl::StatusOr<std::vector<float>> Synthesize(const InferenceClient& client,
                                                       const std::string& text) {
    absl::StatusOr<inference::ModelInferResponse> response =
        client.Infer(MakeTtsRequest("tts", "", text, /*want_mel=*/false));
    if (!response.ok()) return response.status();
    absl::StatusOr<TtsReply> reply = ReadTtsReply(*response, /*want_mel=*/false);
    if (!reply.ok()) return reply.status();
    return std::move(reply->audio);
  }

  static absl::StatusOr<std::string> Transcribe(const InferenceClient& client,
                                                const std::vector<float>& audio) {
    absl::StatusOr<inference::ModelInferResponse> response =
        client.Infer(MakeAsrRequest("asr", "", audio));
    if (!response.ok()) return response.status();
    return ReadTranscript(*response);
  }

  static Counts CountsOf(const std::string& model) {
    auto stats = client_->ModelStatistics(model);
    EXPECT_TRUE(stats.ok()) << model << ": " << stats.status();
    Counts counts;
    if (!stats.ok() || stats->model_stats_size() != 1) return counts;
    const inference::ModelStatistics& model_stats = stats->model_stats(0);
    counts.inferences = static_cast<int64_t>(model_stats.inference_count());
    counts.executions = static_cast<int64_t>(model_stats.execution_count());
    counts.successes = static_cast<int64_t>(model_stats.inference_stats().success().count());
    counts.failures = static_cast<int64_t>(model_stats.inference_stats().fail().count());
    for (const inference::InferBatchStatistics& batch : model_stats.batch_stats()) {
      counts.executions_by_batch_size[static_cast<int64_t>(batch.batch_size())] +=
          static_cast<int64_t>(batch.compute_infer().count());
    }
    return counts;
  }

  // Runs `send(client, i)` for i in [0, kClients) on kClients threads with a client each, every
  // thread sending its own item and then its neighbour's, so that each item is sent twice
  // concurrently. Returns each item's results (two when nothing failed) and the failures.
  template <typename Result, typename Send>
  static std::vector<std::vector<Result>> Concurrently(Send send,
                                                       std::vector<std::string>* failures) {
    std::vector<std::vector<Result>> results(kClients);
    absl::Mutex mu;
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        std::unique_ptr<InferenceClient> own = NewClient();
        for (int i : {c, (c + 1) % kClients}) {
          absl::StatusOr<Result> result = send(*own, i);
          absl::MutexLock lock(&mu);
          if (result.ok()) {
            results[i].push_back(*std::move(result));
          } else {
            failures->push_back(absl::StrCat(i, ": ", result.status().ToString()));
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return results;
  }

  // The ensemble `models[0]` and its steps `models[1...]` each ran every one of the 2 x kClients
  // requests sent since `before`, and the steps in `must_batch` formed a batch of 2 or more.
  static void ExpectEveryStepRanEveryRequest(const std::map<std::string, Counts>& before,
                                             const std::vector<std::string>& models,
                                             const std::vector<std::string>& must_batch) {
    for (const std::string& model : models) {
      const Counts delta = CountsOf(model).Since(before.at(model));
      SCOPED_TRACE(absl::StrCat(model, ": ", delta.ToString()));
      std::cout << model << ": " << delta.ToString() << "\n";
      EXPECT_EQ(delta.inferences, 2 * kClients);
      EXPECT_EQ(delta.successes, 2 * kClients);
      EXPECT_EQ(delta.failures, 0);
      if (std::find(must_batch.begin(), must_batch.end(), model) != must_batch.end()) {
        EXPECT_GT(delta.LargestBatch(), 1) << "no batch was formed";
      }
    }
  }

  // 16 clients speak 16 sentences twice each: every audio equals the sentence's lone audio.
  static void ExpectConcurrentTtsEqualsLoneTts(const std::vector<std::string>& must_batch) {
    std::vector<std::vector<float>> alone;
    for (const std::string& text : *texts_) {
      absl::StatusOr<std::vector<float>> audio = Synthesize(*client_, text);
      ASSERT_TRUE(audio.ok()) << text << ": " << audio.status();
      alone.push_back(*std::move(audio));
    }
    const std::vector<std::string> models = {"tts", "tts_frontend", "fastpitch", "hifigan"};
    std::map<std::string, Counts> before;
    for (const std::string& model : models) before[model] = CountsOf(model);

    std::vector<std::string> failures;
    const std::vector<std::vector<std::vector<float>>> together = Concurrently<std::vector<float>>(
        [](const InferenceClient& client, int i) { return Synthesize(client, (*texts_)[i]); },
        &failures);
    ASSERT_THAT(failures, ::testing::IsEmpty());
    for (int i = 0; i < kClients; ++i) {
      SCOPED_TRACE((*texts_)[i]);
      ASSERT_EQ(together[i].size(), 2u);
      for (const std::vector<float>& audio : together[i]) {
        ASSERT_EQ(audio.size(), alone[i].size());
        EXPECT_LE(RelativeError(audio, alone[i]), kRelativeTolerance);
      }
    }
    ExpectEveryStepRanEveryRequest(before, models, must_batch);

    // Longer text, longer audio.
    const size_t stop = 0;
    const size_t fox = 10;
    const size_t office = kClients - 1;
    ASSERT_EQ((*texts_)[stop], "Stop.");
    ASSERT_EQ((*texts_)[fox], "The quick brown fox jumps over the lazy dog.");
    ASSERT_THAT((*texts_)[office], ::testing::StartsWith("Call the office"));
    EXPECT_LT(alone[stop].size(), alone[fox].size());
    EXPECT_LT(alone[fox].size(), alone[office].size());
    EXPECT_GT(alone[office].size(), 5 * alone[stop].size());
  }

  // 16 clients transcribe 16 utterances twice each: every transcript equals the lone one.
  static void ExpectConcurrentAsrEqualsLoneAsr(const std::vector<std::string>& must_batch) {
    std::vector<std::string> alone;
    for (const std::vector<float>& audio : *utterances_) {
      absl::StatusOr<std::string> transcript = Transcribe(*client_, audio);
      ASSERT_TRUE(transcript.ok()) << transcript.status();
      alone.push_back(*std::move(transcript));
    }
    const std::vector<std::string> models = {"asr", "wav2vec2", "ctc_decoder"};
    std::map<std::string, Counts> before;
    for (const std::string& model : models) before[model] = CountsOf(model);

    std::vector<std::string> failures;
    const std::vector<std::vector<std::string>> together = Concurrently<std::string>(
        [](const InferenceClient& client, int i) { return Transcribe(client, (*utterances_)[i]); },
        &failures);
    ASSERT_THAT(failures, ::testing::IsEmpty());
    for (int i = 0; i < kClients; ++i) {
      SCOPED_TRACE((*texts_)[i]);
      EXPECT_THAT(together[i], ::testing::ElementsAre(alone[i], alone[i]));
    }
    ExpectEveryStepRanEveryRequest(before, models, must_batch);
    // The random weights' transcripts are nonsense, but longer speech gives more of it.
    EXPECT_LT(alone[0].size(), alone[kClients - 1].size());
  }

  // A request that must still succeed after a bad one.
  static void ExpectStillServing() {
    absl::StatusOr<std::vector<float>> audio = Synthesize(*client_, "Still here.");
    EXPECT_TRUE(audio.ok()) << audio.status();
    absl::StatusOr<std::string> transcript = Transcribe(*client_, (*utterances_)[0]);
    EXPECT_TRUE(transcript.ok()) << transcript.status();
  }

  static inline std::vector<std::string>* texts_ = new std::vector<std::string>();
  static inline std::vector<std::vector<float>>* utterances_ =
      new std::vector<std::vector<float>>();
};

// The default repository as it is. Steps with padded inputs batch only where the costs measured
// at load say a batch pays, which on two cores is a close call for FastPitch, HiFi-GAN and
// wav2vec 2.0 and rarely so for the CTC decoder (with random weights nearly every frame writes a
// letter, and strings are built row by row): only the front-end, batched by Triton's rules, must
// batch here. The batches each step formed are printed.
class SpeechPipelinesTest : public PipelineServerTest {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NO_FATAL_FAILURE(MakeInputs());
    StartServer(kDefaultRepository);
  }
};

TEST_F(SpeechPipelinesTest, ConcurrentTtsEqualsLoneTts) {
  ExpectConcurrentTtsEqualsLoneTts({"tts_frontend"});
}

TEST_F(SpeechPipelinesTest, ConcurrentAsrEqualsLoneAsr) { ExpectConcurrentAsrEqualsLoneAsr({}); }

// INVALID_ARGUMENT (never INTERNAL) with a message matching every matcher given, and the server
// serves on.
#define EXPECT_REFUSED(result, ...)                                             \
  do {                                                                          \
    const absl::Status status_ = (result).status();                             \
    EXPECT_EQ(status_.code(), absl::StatusCode::kInvalidArgument) << status_;   \
    EXPECT_THAT(std::string(status_.message()), AllOf(__VA_ARGS__)) << status_; \
    ExpectStillServing();                                                       \
  } while (false)

TEST_F(SpeechPipelinesTest, BadTextIsRefusedNamingTheProblem) {
  const Counts before = CountsOf("tts");
  EXPECT_REFUSED(Synthesize(*client_, ""), HasSubstr("model 'tts': input 'TEXT'"),
                 HasSubstr("element 0 has 0 bytes, below the minimum 1"));
  // Nothing of it is in FastPitch's symbol set: the front-end gives no symbols, and FastPitch's
  // step refuses an empty sequence.
  EXPECT_REFUSED(Synthesize(*client_, "\u65e5\u672c\u8a9e ### \u00b6"),
                 HasSubstr("step 1 (model 'fastpitch')"), HasSubstr("input 'INPUT__0'"),
                 HasSubstr("expected at least 1 element"));
  EXPECT_REFUSED(Synthesize(*client_, "caf\xc3(\xa9"), HasSubstr("input 'TEXT'"),
                 HasSubstr("element 0 is not valid UTF-8 (byte 3)"));
  EXPECT_REFUSED(Synthesize(*client_, std::string(513, 'a')), HasSubstr("input 'TEXT'"),
                 HasSubstr("element 0 has 513 bytes, above the maximum 512"));
  // The longest text allowed is spoken.
  const absl::StatusOr<std::vector<float>> longest = Synthesize(*client_, std::string(512, 'a'));
  EXPECT_TRUE(longest.ok()) << longest.status();
  const Counts delta = CountsOf("tts").Since(before);
  EXPECT_EQ(delta.failures, 4) << delta.ToString();
}

TEST_F(SpeechPipelinesTest, BadAudioIsRefusedNamingTheProblem) {
  const Counts before = CountsOf("asr");
  EXPECT_REFUSED(Transcribe(*client_, {}), HasSubstr("model 'asr': input 'AUDIO'"),
                 HasSubstr("is 0, below the minimum 400"));
  std::vector<float> audio = (*utterances_)[1];
  audio[77] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_REFUSED(Transcribe(*client_, audio), HasSubstr("input 'AUDIO'"),
                 HasSubstr("element 77 is nan; expected finite values"));
  audio[77] = 0;
  audio[5] = -std::numeric_limits<float>::infinity();
  EXPECT_REFUSED(Transcribe(*client_, audio), HasSubstr("element 5 is -inf"));
  // wav2vec 2.0's feature encoder needs 400 samples (25 ms) for its first frame.
  EXPECT_REFUSED(Transcribe(*client_, std::vector<float>(399, 0.1f)),
                 HasSubstr("is 399, below the minimum 400"));
  EXPECT_TRUE(Transcribe(*client_, std::vector<float>(400, 0.1f)).ok());
  const Counts delta = CountsOf("asr").Since(before);
  EXPECT_EQ(delta.failures, 4) << delta.ToString();
}

TEST_F(SpeechPipelinesTest, UnspeakableTextFailsOnlyItsOwnRequestInABatch) {
  // The front-end batches the unspeakable texts with the good ones; only they fail.
  std::vector<std::string> failures;
  const std::vector<std::vector<std::vector<float>>> results = Concurrently<std::vector<float>>(
      [](const InferenceClient& client, int i) {
        return Synthesize(client, i % 2 == 0 ? (*texts_)[i] : std::string("###"));
      },
      &failures);
  EXPECT_EQ(failures.size(), static_cast<size_t>(kClients));
  for (const std::string& failure : failures) {
    EXPECT_THAT(failure, AllOf(HasSubstr("INVALID_ARGUMENT"), HasSubstr("model 'fastpitch'"),
                               Not(HasSubstr("INTERNAL"))));
  }
  for (int i = 0; i < kClients; i += 2) EXPECT_EQ(results[i].size(), 2u) << i;
}

// The default repository with every padded step batching by Triton's rules (parameter
// batch_cost_model "false": arrival order, up to the preferred or maximum size within the queue
// delay), so that every step forms batches under 16 clients, of any mix of lengths.
class TritonBatchingPipelinesTest : public PipelineServerTest {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NO_FATAL_FAILURE(MakeInputs());
    const fs::path root = fs::path(std::getenv("TEST_TMPDIR")) / "triton_batching";
    const std::string triton_rules =
        "parameters {\n  key: \"batch_cost_model\"\n  value { string_value: \"false\" }\n}\n";
    for (const char* model : {"fastpitch", "hifigan", "wav2vec2", "ctc_decoder"}) {
      CopyModel(root, model, triton_rules);
    }
    for (const char* model : {"tts_frontend", "tts", "asr"}) CopyModel(root, model);
    StartServer(root.string());
  }
};

TEST_F(TritonBatchingPipelinesTest, ConcurrentTtsEqualsLoneTtsAndEveryStepBatches) {
  ExpectConcurrentTtsEqualsLoneTts({"tts_frontend", "fastpitch", "hifigan"});
}

TEST_F(TritonBatchingPipelinesTest, ConcurrentAsrEqualsLoneAsrAndEveryStepBatches) {
  ExpectConcurrentAsrEqualsLoneAsr({"wav2vec2", "ctc_decoder"});
}

// A repository holding the asr chain and ensembles wired wrongly in three ways.
class BrokenEnsembleTest : public RealServerTest {
 protected:
  static void SetUpTestSuite() {
    const fs::path root = fs::path(std::getenv("TEST_TMPDIR")) / "ensembles";
    for (const char* model : {"wav2vec2", "ctc_decoder", "asr"}) CopyModel(root, model);
    const std::string asr = ReadText(fs::path(kDefaultRepository) / "asr" / "config.pbtxt");
    AddEnsemble(root, "asr_missing_model",
                Replace(asr, "model_name: \"ctc_decoder\"", "model_name: \"decoder\""));
    AddEnsemble(
        root, "asr_missing_tensor",
        Replace(asr, "key: \"LOGITS\"\n        value: \"logits\"\n      }\n      output_map",
                "key: \"LOGITS\"\n        value: \"features\"\n      }\n      output_map"));
    // The decoder reads wav2vec 2.0's frame counts (INT64) where it takes logits (FP32).
    AddEnsemble(root, "asr_type_mismatch",
                Replace(asr, "key: \"LOGITS\"\n        value: \"logits\"",
                        "key: \"FRAMES\"\n        value: \"logits\""));
    StartServer(root.string());
  }

  static void TearDownTestSuite() { StopServer(); }

  static void AddEnsemble(const fs::path& root, const std::string& name, std::string config) {
    fs::create_directories(root / name / "1");
    std::ofstream(root / name / "config.pbtxt")
        << Replace(std::move(config), "name: \"asr\"", absl::StrCat("name: \"", name, "\""));
  }

  // The index entry of `name` as "STATE: reason".
  static std::string StateOf(const std::string& name) {
    auto index = client_->RepositoryIndex();
    EXPECT_TRUE(index.ok()) << index.status();
    if (!index.ok()) return "";
    for (const auto& model : index->models()) {
      if (model.name() == name) return absl::StrCat(model.state(), ": ", model.reason());
    }
    return "not listed";
  }
};

TEST_F(BrokenEnsembleTest, EachWiringErrorNamesTheStepAndTheTensorAndTheRestServe) {
  EXPECT_THAT(StateOf("asr_missing_model"),
              AllOf(HasSubstr("UNAVAILABLE: "), HasSubstr("step 1 (model 'decoder')"),
                    HasSubstr("'decoder'")));
  EXPECT_THAT(StateOf("asr_missing_tensor"),
              AllOf(HasSubstr("UNAVAILABLE: "), HasSubstr("step 1 (model 'ctc_decoder')"),
                    HasSubstr("input 'LOGITS' reads ensemble tensor 'features'")));
  EXPECT_THAT(StateOf("asr_type_mismatch"),
              AllOf(HasSubstr("UNAVAILABLE: "), HasSubstr("step 1 (model 'ctc_decoder')"),
                    HasSubstr("input 'LOGITS' is TYPE_FP32"), HasSubstr("'logits'"),
                    HasSubstr("TYPE_INT64")));
  for (const char* model : {"asr", "wav2vec2", "ctc_decoder"}) {
    EXPECT_EQ(StateOf(model), "READY: ") << model;
  }
  std::vector<float> audio(16000);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = 0.1f * std::sin(0.05f * i);
  absl::StatusOr<inference::ModelInferResponse> response =
      client_->Infer(MakeAsrRequest("asr", "", audio));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(ReadTranscript(*response).ok());
  const absl::Status unloaded =
      client_->Infer(MakeAsrRequest("asr_type_mismatch", "", audio)).status();
  EXPECT_EQ(unloaded.code(), absl::StatusCode::kNotFound) << unloaded;
  EXPECT_THAT(std::string(unloaded.message()), HasSubstr("'asr_type_mismatch'"));
}

}  // namespace
}  // namespace speech
