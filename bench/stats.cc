#include "stats.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>

namespace cwasi::bench {

Summary summarize(std::vector<std::chrono::nanoseconds> samples) {
  Summary s;
  s.n = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto us = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1000.0; };
  // Nearest-rank percentiles.
  auto pct = [&](double p) {
    size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(samples.size()) + 0.999999);
    rank = std::clamp<size_t>(rank, 1, samples.size());
    return us(samples[rank - 1]);
  };
  s.p50_us = pct(50);
  s.p90_us = pct(90);
  s.p99_us = pct(99);
  s.min_us = us(samples.front());
  s.max_us = us(samples.back());
  double total = 0;
  for (auto d : samples) total += us(d);
  s.mean_us = total / static_cast<double>(samples.size());
  return s;
}

std::string formatUs(double us) {
  char buf[32];
  if (us < 1000) {
    std::snprintf(buf, sizeof buf, "%.1f µs", us);
  } else if (us < 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f ms", us / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f s", us / 1e6);
  }
  return buf;
}

std::string markdownTable(const std::vector<Row>& rows) {
  std::string out = "| group | case | n | p50 | p90 | p99 | mean | note |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows) {
    out += "| " + r.group + " | " + r.name + " | " + std::to_string(r.s.n) + " | " +
           formatUs(r.s.p50_us) + " | " + formatUs(r.s.p90_us) + " | " + formatUs(r.s.p99_us) +
           " | " + formatUs(r.s.mean_us) + " | " + r.note + " |\n";
  }
  return out;
}

std::string csv(const std::vector<Row>& rows) {
  std::string out = "group,case,n,p50_us,p90_us,p99_us,mean_us,min_us,max_us,note\n";
  char buf[256];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%zu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f", r.s.n, r.s.p50_us,
                  r.s.p90_us, r.s.p99_us, r.s.mean_us, r.s.min_us, r.s.max_us);
    out += "\"" + r.group + "\",\"" + r.name + "\"," + buf + ",\"" + r.note + "\"\n";
  }
  return out;
}

bool writeReport(const std::filesystem::path& dir, const std::string& stem,
                 const std::string& header, const std::vector<Row>& rows) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream md(dir / (stem + ".md"));
  md << header << "\n" << markdownTable(rows);
  std::ofstream c(dir / (stem + ".csv"));
  c << csv(rows);
  return md.good() && c.good();
}

}  // namespace cwasi::bench
