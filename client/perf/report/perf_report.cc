#include "client/perf/report/perf_report.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace speech {
namespace {

int64_t Micros(absl::Duration duration) { return absl::ToInt64Microseconds(duration); }

std::string LoadText(double load) { return absl::StrFormat("%g", load); }

std::string Milliseconds(absl::Duration duration) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(duration));
}

// The mean formed batch for the table: "-" without server executions.
std::string BatchText(const PerfRow& row) {
  if (row.server.execution_count == 0) return "-";
  return absl::StrFormat("%.2f", row.server.mean_batch_size());
}

// Characters that cannot appear as they are in SVG text.
std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`.
double NiceCeiling(double value) {
  if (value <= 0) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(value)));
  for (double step : {1.0, 2.0, 5.0, 10.0}) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

}  // namespace

const char* LoadColumnName(LoadMode mode) {
  return mode == LoadMode::kConcurrency ? "Concurrency" : "Request Rate";
}

std::string CsvHeader(LoadMode mode) {
  return absl::StrCat(LoadColumnName(mode),
                      ",Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
                      "Server Compute Input,Server Compute Infer,Server Compute Output,"
                      "Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,"
                      "Avg latency,request/response,response wait");
}

std::string CsvLine(const PerfRow& row) {
  const LatencyBreakdown& b = row.breakdown;
  const ClientSummary& c = row.client;
  return absl::StrCat(LoadText(row.load), ",", absl::StrFormat("%.2f", c.inferences_per_second),
                      ",", Micros(b.client_send), ",", Micros(b.network_server_send_recv), ",",
                      Micros(b.server_queue), ",", Micros(b.server_compute_input), ",",
                      Micros(b.server_compute_infer), ",", Micros(b.server_compute_output), ",",
                      Micros(b.client_recv), ",", Micros(c.p50), ",", Micros(c.p90), ",",
                      Micros(c.p95), ",", Micros(c.p99), ",", Micros(c.average), ",",
                      Micros(b.request_response), ",", Micros(b.response_wait));
}

std::string FormatCsv(absl::Span<const PerfRow> rows, LoadMode mode) {
  std::string out = absl::StrCat(CsvHeader(mode), "\n");
  for (const PerfRow& row : rows) absl::StrAppend(&out, CsvLine(row), "\n");
  return out;
}

std::string FormatLevelReport(const PerfRow& row, LoadMode mode) {
  const ClientSummary& c = row.client;
  const LatencyBreakdown& b = row.breakdown;
  std::string out = absl::StrCat(
      mode == LoadMode::kConcurrency ? "Request concurrency: " : "Request rate: ",
      LoadText(row.load), row.stable ? "" : "  (NOT STABLE: windows never agreed)", "\n");
  absl::StrAppendFormat(&out, "  Client:\n    Request count: %d\n", c.success_count);
  if (c.error_count > 0) {
    absl::StrAppendFormat(&out, "    Errors: %d (%.2f%% of requests)\n", c.error_count,
                          100 * c.error_fraction);
  }
  absl::StrAppendFormat(&out, "    Throughput: %.2f infer/sec (batch size %d)\n",
                        c.inferences_per_second, row.batch_size);
  absl::StrAppendFormat(&out,
                        "    p50 latency: %d usec\n    p90 latency: %d usec\n"
                        "    p95 latency: %d usec\n    p99 latency: %d usec\n",
                        Micros(c.p50), Micros(c.p90), Micros(c.p95), Micros(c.p99));
  absl::StrAppendFormat(
      &out,
      "    Avg latency: %d usec (send %d usec + network+server %d usec + "
      "receive %d usec)\n",
      Micros(c.average), Micros(b.client_send),
      Micros(b.network_server_send_recv + b.server_queue + b.server_compute_input +
             b.server_compute_infer + b.server_compute_output),
      Micros(b.client_recv));
  absl::StrAppendFormat(&out,
                        "  Server:\n    queue %d usec + compute input %d usec + compute infer %d "
                        "usec + compute output %d usec\n",
                        Micros(b.server_queue), Micros(b.server_compute_input),
                        Micros(b.server_compute_infer), Micros(b.server_compute_output));
  if (row.server.execution_count > 0) {
    absl::StrAppendFormat(&out, "    Mean formed batch: %.2f (%d inferences in %d executions)\n",
                          row.server.mean_batch_size(), row.server.inference_count,
                          row.server.execution_count);
  } else {
    out += "    Mean formed batch: n/a (no server executions counted)\n";
  }
  return out;
}


std::string FormatSummaryTable(absl::Span<const PerfRow> rows, LoadMode mode) {
  std::string out =
      absl::StrFormat("%12s %12s %9s %9s %9s %9s %9s %8s %8s %8s %8s %8s %6s %8s\n",
                      LoadColumnName(mode), "infer/s", "p50 us", "p90 us", "p95 us", "p99 us",
                      "avg us", "send", "net+srv", "queue", "infer", "recv", "batch", "errors");
  for (const PerfRow& row : rows) {
    const ClientSummary& c = row.client;
    const LatencyBreakdown& b = row.breakdown;
    absl::StrAppendFormat(
        &out, "%12s %12.2f %9d %9d %9d %9d %9d %8d %8d %8d %8d %8d %6s %8d%s\n",
        LoadText(row.load), c.inferences_per_second, Micros(c.p50), Micros(c.p90),
        Micros(c.p95), Micros(c.p99), Micros(c.average), Micros(b.client_send),
        Micros(b.network_server_send_recv), Micros(b.server_queue),
        Micros(b.server_compute_input + b.server_compute_infer + b.server_compute_output),
        Micros(b.client_recv), BatchText(row), c.error_count, row.stable ? "" : " unstable");
  }
  return out;
}

std::string LatencyChartSvg(absl::Span<const PerfRow> rows, LoadMode mode,
                            const std::string& title) {
  constexpr double kWidth = 720, kHeight = 480;
  constexpr double kLeft = 80, kRight = 160, kTop = 50, kBottom = 60;
  const double plot_width = kWidth - kLeft - kRight;
  const double plot_height = kHeight - kTop - kBottom;

  std::vector<PerfRow> sorted(rows.begin(), rows.end());
  std::sort(sorted.begin(), sorted.end(), [](const PerfRow& a, const PerfRow& b) {
    return a.client.inferences_per_second < b.client.inferences_per_second;
  });
  double max_x = 0, max_y = 0;
  for (const PerfRow& row : sorted) {
    max_x = std::max(max_x, row.client.inferences_per_second);
    max_y = std::max({max_y, absl::ToDoubleMilliseconds(row.client.p99),
                      absl::ToDoubleMilliseconds(row.client.average)});
  }
  max_x = NiceCeiling(max_x);
  max_y = NiceCeiling(max_y);
  auto x_of = [&](double x) { return kLeft + plot_width * x / max_x; };
  auto y_of = [&](double y) { return kTop + plot_height * (1 - y / max_y); };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%g\" y=\"25\" font-size=\"16\" text-anchor=\"middle\">%s</text>\n",
      kWidth, kHeight, kWidth / 2, XmlEscape(title));
  // Axes, ticks and grid.
  for (int i = 0; i <= 5; ++i) {
    const double x = x_of(max_x * i / 5), y = y_of(max_y * i / 5);
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n"
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
        x, kTop, x, kTop + plot_height, x, kTop + plot_height + 18, max_x * i / 5, kLeft, y,
        kLeft + plot_width, y, kLeft - 6, y + 4, max_y * i / 5);
  }
  absl::StrAppendFormat(
      &svg,
      "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"black\"/>\n"
      "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">throughput (inferences/s)</text>\n"
      "<text x=\"20\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 20 %g)\">"
      "latency (ms)</text>\n",
      kLeft, kTop, plot_width, plot_height, kLeft + plot_width / 2, kHeight - 15,
      kTop + plot_height / 2, kTop + plot_height / 2);

  struct Series {
    const char* name;
    const char* color;
    std::function<absl::Duration(const ClientSummary&)> value;
  };
  const Series series[] = {
      {"p50", "#1f77b4", [](const ClientSummary& c) { return c.p50; }},
      {"average", "#2ca02c", [](const ClientSummary& c) { return c.average; }},
      {"p99", "#d62728", [](const ClientSummary& c) { return c.p99; }},
  };
  int legend = 0;
  for (const Series& s : series) {
    std::vector<std::string> points;
    for (const PerfRow& row : sorted) {
      points.push_back(absl::StrFormat("%.1f,%.1f", x_of(row.client.inferences_per_second),
                                       y_of(absl::ToDoubleMilliseconds(s.value(row.client)))));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                          "points=\"%s\"/>\n",
                          s.color, absl::StrJoin(points, " "));
    for (const std::string& point : points) {
      const size_t comma = point.find(',');
      absl::StrAppendFormat(&svg, "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"/>\n",
                            point.substr(0, comma), point.substr(comma + 1), s.color);
    }
    const double legend_y = kTop + 10 + 18 * legend++;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" "
                          "stroke-width=\"2\"/><text x=\"%g\" y=\"%g\">%s latency</text>\n",
                          kLeft + plot_width + 12, legend_y, kLeft + plot_width + 32, legend_y,
                          s.color, kLeft + plot_width + 38, legend_y + 4, s.name);
  }
  // Load labels beside the p99 points.
  for (const PerfRow& row : sorted) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s %s</text>\n",
                          x_of(row.client.inferences_per_second) + 5,
                          y_of(absl::ToDoubleMilliseconds(row.client.p99)) - 5,
                          mode == LoadMode::kConcurrency ? "c" : "r", LoadText(row.load));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace speech
