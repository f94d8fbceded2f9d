#include "tests/bench/echo/echo_service.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace speech {
namespace {

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

std::string EchoOutputName(absl::string_view name) {
  const size_t at = name.find("INPUT");
  if (at == absl::string_view::npos) return std::string(name);
  return absl::StrCat(name.substr(0, at), "OUTPUT", name.substr(at + 5));
}

absl::StatusOr<EchoService::Input> ParseEchoInput(absl::string_view text) {
  const std::vector<std::string> parts = absl::StrSplit(text, ':');
  EchoService::Input input;
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected NAME:DATATYPE:D0,D1,...; got \"", text, "\""));
  }
  input.name = parts[0];
  input.datatype = parts[1];
  input.dims.clear();
  for (absl::string_view dim : absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
    int64_t value;
    if (!absl::SimpleAtoi(dim, &value) || value < -1) {
      return absl::InvalidArgumentError(absl::StrCat("bad dimension in \"", text, "\""));
    }
    input.dims.push_back(value);
  }
  return input;
}

grpc::ServerUnaryReactor* EchoService::ModelInfer(grpc::CallbackServerContext* context,
                                                  const inference::ModelInferRequest* request,
                                                  inference::ModelInferResponse* response) {
  response->set_model_name(request->model_name());
  response->set_model_version(request->model_version().empty() ? "1" : request->model_version());
  response->set_id(request->id());
  const bool raw = request->raw_input_contents_size() == request->inputs_size();
  for (int i = 0; i < request->inputs_size(); ++i) {
    const auto& input = request->inputs(i);
    auto* output = response->add_outputs();
    output->set_name(EchoOutputName(input.name()));
    output->set_datatype(input.datatype());
    *output->mutable_shape() = input.shape();
    if (raw) {
      response->add_raw_output_contents(request->raw_input_contents(i));
    } else {
      *output->mutable_contents() = input.contents();
    }
  }
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* EchoService::ModelMetadata(grpc::CallbackServerContext* context,
                                                     const inference::ModelMetadataRequest* request,
                                                     inference::ModelMetadataResponse* response) {
  response->set_name(request->name());
  response->add_versions("1");
  response->set_platform("echo");
  for (const Input& input : options_.inputs) {
    for (bool is_output : {false, true}) {
      auto* tensor = is_output ? response->add_outputs() : response->add_inputs();
      tensor->set_name(is_output ? EchoOutputName(input.name) : input.name);
      tensor->set_datatype(input.datatype);
      if (options_.max_batch_size > 0) tensor->add_shape(-1);
      for (int64_t dim : input.dims) tensor->add_shape(dim);
    }
  }
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* EchoService::ModelConfig(grpc::CallbackServerContext* context,
                                                   const inference::ModelConfigRequest* request,
                                                   inference::ModelConfigResponse* response) {
  auto* config = response->mutable_config();
  config->set_name(request->name());
  config->set_platform("echo");
  config->set_max_batch_size(options_.max_batch_size);
  return FinishNow(context, grpc::Status::OK);
}

}  // namespace speech
