// echo_server: serves EchoService (the benchmarks' bare gRPC floor) until SIGINT or SIGTERM.
// Prints "Started GRPCInferenceService at ADDR:PORT" like speech_server, and accepts the flags
// tests/server_process.h passes (the metrics ones are ignored: there are no metrics).
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/command_line.h"
#include "tests/bench/echo/echo_service.h"

namespace speech {
namespace {

constexpr char kUsage[] = R"(usage: echo_server [flags]

A bare gRPC C++ callback KServe v2 service whose ModelInfer echoes the inputs back (INPUTn ->
OUTPUTn, same bytes), with minimal ModelMetadata and ModelConfig answers for any model name.

  --grpc-address=ADDR      Address to bind (default 0.0.0.0).
  --grpc-port=PORT         Port to bind; 0 picks a free one (default 8001).
  --input=NAME:TYPE:DIMS   An input the metadata announces, dims without the batch dimension
                           (repeatable; default INPUT0:FP32:-1, the identity model's).
  --max-batch-size=N       What the config reports (default 64).
  --grpc-max-message-bytes=N
                           Largest message (default 268435456).
  --metrics-address, --metrics-port, --model-repository, --allow-metrics, --http-address,
  --http-port, --allow-http
                           Accepted and ignored, for drop-in use in place of speech_server.
)";

int Run(const CommandLine& args) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EchoService::Options options;
  if (args.Has("input")) options.inputs.clear();
  for (const std::string& text : args.GetAll("input")) {
    absl::StatusOr<EchoService::Input> input = ParseEchoInput(text);
    if (!input.ok()) {
      std::cerr << "error: --input: " << input.status().message() << std::endl;
      return 2;
    }
    options.inputs.push_back(*input);
  }
  absl::StatusOr<int64_t> batch = args.GetInt("max-batch-size", 64);
  absl::StatusOr<int64_t> port = args.GetInt("grpc-port", 8001);
  absl::StatusOr<int64_t> max_bytes = args.GetInt("grpc-max-message-bytes", 256 << 20);
  for (const auto* value : {&batch, &port, &max_bytes}) {
    if (!value->ok()) {
      std::cerr << "error: " << value->status().message() << std::endl;
      return 2;
    }
  }
  options.max_batch_size = static_cast<int>(*batch);
  const std::string address = args.GetString("grpc-address", "0.0.0.0");

  EchoService service(options);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(absl::StrCat(address, ":", *port), grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(*max_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(*max_bytes));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    std::cerr << "error: cannot listen on " << address << ":" << *port << std::endl;
    return 1;
  }
  std::cout << "Started GRPCInferenceService at " << address << ":" << bound_port << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  const std::vector<std::string> raw(argv + 1, argv + argc);
  speech::CommandLine::Spec spec;
  spec.value_flags = {
      "grpc-address",           "grpc-port",       "input",        "max-batch-size",
      "grpc-max-message-bytes", "metrics-address", "metrics-port", "model-repository",
      "allow-metrics",          "http-address",    "http-port",    "allow-http"};
  spec.bool_flags = {"help"};
  absl::StatusOr<speech::CommandLine> args = speech::CommandLine::Parse(raw, spec);
  if (!args.ok()) {
    std::cerr << "error: " << args.status().message() << std::endl;
    return 2;
  }
  if (args->GetBool("help")) {
    std::cout << speech::kUsage;
    return 0;
  }
  return speech::Run(*args);
}
