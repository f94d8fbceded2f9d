#include "tests/harness/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace speech {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& extra_flags, int startup_seconds) {
  auto process = std::unique_ptr<ServerProcess>(new ServerProcess());
  const char* tmp = std::getenv("TEST_TMPDIR");
  char pattern[512];
  snprintf(pattern, sizeof(pattern), "%s/server_XXXXXX.log", tmp != nullptr ? tmp : "/tmp");
  const int log_fd = mkstemps(pattern, 4);
  if (log_fd < 0) return absl::InternalError("cannot create the server log file");
  process->log_path_ = pattern;

  std::vector<std::string> args = {
      binary,          "--grpc-address=127.0.0.1",    "--grpc-port=0",   "--http-address=127.0.0.1",
      "--http-port=0", "--metrics-address=127.0.0.1", "--metrics-port=0"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  process->pid_ = fork();
  if (process->pid_ < 0) return absl::InternalError("fork failed");
  if (process->pid_ == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);

  const std::regex grpc_line(R"(Started GRPCInferenceService at [^\s]*:(\d+))");
  const std::regex http_line(R"(Started HTTPService at [^\s]*:(\d+))");
  const std::regex metrics_line(R"(Started Metrics Service at [^\s]*:(\d+))");
  const absl::Time give_up = absl::Now() + absl::Seconds(startup_seconds);
  while (absl::Now() < give_up) {
    const std::string output = ReadFile(process->log_path_);
    std::smatch match;
    if (std::regex_search(output, match, metrics_line)) {
      (void)absl::SimpleAtoi(match[1].str(), &process->metrics_port_);
    }
    // The server prints the HTTP line before the gRPC one.
    if (std::regex_search(output, match, http_line)) {
      (void)absl::SimpleAtoi(match[1].str(), &process->http_port_);
    }
    if (std::regex_search(output, match, grpc_line)) {
      process->grpc_target_ = absl::StrCat("127.0.0.1:", match[1].str());
      return process;
    }
    int status = 0;
    if (waitpid(process->pid_, &status, WNOHANG) == process->pid_) {
      process->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("the server exited before it was ready:\n", output));
    }
    absl::SleepFor(absl::Milliseconds(50));  // polling a child's log, not synchronising threads
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the server printed no port in ", startup_seconds, " s:\n", process->Output()));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
}

std::string ServerProcess::Output() const { return ReadFile(log_path_); }

int ServerProcess::Stop() {
  Signal(SIGTERM);
  return Wait();
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int ServerProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace speech
