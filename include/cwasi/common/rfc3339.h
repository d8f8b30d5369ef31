// RFC 3339 times, as OpenFaaS's API and Kubernetes write them: one format
// and one parser for every part that reads or writes one.
#pragma once

#include <chrono>
#include <string>

#include "cwasi/common/result.h"

namespace cwasi {

// "2026-11-24T10:00:00.123Z": UTC, milliseconds.
std::string formatRfc3339(std::chrono::system_clock::time_point t);
// "2026-11-24T10:00:00Z", with a fraction and an offset ("+01:00") or not;
// InvalidArgument naming `s` otherwise.
Result<std::chrono::system_clock::time_point> parseRfc3339(const std::string& s);

}  // namespace cwasi
