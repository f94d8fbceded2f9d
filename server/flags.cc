#include "server/flags.h"

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

struct FlagSpec {
  const char* name;
  const char* help;
  bool is_bool;
  std::function<bool(const std::string& value, ServerFlags* flags)> set;
};

bool SetInt(const std::string& value, int low, int high, int* out) {
  int parsed;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < low || parsed > high) return false;
  *out = parsed;
  return true;
}

bool SetMessageBytes(const std::string& value, int64_t* out) {
  int64_t parsed;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < 1024 || parsed > (int64_t{1} << 31) - 1) {
    return false;
  }
  *out = parsed;
  return true;
}

bool SetLimit(const std::string& value, int64_t* out) {
  int64_t parsed;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < 0) return false;
  *out = parsed;
  return true;
}

bool SetPath(const std::string& value, std::string* out) {
  *out = value;
  return !value.empty();
}

// The flags of one port's TLS agree: certificate and key with TLS, a root with verification.
absl::Status CheckTls(const ServerFlags::Tls& tls, const std::string& prefix) {
  const std::string use = absl::StrCat("--", prefix, "-use-ssl");
  if (!tls.enabled) {
    if (tls.verify_clients) {
      return absl::InvalidArgumentError(absl::StrCat("flag '", use, "-mutual' needs ", use));
    }
    return absl::OkStatus();
  }
  if (tls.server_cert.empty() || tls.server_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("flag '", use, "' needs --", prefix,
                                                   "-server-cert and --", prefix, "-server-key"));
  }
  if (tls.verify_clients && tls.root_cert.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag '", use, "-mutual' needs --", prefix, "-root-cert"));
  }
  return absl::OkStatus();
}

bool SetBool(const std::string& value, bool* out) {
  if (value == "true" || value == "1") return (*out = true), true;
  if (value == "false" || value == "0") return (*out = false), true;
  return false;
}

