// The real thing: Debian's Prometheus scrapes the real speech_server every 100 ms while we send
// load; then PromQL over its HTTP API must see exactly the requests sent and sane quantiles from
// our histograms (histogram_quantile over rate(..._bucket) summed by le, as dashboards do).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/metrics_scrape.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

// A port nobody listens on right now (the kernel's pick for port 0).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// /usr/bin/prometheus as a child process, stopped with SIGTERM.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& dir, int scrape_port) : dir_(dir) {
    port_ = FreePort();
    std::ofstream(dir + "/prometheus.yml") << "global:\n"
                                              "  scrape_interval: 100ms\n"
                                              "  scrape_timeout: 100ms\n"
                                              "scrape_configs:\n"
                                              "  - job_name: speech\n"
                                              "    static_configs:\n"
                                              "      - targets: ['127.0.0.1:"
                                           << scrape_port << "']\n";
    std::vector<std::string> args = {"/usr/bin/prometheus",
                                     "--config.file=" + dir + "/prometheus.yml",
                                     "--storage.tsdb.path=" + dir + "/data",
                                     absl::StrCat("--web.listen-address=127.0.0.1:", port_)};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log = dir + "/prometheus.log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::fopen(log.c_str(), "w");
      if (out != nullptr) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(out), STDERR_FILENO);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  ~PrometheusProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  int port() const { return port_; }

  std::string Log() const {
    std::ifstream stream(dir_ + "/prometheus.log");
    return std::string((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  }

  // The value of `query` now; an error when Prometheus is down or the result is empty.
  absl::StatusOr<double> Query(const std::string& query) const {
    auto reply = HttpGet(port_, "/api/v1/query", {{"query", query}});
    if (!reply.ok()) return reply.status();
    return QueryValue(reply->body);
  }

  // Polls `query` (these are waits on another process, not thread synchronisation) until
  // `done(value)` or `timeout`; returns the last value seen.
  template <typename Done>
  absl::StatusOr<double> WaitFor(const std::string& query, Done done,
                                 absl::Duration timeout = absl::Seconds(60)) const {
    const absl::Time give_up = absl::Now() + timeout;
    absl::StatusOr<double> value = absl::UnavailableError("not asked yet");
    while (absl::Now() < give_up) {
      value = Query(query);
      if (value.ok() && done(*value)) return value;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return value;
  }

 private:
  const std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Every query of the Grafana dashboard parses, evaluates and finds series (a misspelt metric
// name finds none). The GPU panels are the exception on a host without GPUs: their metrics are
// Triton's nv_gpu_* names, which the server exports only per GPU that NVML reports.
void CheckDashboardQueries(const PrometheusProcess& prometheus, int metrics_port) {
  std::ifstream stream("deploy/grafana/speech-server.json");
  const std::string dashboard((std::istreambuf_iterator<char>(stream)),
                              std::istreambuf_iterator<char>());
  ASSERT_FALSE(dashboard.empty());
  auto scrape = HttpGet(metrics_port, "/metrics", {});
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  const bool has_gpus = absl::StrContains(scrape->body, "\nnv_gpu_utilization{");
  const std::regex expr_pattern(R"re("expr": "((?:[^"\\]|\\.)*)")re");
  const std::regex gpu_metric(R"re(\bnv_gpu_[a-z_]+)re");
  int checked = 0;
  for (std::sregex_iterator it(dashboard.begin(), dashboard.end(), expr_pattern), end; it != end;
       ++it) {
    std::string expr = absl::StrReplaceAll((*it)[1].str(), {{"\\\"", "\""}, {"\\\\", "\\"}});
    expr = absl::StrReplaceAll(expr, {{"$model", ".*"}, {"$__rate_interval", "1m"}});
    auto reply = HttpGet(prometheus.port(), "/api/v1/query", {{"query", expr}});
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 200) << expr << "\n" << reply->body;
    const bool empty = absl::StrContains(reply->body, "\"result\":[]");
    if (std::regex_search(expr, gpu_metric) && !has_gpus) {
      for (std::sregex_iterator name(expr.begin(), expr.end(), gpu_metric), none; name != none;
           ++name) {
        EXPECT_THAT((*name).str(), ::testing::AnyOf("nv_gpu_utilization", "nv_gpu_memory_used_bytes",
                                                    "nv_gpu_memory_total_bytes"));
      }
    } else {
      EXPECT_FALSE(empty) << "no series for the dashboard query " << expr;
    }
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST(PrometheusTest, ScrapesExactCountersAndSaneQuantiles) {
  auto server = ServerProcess::Start("server/speech_server",
                                     {absl::StrCat("--model-repository=", kDefaultRepository)});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->metrics_port(), 0);
  const char* tmp = std::getenv("TEST_TMPDIR");
  PrometheusProcess prometheus(tmp != nullptr ? tmp : "/tmp", (*server)->metrics_port());
  ASSERT_GT(prometheus.port(), 0);

  // Prometheus is up and has scraped the idle server at least once, so that the load below is
  // an increase that rate() sees.
  auto up = prometheus.WaitFor("up{job=\"speech\"}", [](double v) { return v == 1; });
  ASSERT_TRUE(up.ok() && *up == 1) << up.status() << "\n" << prometheus.Log();
  auto seen =
      prometheus.WaitFor("count_over_time(nv_inference_request_success{model=\"identity\"}[1m])",
                         [](double v) { return v >= 2; });
  ASSERT_TRUE(seen.ok()) << seen.status();

  auto client = InferenceClient::Create(InferenceClient::Options{(*server)->grpc_target()});
  ASSERT_TRUE(client.ok()) << client.status();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto input = GenerateInput("INPUT0", "FP32", {1, 16 + (t + i) % 8}, FillMode::kRandom,
                                   static_cast<uint64_t>(t * 1000 + i), 1, 100);
        if (!input.ok()) continue;
        if ((*client)->Infer(MakeInferRequest("identity", "", {*input}, {})).ok()) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(ok.load(), kThreads * kPerThread);
  constexpr int kBad = 5;
  for (int i = 0; i < kBad; ++i) {
    auto input = GenerateInput("INPUT0", "INT32", {1, 4}, FillMode::kZeros, 0, 0, 0);
    ASSERT_TRUE(input.ok());
    EXPECT_FALSE((*client)->Infer(MakeInferRequest("identity", "", {*input}, {})).ok());
  }

  const int sent = kThreads * kPerThread;
  auto success = prometheus.WaitFor("sum(nv_inference_request_success{model=\"identity\"})",
                                    [sent](double v) { return v == sent; });
  ASSERT_TRUE(success.ok()) << success.status();
  EXPECT_EQ(*success, sent);
  auto failed =
      prometheus.WaitFor("sum(nv_inference_request_failure{model=\"identity\",reason=\"OTHER\"})",
                         [](double v) { return v == kBad; });
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(*failed, kBad);

  auto rows = prometheus.Query("sum(nv_inference_count{model=\"identity\"})");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, sent);
  auto executions = prometheus.Query("sum(nv_inference_exec_count{model=\"identity\"})");
  auto batches = prometheus.Query("sum(speech_batch_size_count{model=\"identity\"})");
  auto batched_rows = prometheus.Query("sum(speech_batch_size_sum{model=\"identity\"})");
  ASSERT_TRUE(executions.ok() && batches.ok() && batched_rows.ok());
  EXPECT_GE(*executions, 1);
  EXPECT_LE(*executions, sent);
  EXPECT_EQ(*batches, *executions);
  EXPECT_EQ(*batched_rows, sent);
  auto histogram_count =
      prometheus.Query("sum(speech_request_duration_seconds_count{model=\"identity\"})");
  ASSERT_TRUE(histogram_count.ok());
  EXPECT_EQ(*histogram_count, sent);

  // Quantiles as the dashboard computes them: finite, within the buckets, ordered.
  for (const char* phase :
       {"request", "queue", "compute_input", "compute_infer", "compute_output"}) {
    double previous = 0;
    for (const char* q : {"0.5", "0.9", "0.99"}) {
      const std::string query =
          absl::StrCat("histogram_quantile(", q, ", sum by (le) (rate(speech_", phase,
                       "_duration_seconds_bucket{model=\"identity\"}[1m])))");
      auto value = prometheus.Query(query);
      ASSERT_TRUE(value.ok()) << query << ": " << value.status();
      EXPECT_TRUE(std::isfinite(*value)) << query;
      EXPECT_GE(*value, 0) << query;
      EXPECT_LE(*value, 10) << query;
      EXPECT_GE(*value, previous) << query;
      previous = *value;
    }
  }
  auto batch_p50 = prometheus.Query(
      "histogram_quantile(0.5, sum by (le) "
      "(rate(speech_batch_size_bucket{model=\"identity\"}[1m])))");
  ASSERT_TRUE(batch_p50.ok()) << batch_p50.status();
  EXPECT_GE(*batch_p50, 0);
  EXPECT_LE(*batch_p50, 64);  // identity's max_batch_size

  CheckDashboardQueries(prometheus, (*server)->metrics_port());

  client->reset();
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->Output();
}

}  // namespace
}  // namespace speech
