// End to end: the perf_analyzer binary against the real speech_server (default repository) and
// against the echo server, over real gRPC (and, against the server, HTTP/REST) on loopback: its
// CSV, its consistency (Little's law: throughput x average latency ~ concurrency), and its plain
// failures.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

constexpr char kAnalyzer[] = "client/perf/perf_analyzer";
constexpr char kHeader[] =
    "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
    "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,"
    "p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait";

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Result RunAnalyzer(const std::vector<std::string>& args) {
  const std::string command = absl::StrCat(kAnalyzer, " ", absl::StrJoin(args, " "), " 2>&1");
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

std::string TempPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Checks the CSV at `path` has the header and one consistent row per concurrency in `levels`.
// Inferences/s counts rows, so requests/s is that over `batch_size`.
void ExpectConsistentCsv(const std::string& path, const std::vector<int>& levels,
                         int batch_size = 1) {
  const std::vector<std::string> lines = absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), levels.size() + 1) << ReadFile(path);
  EXPECT_EQ(lines[0], kHeader);
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::vector<std::string> cells = absl::StrSplit(lines[i + 1], ',');
    ASSERT_EQ(cells.size(), 16u) << lines[i + 1];
    std::vector<double> v(cells.size());
    for (size_t c = 0; c < cells.size(); ++c) {
      ASSERT_TRUE(absl::SimpleAtod(cells[c], &v[c])) << lines[i + 1];
      EXPECT_GE(v[c], 0) << lines[i + 1];
    }
    EXPECT_EQ(v[0], levels[i]);
    const double throughput = v[1], p50 = v[9], p90 = v[10], p95 = v[11], p99 = v[12];
    const double average_us = v[13];
    EXPECT_GT(throughput, 0);
    EXPECT_LE(p50, p90);
    EXPECT_LE(p90, p95);
    EXPECT_LE(p95, p99);
    // The columns split the average latency (each is rounded to a microsecond).
    double columns = 0;
    for (int c = 2; c <= 8; ++c) columns += v[c];
    EXPECT_NEAR(columns, average_us, 8) << lines[i + 1];
    // Little's law, generously: the loop's own time between requests is outside the latency.
    const double in_flight = throughput / batch_size * average_us * 1e-6;
    EXPECT_GT(in_flight, 0.4 * levels[i]) << lines[i + 1];
    EXPECT_LT(in_flight, 1.1 * levels[i]) << lines[i + 1];
  }
}

class PerfAnalyzerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ServerProcess::Start("server/speech_server",
                                       {absl::StrCat("--model-repository=", kDefaultRepository)});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Stop();
    delete server_;
    server_ = nullptr;
  }
  static ServerProcess* server_;
};

ServerProcess* PerfAnalyzerTest::server_ = nullptr;

TEST_F(PerfAnalyzerTest, ConcurrencyRangeOnIdentityWritesConsistentCsvAndChart) {
  const std::string csv = TempPath("identity.csv");
  const std::string svg = TempPath("identity.svg");
  const Result result =
      RunAnalyzer({"-m", "identity", "-u", server_->grpc_target(), "--shape", "INPUT0:256",
                   "--concurrency-range=1:2", "--measurement-interval-ms=500", "--max-trials=3",
                   "-f", csv, "--latency-chart=" + svg});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("Request concurrency: 2"));
  EXPECT_THAT(result.output, HasSubstr("window 1/3"));  // progress
  ExpectConsistentCsv(csv, {1, 2});
  EXPECT_THAT(ReadFile(svg), HasSubstr("</svg>"));
}

