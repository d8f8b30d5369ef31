#include "cwasi/common/rfc3339.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace cwasi {

std::string formatRfc3339(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms.count()));
  return out;
}

// "2026-11-24T10:00:00Z", with a fraction and an offset ("+01:00") or not.
Result<std::chrono::system_clock::time_point> parseRfc3339(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19) {
    return invalidArgument("'" + s + "' is not an RFC 3339 time (2006-01-02T15:04:05Z)");
  }
  size_t i = 19;
  double fraction = 0;
  if (i < s.size() && s[i] == '.') {
    const size_t start = i++;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    fraction = std::strtod(s.substr(start, i - start).c_str(), nullptr);
  }
  long offset = 0;
  const std::string zone = s.substr(i);
  int oh = 0, om = 0;
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             std::sscanf(zone.c_str() + 1, "%2d:%2d", &oh, &om) == 2) {
    offset = (zone[0] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
  } else {
    return invalidArgument("'" + s + "' has no time zone (Z or +HH:MM)");
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return invalidArgument("'" + s + "' is not a valid time");
  }
  // The clock counts nanoseconds in 64 bits: 1678 to 2262.
  if (tm.tm_year < 1700 || tm.tm_year > 2200) return invalidArgument("'" + s + "' is out of range");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = ::timegm(&tm) - offset;
  return std::chrono::system_clock::from_time_t(t) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(fraction));
}

}  // namespace cwasi
