// perf_analyzer: measures a KServe v2 inference server, over gRPC or HTTP/REST (-i), at a range of
// load levels and reports throughput, latency percentiles and the latency breakdown (see --help).
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "client/perf/transport/http_infer_transport.h"
#include "client/perf/transport/http_model_client.h"
#include "client/perf/transport/infer_transport.h"
#include "client/perf/load_generator.h"
#include "client/perf/perf_flags.h"
#include "client/perf/inputs/perf_inputs.h"
#include "client/perf/report/perf_report.h"
#include "client/perf/profiler.h"
#include "client/perf/report/server_stats.h"

namespace speech {
namespace {

int Fail(const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  return 1;
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Writes the CSV and chart files the flags ask for; returns false (after saying why) on failure.
bool WriteOutputs(const PerfFlags& flags, const std::vector<PerfRow>& rows) {
  bool ok = true;
  if (!flags.csv_file.empty()) {
    absl::Status written = WriteFile(flags.csv_file, FormatCsv(rows, flags.mode));
    if (!written.ok()) ok = Fail(std::string(written.message())) == 0;
  }
  if (!flags.latency_chart_file.empty()) {
    const std::string title =
        absl::StrCat(flags.inputs.model, ": latency vs throughput (", LoadColumnName(flags.mode),
                     ", batch ", flags.inputs.batch_size, ")");
    absl::Status written =
        WriteFile(flags.latency_chart_file, LatencyChartSvg(rows, flags.mode, title));
    if (!written.ok()) ok = Fail(std::string(written.message())) == 0;
  }
  return ok;
}

// The server over the protocol -i chose: what is asked before measuring, the statistics around
// each window, and the transport that measures. Not thread-safe beyond what its parts are.
class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  // OK once the server answers; why not otherwise.
  virtual absl::Status Connect(absl::Duration timeout) = 0;
  virtual absl::StatusOr<inference::ModelMetadataResponse> ModelMetadata(
      const std::string& model, const std::string& version) = 0;
  virtual absl::StatusOr<inference::ModelConfigResponse> ModelConfig(
      const std::string& model, const std::string& version) = 0;
  virtual absl::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
      const std::string& model, const std::string& version) = 0;
  virtual absl::StatusOr<std::unique_ptr<InferTransport>> MakeTransport(const PerfFlags& flags) = 0;
};

class GrpcConnection final : public ServerConnection {
 public:
  explicit GrpcConnection(std::unique_ptr<InferenceClient> client) : client_(std::move(client)) {}
  absl::Status Connect(absl::Duration timeout) override {
    return client_->WaitForConnected(timeout);
  }
  absl::StatusOr<inference::ModelMetadataResponse> ModelMetadata(
      const std::string& model, const std::string& version) override {
    return client_->ModelMetadata(model, version);
  }
  absl::StatusOr<inference::ModelConfigResponse> ModelConfig(const std::string& model,
                                                             const std::string& version) override {
    return client_->ModelConfig(model, version);
  }
  absl::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
      const std::string& model, const std::string& version) override {
    return client_->ModelStatistics(model, version);
  }
  absl::StatusOr<std::unique_ptr<InferTransport>> MakeTransport(const PerfFlags& flags) override {
    GrpcInferTransport::Options options;
    options.request_timeout = flags.request_timeout;
    absl::StatusOr<std::unique_ptr<GrpcInferTransport>> transport =
        GrpcInferTransport::Create(options, client_->channel());
    if (!transport.ok()) return transport.status();
    return std::unique_ptr<InferTransport>(*std::move(transport));
  }

 private:
  const std::unique_ptr<InferenceClient> client_;
};

