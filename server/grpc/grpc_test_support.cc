// The fixture's server set-up and the interceptor it installs to report tagged calls.
#include "server/grpc/grpc_test_support.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/core/inference_core.h"
#include "server/grpc/inference_service.h"
#include "server/grpc/reactor_handoff.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"

namespace speech {
namespace {

// Reports a tagged call's server-side events to the observer. gRPC runs one call's hooks one at a
// time, the initial metadata first.
class ObservingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ObservingInterceptor(CallObserver* observer, grpc::experimental::ServerRpcInfo* info)
      : observer_(observer), info_(info) {}
  ~ObservingInterceptor() override { TakeBackFromGrpc(this); }

  // gRPC runs the hooks one after another, on whichever of its threads is at hand.
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    TakeBackFromGrpc(this);
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      const auto* metadata = methods->GetRecvInitialMetadata();
      auto it = metadata->find(kCallTagKey);
      if (it != metadata->end()) tag_.assign(it->second.data(), it->second.size());
    }
    if (!tag_.empty()) {
      if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) &&
          methods->GetRecvMessage() != nullptr) {
        observer_->Received(tag_);
      }
      if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
        observer_->Sent(tag_, methods->GetSendStatus());
      }
      // gRPC marks the call cancelled before it runs this hook.
      if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_CLOSE) &&
          info_->server_context()->IsCancelled()) {
        observer_->Cancelled(tag_);
      }
    }
    HandOffToGrpc(this);
    methods->Proceed();
  }

 private:
  CallObserver* const observer_;
  grpc::experimental::ServerRpcInfo* const info_;
  std::string tag_;
};

class ObservingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ObservingInterceptorFactory(CallObserver* observer) : observer_(observer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ObservingInterceptor(observer_, info);
  }

 private:
  CallObserver* const observer_;
};

}  // namespace

void InferenceServiceTest::Serve(const std::filesystem::path& repository) {
  MetricsCatalog::Options metrics_options;
  metrics_options.gpu_metrics = false;
  absl::StatusOr<std::unique_ptr<MetricsCatalog>> catalog = MetricsCatalog::Create(metrics_options);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  catalog_ = *std::move(catalog);

  ModelRepository::Options options;
  options.instances = &factory_;
  options.metrics = catalog_.get();
  absl::StatusOr<std::unique_ptr<ModelRepository>> loaded =
      ModelRepository::Load(repository.string(), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  repository_ = *std::move(loaded);

  InferenceCore::Options core_options;
  core_options.server_name = kServerName;
  core_options.server_version = kServerVersion;
  core_ = std::make_unique<InferenceCore>(repository_.get(), core_options);
  service_ = std::make_unique<InferenceService>(core_.get());

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> observers;
  observers.push_back(std::make_unique<ObservingInterceptorFactory>(&observer_));
  builder.experimental().SetInterceptorCreators(std::move(observers));
  server_ = builder.BuildAndStart();
  ASSERT_NE(server_, nullptr);
  ASSERT_NE(port, 0);
  stub_ = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
}

}  // namespace speech
