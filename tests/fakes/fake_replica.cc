#include "tests/fakes/fake_replica.h"

#include <chrono>
#include <utility>

#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_callback.h"

namespace speech {

class FakeReplica::Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit Service(FakeReplica* replica) : replica_(replica) {}

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override {
    ++replica_->infer_calls_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    switch (replica_->mode_.load()) {
      case Mode::kServe:
        break;
      case Mode::kRefuse:
        reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake replica refuses"));
        return reactor;
      case Mode::kRefuseAfterHeaders:
        // Metadata of its own keeps gRPC from folding the headers into a Trailers-Only reply.
        context->AddInitialMetadata("fake-replica", "refusing");
        reactor->StartSendInitialMetadata();
        reactor->Finish(
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake replica refuses after headers"));
        return reactor;
    }
    response->set_model_name(request->model_name());
    for (int i = 0; i < request->inputs_size(); ++i) {
      auto* output = response->add_outputs();
      output->set_name(request->inputs(i).name());
      output->set_datatype(request->inputs(i).datatype());
      *output->mutable_shape() = request->inputs(i).shape();
      if (i < request->raw_input_contents_size()) {
        response->add_raw_output_contents(request->raw_input_contents(i));
      }
    }
    ++replica_->served_;
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  FakeReplica* const replica_;
};

FakeReplica::FakeReplica() : service_(std::make_unique<Service>(this)) {}

FakeReplica::~FakeReplica() { Shutdown(); }

std::unique_ptr<FakeReplica> FakeReplica::Start() {
  std::unique_ptr<FakeReplica> replica(new FakeReplica());
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(replica->service_.get());
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  replica->server_ = builder.BuildAndStart();
  if (replica->server_ == nullptr || port == 0) return nullptr;
  replica->address_ = "127.0.0.1:" + std::to_string(port);
  return replica;
}

void FakeReplica::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

}  // namespace speech