class HttpConnection final : public ServerConnection {
 public:
  HttpConnection(std::unique_ptr<HttpModelClient> client, std::string url)
      : client_(std::move(client)), url_(std::move(url)) {}
  // One attempt: a refused connection fails at once, as a failed gRPC connection does.
  absl::Status Connect(absl::Duration) override { return client_->CheckLive(); }
  absl::StatusOr<inference::ModelMetadataResponse> ModelMetadata(
      const std::string& model, const std::string& version) override {
    return client_->ModelMetadata(model, version);
  }
  absl::StatusOr<inference::ModelConfigResponse> ModelConfig(const std::string& model,
                                                             const std::string& version) override {
    return client_->ModelConfig(model, version);
  }
  absl::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
      const std::string& model, const std::string& version) override {
    return client_->ModelStatistics(model, version);
  }
  absl::StatusOr<std::unique_ptr<InferTransport>> MakeTransport(const PerfFlags& flags) override {
    HttpInferTransport::Options options;
    options.client.connect_timeout = flags.connect_timeout;
    options.client.io_timeout = flags.request_timeout;
    absl::StatusOr<std::unique_ptr<HttpInferTransport>> transport =
        HttpInferTransport::Create(options, url_);
    if (!transport.ok()) return transport.status();
    return std::unique_ptr<InferTransport>(*std::move(transport));
  }

 private:
  const std::unique_ptr<HttpModelClient> client_;
  const std::string url_;
};

absl::StatusOr<std::unique_ptr<ServerConnection>> MakeConnection(const PerfFlags& flags) {
  if (flags.protocol == Protocol::kHttp) {
    HttpModelClient::Options options;
    // As over gRPC, where these calls have the connect timeout as their deadline.
    options.client.connect_timeout = flags.connect_timeout;
    options.client.io_timeout = flags.connect_timeout;
    absl::StatusOr<std::unique_ptr<HttpModelClient>> client =
        HttpModelClient::Create(options, flags.url);
    if (!client.ok()) return client.status();
    return std::unique_ptr<ServerConnection>(
        std::make_unique<HttpConnection>(*std::move(client), flags.url));
  }
  InferenceClient::Options options;
  options.target = flags.url;
  options.default_deadline = flags.connect_timeout;
  absl::StatusOr<std::unique_ptr<InferenceClient>> client = InferenceClient::Create(options);
  if (!client.ok()) return client.status();
  return std::unique_ptr<ServerConnection>(std::make_unique<GrpcConnection>(*std::move(client)));
}

// The measured model's statistics over the connection's protocol.
class ConnectionStatisticsSource final : public StatisticsSource {
 public:
  ConnectionStatisticsSource(ServerConnection* connection, std::string model, std::string version)
      : connection_(connection), model_(std::move(model)), version_(std::move(version)) {}
  absl::StatusOr<inference::ModelStatistics> Snapshot() override {
    absl::StatusOr<inference::ModelStatisticsResponse> response =
        connection_->ModelStatistics(model_, version_);
    if (!response.ok()) return response.status();
    return FindModelStatistics(*response, model_, version_);
  }

 private:
  ServerConnection* const connection_;
  const std::string model_;
  const std::string version_;
};

// Triton's perf_analyzer names every output over HTTP, each asked for in binary; over gRPC the
// requests name none and get them all (raw).
void AskForEveryOutput(const inference::ModelMetadataResponse& metadata,
                       std::vector<inference::ModelInferRequest>* requests) {
  for (inference::ModelInferRequest& request : *requests) {
    if (!request.outputs().empty()) continue;
    for (const auto& output : metadata.outputs()) request.add_outputs()->set_name(output.name());
  }
}