const std::vector<FlagSpec>& Specs() {
  static const auto* const specs = new std::vector<FlagSpec>{
      {"model-repository",
       "Path of the model repository (<repo>/<model>/config.pbtxt and "
       "<repo>/<model>/<version>/model.pt). Required.",
       false,
       [](const std::string& v, ServerFlags* f) {
         f->model_repository = v;
         return !v.empty();
       }},
      {"grpc-address", "Address the gRPC service binds. Default 0.0.0.0.", false,
       [](const std::string& v, ServerFlags* f) {
         f->grpc_address = v;
         return !v.empty();
       }},
      {"grpc-port",
       "Port of the gRPC service; 0 picks a free one (printed at start). "
       "Default 8001.",
       false,
       [](const std::string& v, ServerFlags* f) { return SetInt(v, 0, 65535, &f->grpc_port); }},
      {"allow-http", "Serve the KServe v2 HTTP/REST endpoint. Default true.", true,
       [](const std::string& v, ServerFlags* f) { return SetBool(v, &f->allow_http); }},
      {"http-address", "Address the HTTP/REST endpoint binds. Default 0.0.0.0.", false,
       [](const std::string& v, ServerFlags* f) {
         f->http_address = v;
         return !v.empty();
       }},
      {"http-port",
       "Port of the HTTP/REST endpoint; 0 picks a free one (printed at start). "
       "Default 8000.",
       false,
       [](const std::string& v, ServerFlags* f) { return SetInt(v, 0, 65535, &f->http_port); }},
      {"http-thread-count",
       "Most threads serving HTTP/REST connections, made as clients "
       "connect. Each open connection holds one while it stays open, so this is how many "
       "clients are served at once. Default 256.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 1, 4096, &f->http_thread_count);
       }},
      {"http-max-body-bytes",
       "Largest HTTP/REST request body accepted (413 beyond). Default: "
       "the value of --grpc-max-message-bytes.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetMessageBytes(v, &f->http_max_body_bytes);
       }},
      {"allow-metrics", "Serve Prometheus metrics. Default true.", true,
       [](const std::string& v, ServerFlags* f) { return SetBool(v, &f->allow_metrics); }},
      {"metrics-address", "Address the metrics HTTP endpoint binds. Default 0.0.0.0.", false,
       [](const std::string& v, ServerFlags* f) {
         f->metrics_address = v;
         return !v.empty();
       }},
      {"metrics-port",
       "Port of the metrics HTTP endpoint (/metrics); 0 picks a free one. "
       "Default 8002.",
       false,
       [](const std::string& v, ServerFlags* f) { return SetInt(v, 0, 65535, &f->metrics_port); }},
      {"exit-timeout-secs",
       "On SIGINT/SIGTERM, how long in-flight requests may take to finish "
       "before the server exits anyway. Default 30.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 0, 24 * 3600, &f->exit_timeout_secs);
       }},
      {"drain-period-secs",
       "On SIGINT/SIGTERM, how long the server keeps serving after it "
       "reports NOT_SERVING (grpc.health.v1) and not ready, so that a load balancer moves traffic "
       "away first; then it refuses new requests with UNAVAILABLE and finishes the accepted ones "
       "within --exit-timeout-secs. A second signal exits at once. Default 0.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 0, 3600, &f->drain_period_secs);
       }},
      {"heap-release-interval-ms",
       "How often the server gives the heap pages that freed tensors leave behind back to the "
       "kernel (malloc_trim), so that its resident memory follows what it uses instead of "
       "creeping up with the lengths it has seen. 0: never. Default 5000.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 0, 3600 * 1000, &f->heap_release_interval_ms);
       }},
      {"malloc-arena-max",
       "Most glibc malloc arenas the server's threads share: fewer arenas reuse freed tensor "
       "memory sooner, so the resident peak stays flat (BENCHMARKS.md, \"Soak\"). "
       "MALLOC_ARENA_MAX in the environment wins. 0: glibc's choice (8 per core). Default 2.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 0, 1024, &f->malloc_arena_max);
       }},
      {"malloc-mmap-threshold-mb",
       "Tensors below this many MiB are allocated from glibc's heap, whose freed memory is "
       "reused without page faults, rather than from pages mapped afresh for each batch "
       "(BENCHMARKS.md, \"Page faults\"); --heap-release-interval-ms gives the heap back. "
       "MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ in the environment wins. 0: glibc's "
       "choice (a threshold that moves with what was freed). At most 2047. Default 1024.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 0, 2047, &f->malloc_mmap_threshold_mb);
       }},
      {"onednn-primitive-cache",
       "How many compiled kernels oneDNN (LibTorch's CPU convolutions) keeps, one per input "
       "shape: batches of speech come in many shapes, and a cache smaller than their number "
       "recompiles kernels on every batch (BENCHMARKS.md, \"oneDNN's primitive cache\"). "
       "ONEDNN_PRIMITIVE_CACHE_CAPACITY in the environment wins. 0: oneDNN's default (1024). "
       "At most 1048576. Default 8192.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 0, 1 << 20, &f->onednn_primitive_cache);
       }},
      {"grpc-max-message-bytes", "Largest gRPC message accepted or sent. Default 268435456.", false,
       [](const std::string& v, ServerFlags* f) {
         return SetMessageBytes(v, &f->grpc_max_message_bytes);
       }},
      {"max-input-elements",
       "Most elements one input of an inference request may have, batch rows included; "
       "beyond, the request fails with INVALID_ARGUMENT before it is decoded. 0: no limit. "
       "Default 67108864.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetLimit(v, &f->limits.max_input_elements);
       }},
      {"max-request-elements",
       "Most elements all inputs of one inference request may have together (INVALID_ARGUMENT "
       "beyond). 0: no limit. Default 134217728.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetLimit(v, &f->limits.max_request_elements);
       }},
      {"max-queued-bytes-per-model",
       "Most input bytes the accepted, not yet answered requests of one model version may hold; "
       "a request that would pass it fails at once with RESOURCE_EXHAUSTED (retryable). 0: no "
       "limit. Default 1073741824.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetLimit(v, &f->limits.max_queued_bytes_per_model);
       }},
      {"model-control-mode",
       "How the served models may change after start-up: 'none' (the "
       "repository is read once), 'poll' (model directories that appear, change or go away are "
       "loaded, reloaded or unloaded every --repository-poll-secs), or 'explicit' (only the "
       "--load-model models load at start; RepositoryModelLoad/Unload change the set). "
       "Default none.",
       false,
       [](const std::string& v, ServerFlags* f) {
         f->model_control_mode = v;
         return v == "none" || v == "poll" || v == "explicit";
       }},
      {"load-model",
       "With --model-control-mode=explicit, a model to load at start-up; "
       "repeatable; '*' loads every model.",
       false,
       [](const std::string& v, ServerFlags* f) {
         f->load_models.push_back(v);
         return !v.empty();
       }},
      {"repository-poll-secs",
       "With --model-control-mode=poll, seconds between polls of the "
       "model repository (1 or more). Default 15.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetInt(v, 1, 24 * 3600, &f->repository_poll_secs);
       }},
      {"grpc-use-ssl",
       "Serve gRPC over TLS with --grpc-server-cert and --grpc-server-key. Default false.", true,
       [](const std::string& v, ServerFlags* f) { return SetBool(v, &f->grpc_tls.enabled); }},
      {"grpc-server-cert", "With --grpc-use-ssl, the server's PEM certificate (chain) file.", false,
       [](const std::string& v, ServerFlags* f) { return SetPath(v, &f->grpc_tls.server_cert); }},
      {"grpc-server-key", "With --grpc-use-ssl, the server's PEM private key file.", false,
       [](const std::string& v, ServerFlags* f) { return SetPath(v, &f->grpc_tls.server_key); }},
      {"grpc-root-cert",
       "With --grpc-use-ssl-mutual, the PEM file of the CA certificates that sign client "
       "certificates.",
       false,
       [](const std::string& v, ServerFlags* f) { return SetPath(v, &f->grpc_tls.root_cert); }},
      {"grpc-use-ssl-mutual",
       "With --grpc-use-ssl, require a client certificate signed by --grpc-root-cert. "
       "Default false.",
       true,
       [](const std::string& v, ServerFlags* f) {
         return SetBool(v, &f->grpc_tls.verify_clients);
       }},
      {"metrics-use-ssl",
       "Serve /metrics over HTTPS with --metrics-server-cert and --metrics-server-key. "
       "Default false.",
       true,
       [](const std::string& v, ServerFlags* f) { return SetBool(v, &f->metrics_tls.enabled); }},
      {"metrics-server-cert", "With --metrics-use-ssl, the server's PEM certificate (chain) file.",
       false,
       [](const std::string& v, ServerFlags* f) {
         return SetPath(v, &f->metrics_tls.server_cert);
       }},
      {"metrics-server-key", "With --metrics-use-ssl, the server's PEM private key file.", false,
       [](const std::string& v, ServerFlags* f) { return SetPath(v, &f->metrics_tls.server_key); }},
      {"metrics-root-cert",
       "With --metrics-use-ssl-mutual, the PEM file of the CA certificates that sign scrapers' "
       "client certificates.",
       false,
       [](const std::string& v, ServerFlags* f) { return SetPath(v, &f->metrics_tls.root_cert); }},
      {"metrics-use-ssl-mutual",
       "With --metrics-use-ssl, require a client certificate signed by --metrics-root-cert. "
       "Default false.",
       true,
       [](const std::string& v, ServerFlags* f) {
         return SetBool(v, &f->metrics_tls.verify_clients);
       }},
      {"help", "Print this help and exit.", true,
       [](const std::string& v, ServerFlags* f) { return SetBool(v, &f->help); }},
  };
  return *specs;
}

}  // namespace

