// Parser throughput: generates a 100,000-line Dockerfile (stages, RUN with
// continuations and --mount, COPY, ENV, heredocs, comments), parses it
// several times and prints lines/second (best and median). The peer measured
// in the same run is the cheapest possible pass over the same text (splitting
// it into lines), so the ratio says how much the parser costs per byte on top
// of just reading it, independent of the machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile_parser/parser.h"

namespace {

std::string generate(int target_lines) {
  std::string s;
  s.reserve(static_cast<size_t>(target_lines) * 40);
  s += "# syntax=docker/dockerfile:1\nARG BASE=debian:12\n";
  int lines = 2;
  int block = 0;
  while (lines < target_lines) {
    if (block % 50 == 0) {
      s += "FROM ${BASE} AS stage" + std::to_string(block / 50) + "\n";
      ++lines;
    }
    std::string n = std::to_string(block);
    s += "# step " + n + "\n";
    s += "RUN --mount=type=cache,target=/var/cache/apt \\\n"
         "    apt-get update && \\\n"
         "    apt-get install -y pkg" +
         n +
         " \\\n"
         "    # a comment inside the continuation\n"
         "    && rm -rf /var/lib/apt/lists/*\n";
    s += "COPY --chown=1000:1000 --link src/" + n + " /app/" + n + "/\n";
    s += "ENV PATH=\"/opt/" + n + "/bin:$PATH\" LEVEL=" + n + "\n";
    s += "RUN <<EOF\nset -e\necho building " + n + "\nmake -j4 target" + n + "\nEOF\n";
    s += "COPY <<-\"CONF\" /etc/app" + n + ".conf\n\tkey=value\n\tname=" + n + "\n\tCONF\n";
    s += "WORKDIR /app/" + n + "\n\n";
    lines += 19;
    ++block;
  }
  s += "CMD [\"/app/run\", \"--serve\"]\n";
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

size_t baseline(std::string_view text) {
  // The peer: find every line and touch its bytes once.
  std::vector<std::string_view> lines;
  size_t sum = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(pos, end - pos));
    sum += lines.back().size();
    pos = end;
  }
  return sum + lines.size();
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 7;
  if (iterations < 1) iterations = 1;
  const std::string text = generate(100000);
  const auto line_count = static_cast<double>(std::count(text.begin(), text.end(), '\n'));

  std::vector<double> parse_t;
  std::vector<double> base_t;
  size_t instructions = 0;
  size_t stages = 0;
  size_t sink = 0;
  for (int i = 0; i < iterations; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto df = slipway::dockerfile::parse(text, "bench.Dockerfile");
    parse_t.push_back(seconds_since(t0));
    instructions = 0;
    stages = df.stages.size();
    for (const auto& st : df.stages) instructions += st.instructions.size();
    t0 = std::chrono::steady_clock::now();
    sink += baseline(text);
    base_t.push_back(seconds_since(t0));
  }
  std::sort(parse_t.begin(), parse_t.end());
  std::sort(base_t.begin(), base_t.end());
  double best = parse_t.front();
  double median = parse_t[parse_t.size() / 2];
  double base_median = base_t[base_t.size() / 2];
  std::printf("input: %.0f lines, %zu bytes, %zu stages, %zu instructions (checksum %zu)\n", line_count, text.size(),
              stages, instructions, sink % 1000);
  std::printf("parse: best %.1f ms (%.0f lines/s), median %.1f ms (%.0f lines/s), %d iterations\n", best * 1e3,
              line_count / best, median * 1e3, line_count / median, iterations);
  std::printf("peer (line split only): median %.2f ms; parse/peer ratio %.1fx\n", base_median * 1e3,
              median / base_median);
  return 0;
}