int Run(const PerfFlags& flags) {
  absl::StatusOr<std::unique_ptr<ServerConnection>> connection = MakeConnection(flags);
  if (!connection.ok()) return Fail(std::string(connection.status().message()));
  ServerConnection& server = **connection;
  absl::Status connected = server.Connect(flags.connect_timeout);
  if (!connected.ok()) {
    return Fail(absl::StrCat("cannot reach the server at ", flags.url, ": ", connected.message()));
  }
  const std::string& model = flags.inputs.model;
  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      server.ModelMetadata(model, flags.inputs.version);
  if (!metadata.ok()) {
    if (metadata.status().code() == absl::StatusCode::kNotFound ||
        metadata.status().code() == absl::StatusCode::kInvalidArgument) {
      return Fail(absl::StrCat("model \"", model, "\" is not available on the server at ",
                               flags.url, ": ", metadata.status().message()));
    }
    return Fail(absl::StrCat("cannot get the metadata of model \"", model, "\" from ", flags.url,
                             ": ", metadata.status().ToString()));
  }
  PerfInputOptions inputs = flags.inputs;
  absl::StatusOr<inference::ModelConfigResponse> config =
      server.ModelConfig(model, flags.inputs.version);
  if (config.ok()) {
    inputs.model_batches = config->config().max_batch_size() > 0;
  } else {
    // Without a config, a leading -1 on every input of rank 2 or more means a batch dimension.
    inputs.model_batches = metadata->inputs_size() > 0;
    for (const auto& input : metadata->inputs()) {
      inputs.model_batches =
          inputs.model_batches && input.shape_size() >= 2 && input.shape(0) == -1;
    }
  }
  absl::StatusOr<std::vector<inference::ModelInferRequest>> requests =
      BuildPerfRequests(*metadata, inputs);
  if (!requests.ok()) return Fail(std::string(requests.status().message()));
  if (flags.protocol == Protocol::kHttp) AskForEveryOutput(*metadata, &*requests);

  absl::StatusOr<std::unique_ptr<InferTransport>> transport = server.MakeTransport(flags);
  if (!transport.ok()) return Fail(std::string(transport.status().message()));
  ConnectionStatisticsSource statistics(&server, model, flags.inputs.version);
  Profiler::Options profiler_options;
  profiler_options.measurement_interval = flags.measurement_interval;
  profiler_options.stability.stability_percentage = flags.stability_percentage;
  profiler_options.stability.latency_percentile = flags.latency_percentile;
  profiler_options.max_trials = flags.max_trials;
  absl::StatusOr<std::unique_ptr<Profiler>> profiler =
      Profiler::Create(profiler_options, &statistics, &std::cerr);
  if (!profiler.ok()) return Fail(std::string(profiler.status().message()));

  std::cout << "*** Measurement Settings ***\n"
            << "  Server: " << flags.url << " (" << ProtocolName(flags.protocol) << ")"
            << "\n  Model: " << model
            << (flags.inputs.version.empty() ? "" : " version " + flags.inputs.version)
            << "\n  Batch size: " << inputs.batch_size
            << "\n  Requests cycled: " << requests->size()
            << "\n  Measurement window: " << absl::ToInt64Milliseconds(flags.measurement_interval)
            << " msec\n"
            << "  Stabilizing on throughput and "
            << (flags.latency_percentile ? absl::StrCat("p", *flags.latency_percentile)
                                         : std::string("average"))
            << " latency within " << flags.stability_percentage << "%, at most " << flags.max_trials
            << " windows\n"
            << std::endl;

  std::vector<PerfRow> rows;
  for (double level : flags.load_levels) {
    LoadGenerator::Options load_options;
    load_options.mode = flags.mode;
    load_options.concurrency = static_cast<int>(level);
    load_options.schedule.requests_per_second = level;
    load_options.schedule.distribution = flags.distribution;
    load_options.schedule.seed = flags.inputs.seed;
    load_options.batch_size = inputs.batch_size;
    absl::StatusOr<std::unique_ptr<LoadGenerator>> load =
        LoadGenerator::Create(load_options, transport->get(), &*requests);
    if (!load.ok()) return Fail(std::string(load.status().message()));
    absl::StatusOr<PerfRow> row =
        (*profiler)->Measure(flags.mode, level, inputs.batch_size, load->get());
    if (!row.ok()) {
      WriteOutputs(flags, rows);
      return Fail(std::string(row.status().message()));
    }
    std::cout << FormatLevelReport(*row, flags.mode) << std::endl;
    rows.push_back(*std::move(row));
  }
  std::cout << "Inferences/Second vs. Client Average Batch Latency (times in usec)\n"
            << FormatSummaryTable(rows, flags.mode) << std::flush;
  return WriteOutputs(flags, rows) ? 0 : 1;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<speech::PerfFlags> flags = speech::ParsePerfFlags(args);
  if (!flags.ok()) {
    std::cerr << "error: " << flags.status().message() << "\n(run with --help for usage)"
              << std::endl;
    return 2;
  }
  if (flags->help) {
    std::cout << speech::PerfUsage();
    return 0;
  }
  return speech::Run(*flags);
}
