"""Checks the container images and Kubernetes manifests against the real server.

The server's flags and defaults come from `speech_server --help`; the metrics it exports from a
real scrape of its /metrics (plus the GPU gauges, which only a host with NVML exports, named in
the executable). The manifests are rendered with `kubectl kustomize`, the alerts checked
with `promtool check rules`, the HAProxy configuration with `haproxy -c`. The GPU host recipe's
list of speech_server's sources (deploy/gpu/speech_server_sources.txt) is compared with Bazel's
(genquery, see BUILD.bazel). Prints one line per check and ends with "N passed, N failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = os.environ.get("DEPLOY_TEST_ROOT") or os.getcwd()  # Bazel runs tests in the runfiles root
SERVER = os.path.join(ROOT, "server/speech_server")
REPOSITORY = os.path.join(ROOT, "models/repository")
GRPC_SERVICE = "inference.GRPCInferenceService"
# Not the server's: Prometheus' own per-target series and kube-state-metrics' pod readiness.
OTHER_EXPORTERS = {"up", "kube_pod_status_ready"}

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + str(detail)))
    sys.stdout.flush()


# ----------------------------------------------------------------------------- the server
def server_flags():
    """{flag name: default string or None} from `speech_server --help`."""
    text = subprocess.run([SERVER, "--help"], capture_output=True, text=True, timeout=30).stdout
    flags = {}
    for match in re.finditer(r"^  --([a-z-]+)(?:=VALUE|\[=true\|false\])\n      (.*)$", text, re.M):
        default = re.search(r"Default ([^ ]+?)\.(?: |$)", match.group(2))
        flags[match.group(1)] = default.group(1) if default else None
    return flags


def scrape_metric_names():
    """Sample names of a real server's /metrics, serving one model of the default repository."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(REPOSITORY, "simple"), os.path.join(tmp, "repo/simple"))
        log_path = os.path.join(tmp, "server.log")
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [SERVER, "--model-repository=" + os.path.join(tmp, "repo"), "--grpc-port=0",
                 "--http-port=0", "--metrics-port=0", "--grpc-address=127.0.0.1",
                 "--http-address=127.0.0.1", "--metrics-address=127.0.0.1"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            port = None
            deadline = time.time() + 120
            while port is None and time.time() < deadline and server.poll() is None:
                found = re.search(r"Started Metrics Service at [0-9.]+:(\d+)", open(log_path).read())
                port = found and int(found.group(1))
                time.sleep(0.1)
            if port is None:
                raise RuntimeError("no metrics port: " + open(log_path).read()[-2000:])
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read()
        finally:
            server.terminate()
            server.wait(timeout=60)
    names = set()
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def gpu_metric_names():
    """The NVML gauges, which only a host with a GPU exports: their names in the executable."""
    with open(SERVER, "rb") as f:
        return {m.decode() for m in re.findall(rb"\bnv_gpu_[a-z_]+(?=\x00)", f.read())}


# ----------------------------------------------------------------------------- PromQL
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "bool", "offset", "inf", "nan"}


def promql_metrics(expr):
    """The metric names an expression selects (not functions, labels, keywords)."""
    expr = re.sub(r"<<[^>]*>>", "", expr)                 # adapter templates
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)        # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)                  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)                 # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?[A-Za-z_]+\}?", "", expr)         # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", expr):
        if match.group(2) is None and match.group(1).lower() not in _KEYWORDS:
            names.add(match.group(1))
    return names


def promtool_rules(groups, label):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump({"groups": groups}, f)
    run = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    check("promtool check rules accepts " + label, run.returncode == 0,
          (run.stdout + run.stderr).strip()[-1500:])


# ----------------------------------------------------------------------------- manifests
_copy = None


def render(path):
    """Renders ROOT/path with kubectl kustomize, from a copy (kustomize does not follow the
    runfiles' symbolic links)."""
    global _copy
    if _copy is None:
        _copy = tempfile.mkdtemp()
        shutil.copytree(os.path.join(ROOT, "deploy"), os.path.join(_copy, "deploy"))
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        check("kubectl found (Debian's kubernetes-client)", False, "kubectl not on PATH")
        return []
    run = subprocess.run([kubectl, "kustomize", os.path.join(_copy, path)],
                         capture_output=True, text=True)
    check("kubectl kustomize " + path, run.returncode == 0, run.stderr.strip()[-1500:])
    return [d for d in yaml.safe_load_all(run.stdout) if d] if run.returncode == 0 else []


