// Measurements and their reports: samples → median and tails; rows printed as
// a Markdown table and written as CSV.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace cwasi::bench {

struct Summary {
  size_t n = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, mean_us = 0, min_us = 0, max_us = 0;
};

// Summarises durations (any order).
Summary summarize(std::vector<std::chrono::nanoseconds> samples);

struct Row {
  std::string group;  // e.g. "in-process cold start"
  std::string name;   // e.g. "echo (reactor)"
  Summary s;
  std::string note;   // e.g. "2.1x native"
};

// "| group | name | n | p50 | p90 | p99 | mean | note |" with adaptive units.
std::string markdownTable(const std::vector<Row>& rows);
std::string csv(const std::vector<Row>& rows);
// Formats microseconds as "12.3 µs" / "4.56 ms" / "1.23 s".
std::string formatUs(double us);

// Writes <dir>/<stem>.md and <dir>/<stem>.csv (creating dir). Returns false on error.
bool writeReport(const std::filesystem::path& dir, const std::string& stem,
                 const std::string& header, const std::vector<Row>& rows);

}  // namespace cwasi::bench