// -i http: the same measurement over the KServe v2 REST endpoint, with the model's metadata,
// configuration and statistics read over it too.
TEST_F(PerfAnalyzerTest, ConcurrencyRangeOnIdentityOverHttp) {
  ASSERT_GT(server_->http_port(), 0) << server_->Output();
  const std::string url = absl::StrCat("127.0.0.1:", server_->http_port());
  const std::string csv = TempPath("identity_http.csv");
  const Result result = RunAnalyzer({"-m", "identity", "-i", "http", "-u", url, "--shape",
                                     "INPUT0:256", "--concurrency-range=1:2",
                                     "--measurement-interval-ms=500", "--max-trials=3", "-f", csv});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(absl::StrCat("Server: ", url, " (http)")));
  EXPECT_THAT(result.output, HasSubstr("Request concurrency: 2"));
  // Statistics came over HTTP: the server counted the executions.
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("no ModelStatistics")));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("no server executions counted")));
  ExpectConsistentCsv(csv, {1, 2});
}

TEST_F(PerfAnalyzerTest, UnknownModelOverHttpFailsPlainly) {
  const Result result =
      RunAnalyzer({"-m", "no_such_model", "-i", "http", "-u",
                   absl::StrCat("127.0.0.1:", server_->http_port()), "-p", "200"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("error: model \"no_such_model\" is not available"));
}

TEST_F(PerfAnalyzerTest, OfflineBatchOnFastPitch) {
  const std::string csv = TempPath("fastpitch.csv");
  const Result result = RunAnalyzer({"-m", "fastpitch", "-u", server_->grpc_target(), "-b", "4",
                                     "--length-range=20:40", "-p", "500", "-r", "3", "-f", csv});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("batch size 4"));
  ExpectConsistentCsv(csv, {1}, /*batch_size=*/4);
}

TEST_F(PerfAnalyzerTest, UnknownModelFailsPlainly) {
  const Result result =
      RunAnalyzer({"-m", "no_such_model", "-u", server_->grpc_target(), "-p", "200"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("error: model \"no_such_model\" is not available"));
}

TEST_F(PerfAnalyzerTest, LevelWhereEveryRequestFailsFailsPlainly) {
  // fastpitch takes at most 8 rows per request, so every request of 16 rows fails.
  const Result result = RunAnalyzer({"-m", "fastpitch", "-u", server_->grpc_target(), "-b", "16",
                                     "--length=10", "-p", "200", "-r", "3"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("error: every request failed at Concurrency 1"));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("infer/sec")));
}

TEST(PerfAnalyzerStandaloneTest, UnreachableServerFailsPlainly) {
  const Result result = RunAnalyzer(
      {"-m", "identity", "-u", "127.0.0.1:1", "--connect-timeout-ms=2000", "-p", "200"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("error: cannot reach the server at 127.0.0.1:1"));
}

TEST(PerfAnalyzerStandaloneTest, UnreachableHttpServerFailsPlainly) {
  const Result result = RunAnalyzer({"-m", "identity", "-i", "http", "-u", "127.0.0.1:1",
                                     "--connect-timeout-ms=2000", "-p", "200"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("error: cannot reach the server at 127.0.0.1:1"));
}

TEST(PerfAnalyzerStandaloneTest, BadFlagsExitTwoAndHelpDocumentsFlags) {
  EXPECT_EQ(RunAnalyzer({"-m", "x", "--concurrency-range=0"}).exit_code, 2);
  const Result protocol = RunAnalyzer({"-m", "x", "-i", "rest"});
  EXPECT_EQ(protocol.exit_code, 2);
  EXPECT_THAT(protocol.output, HasSubstr("must be grpc or http; got \"rest\""));
  const Result help = RunAnalyzer({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("--concurrency-range"));
}

TEST(PerfAnalyzerStandaloneTest, DrivesTheEchoServerUnchanged) {
  auto echo = ServerProcess::Start("tests/bench/echo/echo_server", {});
  ASSERT_TRUE(echo.ok()) << echo.status();
  const std::string csv = TempPath("echo.csv");
  const Result result =
      RunAnalyzer({"-m", "identity", "-u", (*echo)->grpc_target(), "--shape", "INPUT0:256",
                   "--concurrency-range=2", "-p", "300", "-r", "3", "-f", csv});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("no ModelStatistics (UNIMPLEMENTED)"));
  ExpectConsistentCsv(csv, {2});
  EXPECT_EQ((*echo)->Stop(), 0) << (*echo)->Output();
}

}  // namespace
}  // namespace speech