absl::StatusOr<ServerFlags> ParseServerFlags(const std::vector<std::string>& args) {
  ServerFlags flags;
  bool http_max_body_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'; flags look like --name=value"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& candidate : Specs()) {
      if (name == candidate.name) spec = &candidate;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '--", name, "'; see --help"));
    }
    if (!has_value) {
      const bool next_is_value = i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--");
      if (spec->is_bool) {
        // "--allow-metrics false" as well as "--allow-metrics" and "--allow-metrics=false".
        value =
            next_is_value && (args[i + 1] == "true" || args[i + 1] == "false") ? args[++i] : "true";
      } else if (next_is_value) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag '--", name, "' needs a value"));
      }
    }
    if (!spec->set(value, &flags)) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag '--", name, "': bad value '", value, "'. ", spec->help));
    }
    http_max_body_given |= name == "http-max-body-bytes";
  }
  if (!http_max_body_given) flags.http_max_body_bytes = flags.grpc_max_message_bytes;
  if (absl::Status tls = CheckTls(flags.grpc_tls, "grpc"); !tls.ok()) return tls;
  if (absl::Status tls = CheckTls(flags.metrics_tls, "metrics"); !tls.ok()) return tls;
  if (!flags.load_models.empty() && flags.model_control_mode != "explicit") {
    return absl::InvalidArgumentError(
        absl::StrCat("flag '--load-model' needs --model-control-mode=explicit; the mode is '",
                     flags.model_control_mode, "', which loads every model"));
  }
  if (!flags.help && flags.model_repository.empty()) {
    return absl::InvalidArgumentError("flag '--model-repository' is required; see --help");
  }
  return flags;
}

std::string ServerUsage() {
  std::string text =
      "speech_server: a KServe v2 (gRPC and HTTP/REST) inference server for TorchScript speech "
      "models.\n\n"
      "Usage: speech_server --model-repository=PATH [flags]\n\nFlags:\n";
  for (const FlagSpec& spec : Specs()) {
    absl::StrAppend(&text, "  --", spec.name, spec.is_bool ? "[=true|false]" : "=VALUE", "\n      ",
                    spec.help, "\n");
  }
  return text;
}

}  // namespace speech