def one(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    check("%s/%s rendered" % (kind, name), len(found) == 1, "%d found" % len(found))
    return found[0] if found else None


def flag_values(args, flags, label):
    """The server's effective flag values for a command line: given ones over --help's defaults."""
    values = dict(flags)
    unknown = []
    for arg in args:
        match = re.match(r"--([a-z-]+)(?:=(.*))?$", arg)
        if not match or match.group(1) not in flags:
            unknown.append(arg)
        else:
            values[match.group(1)] = match.group(2) if match.group(2) is not None else "true"
    check(label + ": every argument is a real server flag", not unknown, unknown)
    return values


def check_deployment(docs, flags, label, gpu):
    deployment = one(docs, "Deployment", "speech-server")
    if deployment is None:
        return None
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    values = flag_values(container.get("args", []), flags, label + " container args")
    check(label + ": --model-repository given", bool(container.get("args")) and
          values.get("model-repository") not in (None, ""), container.get("args"))
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for name, flag in (("grpc", "grpc-port"), ("http", "http-port"), ("metrics", "metrics-port")):
        check("%s: containerPort %s == --%s (%s)" % (label, name, flag, values.get(flag)),
              str(ports.get(name)) == str(values.get(flag)), ports)
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(probe_name) or {}
        grpc = probe.get("grpc") or {}
        check("%s: %s is a native gRPC probe on the gRPC port" % (label, probe_name),
              str(grpc.get("port")) == str(values.get("grpc-port")), probe)
        check("%s: %s's grpc.health.v1 service is one the server reports" % (label, probe_name),
              grpc.get("service", "") in ("", GRPC_SERVICE), grpc.get("service"))
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    command = pre_stop.get("exec", {}).get("command", [])
    sleep = int(command[1]) if len(command) == 2 and command[0] == "sleep" else \
        int(pre_stop.get("sleep", {}).get("seconds", 0))
    check(label + ": preStop sleeps", sleep > 0, pre_stop)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    drain, exit_timeout = int(values["drain-period-secs"]), int(values["exit-timeout-secs"])
    check("%s: terminationGracePeriodSeconds %s > preStop %d + drain %d + exit timeout %d" %
          (label, grace, sleep, drain, exit_timeout), grace > sleep + drain + exit_timeout)
    check(label + ": drain period gives the proxies time (>= readiness period x threshold)",
          drain >= container["readinessProbe"].get("periodSeconds", 10) *
          container["readinessProbe"].get("failureThreshold", 3), drain)
    security = pod.get("securityContext", {})
    check(label + ": runs as non-root", security.get("runAsNonRoot") is True and
          security.get("runAsUser", 0) != 0, security)
    resources = container.get("resources", {})
    check(label + ": resource requests and limits", bool(resources.get("requests")) and
          bool(resources.get("limits")), resources)
    if gpu:
        check(label + ": one GPU per pod", str(resources.get("limits", {}).get("nvidia.com/gpu"))
              == "1", resources)
        check(label + ": GPU image", container["image"].endswith(":gpu"), container["image"])
    return deployment, values, ports


def check_services(docs, deployment, ports, label):
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    headless = one(docs, "Service", "speech-server-headless")
    if headless:
        spec = headless["spec"]
        check(label + ": headless Service is headless", spec.get("clusterIP") == "None")
        check(label + ": headless Service selects the server's pods",
              all(pod_labels.get(k) == v for k, v in spec["selector"].items()), spec["selector"])
        bad = [p for p in spec["ports"] if p["targetPort"] not in ports and
               p["targetPort"] not in ports.values() or
               ports.get(p["targetPort"], p["targetPort"]) != p["port"]]
        check(label + ": headless Service ports are the container's", not bad, bad)
    pdb = one(docs, "PodDisruptionBudget", "speech-server")
    if pdb:
        check(label + ": PodDisruptionBudget selects the server's pods",
              all(pod_labels.get(k) == v for k, v in pdb["spec"]["selector"]["matchLabels"].items()))
    monitor = one(docs, "PodMonitor", "speech-server")
    if monitor:
        endpoint = monitor["spec"]["podMetricsEndpoints"][0]
        check(label + ": PodMonitor scrapes the metrics port at /metrics",
              endpoint["port"] == "metrics" and "metrics" in ports and
              endpoint.get("path", "/metrics") == "/metrics", endpoint)


def check_envoy(docs, values, readiness_service, label):
    configs = [d for d in docs if d["kind"] == "ConfigMap" and
               d["metadata"]["name"].startswith("speech-envoy")]
    check(label + ": Envoy ConfigMap rendered", len(configs) == 1)
    if not configs:
        return
    envoy = yaml.safe_load(configs[0]["data"]["envoy.yaml"])
    cluster = envoy["static_resources"]["clusters"][0]
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    socket = address["socket_address"]
    namespace = configs[0]["metadata"].get("namespace", "default")
    check(label + ": Envoy's upstream is the headless Service on the gRPC port",
          socket["address"] in ("speech-server-headless",
                                "speech-server-headless.%s.svc.cluster.local" % namespace) and
          str(socket["port_value"]) == str(values["grpc-port"]), socket)
    service = cluster["health_checks"][0]["grpc_health_check"].get("service_name", "")
    check(label + ": Envoy health-checks the readiness probe's grpc.health.v1 service",
          service == readiness_service, service)
    proxy_service = one(docs, "Service", "speech-server")
    envoy_deployment = one(docs, "Deployment", "speech-envoy")
    if proxy_service and envoy_deployment:
        envoy_port = envoy["static_resources"]["listeners"][0]["address"]["socket_address"]
        container = envoy_deployment["spec"]["template"]["spec"]["containers"][0]
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        target = proxy_service["spec"]["ports"][0]["targetPort"]
        check(label + ": proxy Service -> Envoy's listener",
              named.get(target, target) == envoy_port["port_value"], (target, envoy_port))


def check_metrics(docs, exported, label):
    hpa = one(docs, "HorizontalPodAutoscaler", "speech-server")
    adapter = one(docs, "ConfigMap", "speech-prometheus-adapter-rules")
    rule_file = one(docs, "PrometheusRule", "speech-server")
    dashboards = [d for d in docs if d["kind"] == "ConfigMap" and
                  d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    check(label + ": one Grafana dashboard ConfigMap", len(dashboards) == 1)
    used = {}
    if adapter and hpa:
        rules = yaml.safe_load(adapter["data"]["config.yaml"])["rules"]
        served = {r["name"]["as"] for r in rules}
        wanted = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"}
        check(label + ": every HPA metric is served by an adapter rule", wanted and wanted <= served,
              (wanted, served))
        for r in rules:
            for expr in (r["seriesQuery"], r["metricsQuery"]):
                used.setdefault("adapter", set()).update(promql_metrics(expr))
            check(label + ": adapter rule name.matches its series",
                  all(re.search(r["name"]["matches"], m) for m in promql_metrics(r["seriesQuery"])))
        # The adapter's queries as PromQL, its templates filled in as the adapter does.
        filled = [{"record": "adapter:" + r["name"]["as"],
                   "expr": r["metricsQuery"].replace("<<.GroupBy>>", "namespace, pod")
                   .replace("<<.LabelMatchers>>", 'namespace="speech"')} for r in rules]
        promtool_rules([{"name": "adapter", "rules": filled}], label + " adapter queries")
    if rule_file:
        groups = rule_file["spec"]["groups"]
        promtool_rules(groups, label + " PrometheusRule alerts")
        alerts = [r for g in groups for r in g["rules"] if "alert" in r]
        for topic, pattern in (("queue time", "queue"), ("failure rate", "failure"),
                               ("not ready", "kube_pod_status_ready")):
            check("%s: an alert on %s" % (label, topic), any(pattern in a["expr"] for a in alerts))
        used["alerts"] = set().union(*(promql_metrics(r["expr"]) for r in alerts))
    if dashboards:
        dashboard = json.loads(list(dashboards[0]["data"].values())[0])
        original = json.load(open(os.path.join(ROOT, "deploy/grafana/speech-server.json")))
        check(label + ": the dashboard ConfigMap is deploy/grafana/speech-server.json",
              dashboard == original)
        exprs = re.findall(r'"expr":\s*"((?:[^"\\]|\\.)*)"', json.dumps(dashboard))
        used["dashboard"] = set().union(*(promql_metrics(json.loads('"%s"' % e)) for e in exprs))
    for where, names in sorted(used.items()):
        check("%s: every metric the %s use is exported (%d)" % (label, where, len(names)),
              bool(names) and names <= exported | OTHER_EXPORTERS,
              sorted(names - exported - OTHER_EXPORTERS))


# ----------------------------------------------------------------------------- GPU host recipe
GPU_LIST = "deploy/gpu/speech_server_sources.txt"
REGENERATE = "run bash deploy/gpu/update_sources.sh"


def label_paths(name):
    """The repository paths of the labels in genquery output ROOT/tests/deploy/NAME (external
    repositories' labels left out)."""
    paths = set()
    for line in open(os.path.join(ROOT, "tests/deploy", name)):
        label = line.strip()
        if label.startswith("//"):
            package, _, target = label[2:].partition(":")
            paths.add(package + "/" + target if package else target)
    return paths


def check_gpu_recipe():
    # The query names every branch of a select(); tests/sanitizers is compiled in only under
    # --config=tsan, and the GPU recipe has no such build.
    compiled = {p for p in label_paths("speech_server_sources")
                if p.endswith((".cc", ".proto")) and not p.startswith("tests/sanitizers/")}
    listed = {l.strip() for l in open(os.path.join(ROOT, GPU_LIST))
              if l.strip() and not l.startswith("#")}
    check("%s names every .cc and .proto Bazel compiles into //server:speech_server (%d)" %
          (GPU_LIST, len(compiled)), bool(compiled) and compiled <= listed,
          "missing %s; %s" % (sorted(compiled - listed), REGENERATE))
    check(GPU_LIST + " names nothing else", listed <= compiled,
          "not compiled by Bazel: %s; %s" % (sorted(listed - compiled), REGENERATE))
    # CMake generates only the protos' C++; any other generated source would need a rule there.
    stems = [os.path.splitext(p)[0] for p in compiled if p.endswith(".proto")]
    from_protos = {stem + suffix for stem in stems
                   for suffix in (".pb.cc", ".pb.h", ".grpc.pb.cc", ".grpc.pb.h")}
    generated = {p for p in label_paths("speech_server_generated") if p.endswith((".cc", ".h"))}
    check("Bazel generates no C++ for speech_server but the protos' (CMake has rules for those only)",
          generated <= from_protos, sorted(generated - from_protos))
    cmake = open(os.path.join(ROOT, "deploy/gpu/CMakeLists.txt")).read()
    check("deploy/gpu/CMakeLists.txt builds speech_server from " + GPU_LIST,
          "speech_server_sources.txt" in cmake)
    build = open(os.path.join(ROOT, "deploy/gpu/build.sh")).read()
    check("deploy/gpu/build.sh requires a CUDA LibTorch (SPEECH_REQUIRE_CUDA) and CMake honours it",
          "-DSPEECH_REQUIRE_CUDA=" in build and "if(SPEECH_REQUIRE_CUDA AND NOT SPEECH_TORCH_CUDA)" in cmake)


# ----------------------------------------------------------------------------- Dockerfiles
def check_dockerfile(path, flags, k8s_values):
    text = open(os.path.join(ROOT, path)).read()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    stages = [l.split()[1] for l in lines if l.startswith("FROM ")]
    check(path + ": multi-stage", len(stages) >= 2, stages)
    copies = [l.split()[1:] for l in lines if l.startswith("COPY ")]
    missing = []
    for words in copies:
        if any(w.startswith("--from=") for w in words):
            continue
        for source in [w for w in words if not w.startswith("--")][:-1]:
            if not os.path.exists(os.path.join(ROOT, source)):
                missing.append(source)
    check(path + ": every COPY source from the context exists", not missing, missing)
    final = text[text.rindex("\nFROM "):]
    entry = re.search(r"^ENTRYPOINT (\[.*\])$", final, re.M)
    command = re.search(r"^CMD (\[.*\])$", final, re.M)
    users = re.findall(r"^USER (\S+)$", final, re.M)
    check(path + ": runtime stage runs as a non-root user",
          bool(users) and users[-1].split(":")[0] not in ("root", "0"), users)
    check(path + ": ENTRYPOINT and CMD in exec form", bool(entry and command))
    if not (entry and command):
        return
    entrypoint = json.loads(entry.group(1))
    check(path + ": ENTRYPOINT is the speech_server copied into the runtime stage",
          len(entrypoint) == 1 and entrypoint[0].endswith("/speech_server") and
          re.search(r"^COPY --from=\S+ \S+ %s$" % re.escape(entrypoint[0]), final, re.M),
          entrypoint)
    values = flag_values(json.loads(command.group(1)), flags, path + " CMD")
    repository = values.get("model-repository")
    check(path + ": CMD's --model-repository is baked in or mounted (%s)" % repository,
          repository is not None and re.search(r"^COPY --from=\S+ \S+ %s$" % re.escape(repository),
                                               final, re.M))
    same = [f for f in ("grpc-port", "http-port", "metrics-port", "drain-period-secs",
                        "exit-timeout-secs") if values[f] != k8s_values[f]]
    check(path + ": CMD's ports and shutdown timings are the manifests'", not same, same)
    exposed = set(re.findall(r"^EXPOSE (.*)$", final, re.M)[0].split()) if "EXPOSE" in final else set()
    check(path + ": EXPOSE the three ports", exposed == {values["grpc-port"], values["http-port"],
                                                         values["metrics-port"]}, exposed)


def main():
    flags = server_flags()
    check("speech_server --help lists its flags and defaults",
          {"grpc-port", "http-port", "metrics-port", "drain-period-secs",
           "exit-timeout-secs", "model-repository"} <= set(flags) and flags["grpc-port"] == "8001",
          flags)
    exported = scrape_metric_names() | gpu_metric_names()
    check("a real server's /metrics names its metrics", {"nv_inference_request_success",
                                                         "nv_inference_queue_duration_us"} <= exported
          and len(gpu_metric_names()) == 3, sorted(exported))
    k8s_values = None
    for path, gpu in (("deploy/k8s/base", False), ("deploy/k8s/overlays/gpu", True)):
        docs = render(path)
        found = check_deployment(docs, flags, path, gpu) if docs else None
        if not found:
            continue
        deployment, values, ports = found
        k8s_values = k8s_values or values
        check_services(docs, deployment, ports, path)
        readiness = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
        check_envoy(docs, values, readiness["grpc"].get("service", ""), path)
        check_metrics(docs, exported, path)
    for path in ("deploy/Dockerfile", "deploy/Dockerfile.cpu"):
        check_dockerfile(path, flags, k8s_values or flags)
    haproxy = subprocess.run(["haproxy", "-c", "-f", os.path.join(ROOT, "deploy/k8s/proxy/haproxy.cfg")],
                             capture_output=True, text=True) if shutil.which("haproxy") else None
    check("haproxy -c accepts deploy/k8s/proxy/haproxy.cfg", haproxy is not None and
          haproxy.returncode == 0, haproxy and haproxy.stderr[-800:] or "haproxy not installed")
    # An h2 server line's health check speaks h2 unless told otherwise; the REST port is HTTP/1.1.
    servers = [l.split() for l in open(os.path.join(ROOT, "deploy/k8s/proxy/haproxy.cfg"))
               if l.split()[:1] == ["server"]]
    unhealthy = [" ".join(s) for s in servers if "proto" in s and s[s.index("proto") + 1] == "h2"
                 and "check" in s and "check-proto" not in s]
    check("haproxy.cfg checks each h2 server's HTTP port over HTTP/1.1 (check-proto h1)",
          bool(servers) and not unhealthy, unhealthy)
    check_gpu_recipe()
    failed = results.count(False)
    print("%d passed, %d failed" % (results.count(True), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
