// Variable-length batching seen from outside: fifty espeak-ng utterances for wav2vec 2.0 and
// fifty sentences for FastPitch, of varied lengths, sent by 16 concurrent real gRPC clients to
// the real server. Every reply equals the reply to the same request sent alone (so no reply
// depends on the requests it was batched with), and short utterances, where batching pays on
// this hardware, were batched: the server ran fewer executions than requests.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/espeak.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

constexpr int kClients = 16;

// The largest difference over the largest magnitude of the reference (0 for equal tensors).
double RelativeError(const HostTensor& got, const HostTensor& want) {
  const std::vector<float> a = AsVector<float>(got);
  const std::vector<float> b = AsVector<float>(want);
  double diff = 0;
  double scale = 1e-12;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

class RaggedBatchingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = std::getenv("TEST_TMPDIR");
    const std::vector<std::string>& sentences = TestSentences();
    for (size_t i = 0; i < sentences.size(); ++i) {
      // Varied voices and speeds, as users speak.
      absl::StatusOr<std::vector<float>> audio =
          Speak(sentences[i], absl::StrCat(dir, "/utterance", i, ".wav"), 16000,
                i % 3 == 0   ? "en-us"
                : i % 3 == 1 ? "en"
                             : "en-us+f3",
                140 + 10 * (i % 5));
      ASSERT_TRUE(audio.ok()) << audio.status();
      HostTensor tensor{"AUDIO", "FP32", {1, static_cast<int64_t>(audio->size())}, ""};
      tensor.bytes.assign(reinterpret_cast<const char*>(audio->data()),
                          audio->size() * sizeof(float));
      requests_->push_back(MakeInferRequest("wav2vec2", "", {tensor}, {}));
    }
    for (const std::string& sentence : sentences) {
      // Symbol ids from the characters (the text front-end is not part of this test).
      std::vector<int64_t> ids;
      for (unsigned char c : sentence) ids.push_back(1 + c % 147);
      HostTensor tensor{"INPUT__0", "INT64", {1, static_cast<int64_t>(ids.size())}, ""};
      tensor.bytes.assign(reinterpret_cast<const char*>(ids.data()), ids.size() * 8);
      requests_->push_back(MakeInferRequest("fastpitch", "", {tensor}, {}));
    }
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    delete server_;
    server_ = nullptr;
  }

  static std::unique_ptr<InferenceClient> Client() {
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  static absl::StatusOr<std::vector<HostTensor>> Send(InferenceClient& client, size_t i) {
    absl::StatusOr<inference::ModelInferResponse> response = client.Infer((*requests_)[i]);
    if (!response.ok()) return response.status();
    return OutputsFromResponse(*response);
  }

  static inference::InferStatistics Statistics(const std::string& model, int64_t* executions,
                                               int64_t* inferences) {
    auto stats = Client()->ModelStatistics(model);
    EXPECT_TRUE(stats.ok()) << stats.status();
    *executions = stats->model_stats(0).execution_count();
    *inferences = stats->model_stats(0).inference_count();
    return stats->model_stats(0).inference_stats();
  }

  static inline std::vector<inference::ModelInferRequest>* requests_ =
      new std::vector<inference::ModelInferRequest>();
  static inline ServerProcess* server_ = nullptr;
  static inline int64_t executions_after_ = 0;
  static inline int64_t inferences_after_ = 0;
};

TEST_F(RaggedBatchingTest, ConcurrentRepliesEqualLoneRepliesAndShortUtterancesBatch) {
  const size_t count = requests_->size();
  ASSERT_GE(count, 100u);
  // Alone: one client, one request at a time.
  std::vector<std::vector<HostTensor>> alone(count);
  std::unique_ptr<InferenceClient> client = Client();
  for (size_t i = 0; i < count; ++i) {
    auto outputs = Send(*client, i);
    ASSERT_TRUE(outputs.ok()) << i << ": " << outputs.status();
    alone[i] = *std::move(outputs);
  }
  int64_t executions_before, inferences_before;
  Statistics("wav2vec2", &executions_before, &inferences_before);

  // Together: 16 clients on one model at a time (the utterances, then the sentences), each
  // taking every 16th request of it in a shuffled order, twice over.
  std::vector<std::vector<std::vector<HostTensor>>> together(count);
  std::vector<std::string> failures;
  absl::Mutex mu;
  const size_t half = count / 2;  // utterances first, sentences second
  for (size_t begin : {size_t{0}, half}) {
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c, begin] {
        std::unique_ptr<InferenceClient> own = Client();
        for (int round = 0; round < 2; ++round) {
          for (size_t k = c; k < half; k += kClients) {
            const size_t i = begin + (k * 37 + round * 11) % half;  // a fixed shuffle
            auto outputs = Send(*own, i);
            absl::MutexLock lock(&mu);
            if (!outputs.ok()) {
              failures.push_back(absl::StrCat(i, ": ", outputs.status().ToString()));
            } else {
              together[i].push_back(*std::move(outputs));
            }
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    if (begin == 0) Statistics("wav2vec2", &executions_after_, &inferences_after_);
  }
  ASSERT_THAT(failures, ::testing::IsEmpty());

  size_t compared = 0;
  for (size_t i = 0; i < count; ++i) {
    for (const std::vector<HostTensor>& outputs : together[i]) {
      ASSERT_EQ(outputs.size(), alone[i].size()) << i;
      for (size_t j = 0; j < outputs.size(); ++j) {
        SCOPED_TRACE(absl::StrCat("request ", i, " output ", outputs[j].name));
        ASSERT_EQ(outputs[j].shape, alone[i][j].shape);
        if (outputs[j].datatype == "FP32") {
          EXPECT_LE(RelativeError(outputs[j], alone[i][j]), 1e-4);
        } else {
          EXPECT_EQ(outputs[j].bytes, alone[i][j].bytes);
        }
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 2 * count);

  // Longer utterances gave more frames: the replies were cut to each request's own length.
  const std::vector<HostTensor>& stop = alone[0];       // "Stop."
  const std::vector<HostTensor>& long_one = alone[46];  // the long office message
  EXPECT_LT(stop[0].shape[1], long_one[0].shape[1]);

  const int64_t executions = executions_after_ - executions_before;
  const int64_t inferences = inferences_after_ - inferences_before;
  EXPECT_EQ(inferences, 2 * static_cast<int64_t>(count / 2));
  if (executions >= inferences) {
    // What the batcher started from, for the failure message.
    std::string costs;
    for (absl::string_view line : absl::StrSplit(server_->Output(), '\n')) {
      if (absl::StrContains(line, "measured batch cost")) absl::StrAppend(&costs, line, "\n");
    }
    ADD_FAILURE() << "the short utterances were never batched: " << executions << " executions for "
                  << inferences << " requests\n"
                  << costs;
  }
}

}  // namespace
}  // namespace speech
