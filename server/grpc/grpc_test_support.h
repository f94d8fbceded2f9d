// Shared by server/grpc's tests: a fixture serving fake models on a loopback port; a call observer.
#ifndef SPEECH_SERVER_GRPC_GRPC_TEST_SUPPORT_H_
#define SPEECH_SERVER_GRPC_GRPC_TEST_SUPPORT_H_

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/core/inference_core.h"
#include "server/grpc/inference_service.h"
#include "server/grpc/reactor_handoff.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "tests/fakes/fake_instance_factory.h"

namespace speech {

inline constexpr char kIdentity[] = "identity";  // batches up to 8 rows of FP32 [4]
inline constexpr char kNoBatch[] = "nobatch";    // one INT32 [2] per request
inline constexpr int64_t kWarmupRows = 8;  // the default warm-up runs one batch of max_batch_size
inline constexpr char kServerName[] = "test-server";
inline constexpr char kServerVersion[] = "9.8.7";

// Client metadata naming a call, so that the test can follow it on the server.
inline constexpr char kCallTagKey[] = "x-test-call";
// How long a test waits for the server to do something before counting it as never done: far
// beyond any scheduling delay, and only spent in full when the test fails.
inline constexpr absl::Duration kServerWait = absl::Seconds(10);

inline constexpr char kIdentityConfig[] = R"pb(
  name: "identity"
  platform: "pytorch_libtorch"
  max_batch_size: 8
  input {
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
)pb";

inline constexpr char kNoBatchConfig[] = R"pb(
  backend: "pytorch"
  input {
    name: "INPUT0"
    data_type: TYPE_INT32
    dims: [ 2 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_INT32
    dims: [ 2 ]
  }
)pb";

// Of a platform this server does not serve: the model fails to load.
inline constexpr char kBrokenConfig[] = R"pb(
  platform: "onnxruntime_onnx"
  input {
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
)pb";

// What the server did with each call the test tagged: request messages received, whether it saw
// the call cancelled, and the status it sent. Thread-safe.
class CallObserver {
 public:
  void Received(const std::string& tag) {
    absl::MutexLock lock(&mu_);
    ++calls_[tag].received;
  }
  void Cancelled(const std::string& tag) {
    absl::MutexLock lock(&mu_);
    calls_[tag].cancelled = true;
  }
  void Sent(const std::string& tag, grpc::Status status) {
    absl::MutexLock lock(&mu_);
    calls_[tag].sent = std::move(status);
  }

  // Each waits until the event has happened, for at most `timeout`; false (or nullopt) if not.
  bool WaitForReceived(const std::string& tag, int count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return calls_[tag].received >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  bool WaitForCancelled(const std::string& tag, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return calls_[tag].cancelled; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  std::optional<grpc::Status> WaitForSent(const std::string& tag, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return calls_[tag].sent.has_value(); };
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    return calls_[tag].sent;
  }

 private:
  struct Call {
    int received = 0;
    bool cancelled = false;
    std::optional<grpc::Status> sent;
  };

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Call> calls_ ABSL_GUARDED_BY(mu_);
};

inline void WriteModel(const std::filesystem::path& repository, const std::string& name,
                       const std::string& config) {
  std::filesystem::create_directories(repository / name / "1");
  std::ofstream(repository / name / "config.pbtxt") << config;
  std::ofstream(repository / name / "1" / "model.pt") << "any bytes: the fake never reads them";
}

inline std::string FloatBytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// `rows` rows of FP32 [4] for the identity model, with values that differ from row to row.
inline inference::ModelInferRequest IdentityRequest(const std::string& id, int64_t rows) {
  inference::ModelInferRequest request;
  request.set_model_name(kIdentity);
  request.set_id(id);
  inference::ModelInferRequest::InferInputTensor* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(rows);
  input->add_shape(4);
  std::vector<float> values(rows * 4);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.25f * static_cast<float>(i) + rows;
  request.add_raw_input_contents(FloatBytes(values));
  return request;
}

// Expects `response` to answer `request` (to the identity model) with its input as output.
inline void ExpectEcho(const inference::ModelInferRequest& request,
                       const inference::ModelInferResponse& response) {
  EXPECT_EQ(response.model_name(), kIdentity);
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(response.id(), request.id());
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "OUTPUT0");
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(request.inputs(0).shape(0), 4));
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_EQ(response.raw_output_contents(0), request.raw_input_contents(0));
}

// A ModelInfer call the test starts and waits for.
struct PendingCall {
  grpc::ClientContext context;
  inference::ModelInferRequest request;
  inference::ModelInferResponse response;
  grpc::Status status;
  absl::Notification done;
};

// Serves a model repository on fake instances; each test gets a fresh repository and server.
class InferenceServiceTest : public ::testing::Test {
 protected:
  using Stub = inference::GRPCInferenceService::Stub;

  void SetUp() override {
    const std::filesystem::path repository = NewRepositoryPath();
    WriteModel(repository, kIdentity, kIdentityConfig);
    WriteModel(repository, kNoBatch, kNoBatchConfig);
    ASSERT_NO_FATAL_FAILURE(Serve(repository));
  }

  void TearDown() override {
    // Held executions would keep calls (and so the server's shutdown) waiting for ever.
    factory_.Release(kIdentity);
    factory_.Release(kNoBatch);
    for (const std::unique_ptr<PendingCall>& call : pending_) call->done.WaitForNotification();
    if (server_ != nullptr) server_->Shutdown();
    if (repository_ != nullptr) repository_->Shutdown();
  }

  // A directory of its own under the test's temporary directory, empty.
  static std::filesystem::path NewRepositoryPath() {
    const std::filesystem::path path =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat("repository_", getpid(), "_",
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    return path;
  }

  // Loads `repository` on `factory_` and serves it on a loopback port to `stub_`, with
  // `observer_` told of every tagged call. Defined in grpc_test_support.cc.
  void Serve(const std::filesystem::path& repository);

  // A blocking unary call.
  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) {
    grpc::ClientContext context;
    return (stub_.get()->*method)(&context, request, response);
  }

  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response) {
    return Call(&Stub::ModelInfer, request, response);
  }

  // Starts ModelInfer tagged `tag`, with a deadline `timeout` from now when it is finite.
  PendingCall* StartInfer(inference::ModelInferRequest request, const std::string& tag,
                          absl::Duration timeout = absl::InfiniteDuration()) {
    pending_.push_back(std::make_unique<PendingCall>());
    PendingCall* call = pending_.back().get();
    call->request = std::move(request);
    call->context.AddMetadata(kCallTagKey, tag);
    if (timeout != absl::InfiniteDuration()) {
      call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    }
    // The call is written on gRPC's thread, which got it through gRPC's core.
    HandOffToGrpc(call);
    stub_->async()->ModelInfer(&call->context, &call->request, &call->response,
                               [call](grpc::Status status) {
                                 TakeBackFromGrpc(call);
                                 call->status = std::move(status);
                                 call->done.Notify();
                               });
    return call;
  }

  // Declared so that the server goes first and the observer last.
  CallObserver observer_;
  FakeInstanceFactory factory_;
  std::unique_ptr<MetricsCatalog> catalog_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferenceCore> core_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Stub> stub_;
  std::vector<std::unique_ptr<PendingCall>> pending_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_GRPC_TEST_SUPPORT_H_
