// Transport security of the real speech_server: gRPC over TLS with client-certificate
// verification (--grpc-use-ssl-mutual) and /metrics over HTTPS with the same. Certificates are
// made for the test with Debian's openssl: a CA that signs the server's and one client's
// certificate, and a second, unrelated CA that signs an impostor's. A client with the right
// certificates is served; a plaintext client, a client without a certificate, one whose
// certificate the server's CA did not sign, and one that does not trust the server's CA are not.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <httplib.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// Runs `command` through the shell; its output goes to `log` (read on failure).
void Shell(const std::string& command, const std::filesystem::path& log) {
  const int rc = std::system(absl::StrCat(command, " >>", log.string(), " 2>&1").c_str());
  ASSERT_EQ(rc, 0) << command << "\n" << ReadFile(log);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // httplib's TLS client writes with OpenSSL (write(), not send(MSG_NOSIGNAL)): a server that
    // refuses the handshake must fail the request, not end the test with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    dir_ = new std::filesystem::path(std::filesystem::path(::testing::TempDir()) / "tls");
    std::filesystem::remove_all(*dir_);
    std::filesystem::create_directories(*dir_);
    MakeCertificates();
    if (::testing::Test::HasFatalFailure()) return;
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", kDefaultRepository), "--model-control-mode=explicit",
         "--load-model=identity", "--grpc-use-ssl", "--grpc-server-cert=" + Path("server.pem"),
         "--grpc-server-key=" + Path("server.key"), "--grpc-use-ssl-mutual",
         "--grpc-root-cert=" + Path("ca.pem"), "--metrics-use-ssl",
         "--metrics-server-cert=" + Path("server.pem"),
         "--metrics-server-key=" + Path("server.key"), "--metrics-use-ssl-mutual",
         "--metrics-root-cert=" + Path("ca.pem")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    delete server_;
    server_ = nullptr;
    delete dir_;
  }

  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  // ca signs server and client; other_ca signs impostor. The server's certificate names
  // localhost and 127.0.0.1.
  static void MakeCertificates() {
    const std::filesystem::path log = *dir_ / "openssl.log";
    const std::string req = "openssl req -nodes -newkey rsa:2048 -subj";
    for (const char* ca : {"ca", "other_ca"}) {
      Shell(absl::StrCat(req, " /CN=", ca, " -x509 -days 2 -keyout ", Path(ca), ".key -out ",
                         Path(ca), ".pem"),
            log);
    }
    std::ofstream(*dir_ / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const struct {
      const char* name;
      const char* ca;
    } leaves[] = {{"server", "ca"}, {"client", "ca"}, {"impostor", "other_ca"}};
    for (const auto& leaf : leaves) {
      Shell(absl::StrCat(req, " /CN=", leaf.name, " -keyout ", Path(leaf.name), ".key -out ",
                         Path(leaf.name), ".csr"),
            log);
      Shell(
          absl::StrCat("openssl x509 -req -days 2 -in ", Path(leaf.name), ".csr -CA ",
                       Path(leaf.ca), ".pem -CAkey ", Path(leaf.ca), ".key -CAcreateserial",
                       " -out ", Path(leaf.name), ".pem",
                       std::string(leaf.name) == "server" ? " -extfile " + Path("server.ext") : ""),
          log);
    }
  }

  // A client over TLS that trusts `root` and, when `identity` is not empty, presents the
  // certificate and key `<identity>.pem` / `<identity>.key`.
  static std::unique_ptr<InferenceClient> TlsClient(const std::string& root,
                                                    const std::string& identity) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(Path(root + ".pem"));
    if (!identity.empty()) {
      options.pem_cert_chain = ReadFile(Path(identity + ".pem"));
      options.pem_private_key = ReadFile(Path(identity + ".key"));
    }
    return Client(grpc::SslCredentials(options));
  }

  static std::unique_ptr<InferenceClient> Client(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    auto client = InferenceClient::Create(InferenceClient::Options(),
                                          grpc::CreateChannel(server_->grpc_target(), credentials));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // ServerLive's status: OK when the TLS handshake and the call went through.
  static absl::Status Live(const InferenceClient& client) {
    (void)client.WaitForConnected(absl::Seconds(10));
    return client.ServerLive().status();
  }

  // The metrics endpoint over HTTPS, trusting `root`, presenting `identity` when not empty.
  static httplib::Result Scrape(const std::string& root, const std::string& identity) {
    std::unique_ptr<httplib::SSLClient> client =
        identity.empty()
            ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->metrics_port())
            : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->metrics_port(),
                                                   Path(identity + ".pem"),
                                                   Path(identity + ".key"));
    client->set_ca_cert_path(Path(root + ".pem").c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(10);
    return client->Get("/metrics");
  }

  static std::filesystem::path* dir_;
  static ServerProcess* server_;
};

std::filesystem::path* TlsTest::dir_ = nullptr;
ServerProcess* TlsTest::server_ = nullptr;

TEST_F(TlsTest, ClientWithTheRightCertificatesIsServed) {
  std::unique_ptr<InferenceClient> client = TlsClient("ca", "client");
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(Live(*client).ok()) << Live(*client) << server_->Output();
  absl::StatusOr<bool> ready = client->ModelReady("identity");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(*ready);
  EXPECT_THAT(server_->Output(), HasSubstr("(TLS)"));
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  std::unique_ptr<InferenceClient> client = Client(grpc::InsecureChannelCredentials());
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Live(*client).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ClientWithoutACertificateIsRefused) {
  std::unique_ptr<InferenceClient> client = TlsClient("ca", "");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Live(*client).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ClientWithACertificateFromAnotherCaIsRefused) {
  std::unique_ptr<InferenceClient> client = TlsClient("ca", "impostor");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Live(*client).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ClientThatDoesNotTrustTheServersCaRefusesIt) {
  std::unique_ptr<InferenceClient> client = TlsClient("other_ca", "client");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Live(*client).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, MetricsAreServedOverHttpsToAVerifiedScraperOnly) {
  httplib::Result verified = Scrape("ca", "client");
  ASSERT_TRUE(verified) << httplib::to_string(verified.error());
  EXPECT_EQ(verified->status, 200);
  EXPECT_THAT(verified->body, HasSubstr("nv_inference_request_success"));

  EXPECT_FALSE(Scrape("ca", "")) << "a scraper without a certificate was served";
  EXPECT_FALSE(Scrape("ca", "impostor")) << "a scraper with another CA's certificate was served";
  httplib::Client plain("127.0.0.1", server_->metrics_port());
  plain.set_connection_timeout(10);
  httplib::Result plain_result = plain.Get("/metrics");
  EXPECT_TRUE(!plain_result || plain_result->status != 200) << "plain HTTP was served";
}

}  // namespace
}  // namespace speech
