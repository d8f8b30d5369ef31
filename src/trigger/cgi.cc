#include "cwasi/trigger/cgi.h"

#include <strings.h>

namespace cwasi::trigger {
namespace {

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trimmed(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") + 1 - first);
}

// "302" or "302 Found": the code; the reason phrase is not kept (the gateway
// sends its own), but must be text.
Result<int> parseStatus(std::string_view v) {
  auto bad = [&] {
    return invalidArgument("want a 3-digit code and an optional reason (\"302 Found\")");
  };
  if (v.size() < 3) return bad();
  int code = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (v[i] < '0' || v[i] > '9') return bad();
    code = code * 10 + (v[i] - '0');
  }
  if (v.size() > 3 && v[3] != ' ' && v[3] != '\t') return bad();
  return code;
}

}  // namespace

Result<ResponseMode> parseResponseMode(std::string_view value, std::string_view source) {
  if (value == "raw") return ResponseMode::kRaw;
  if (value == "cgi") return ResponseMode::kCgi;
  return invalidArgument(std::string(source) + " must be \"cgi\" or \"raw\", not '" +
                         std::string(value) + "'");
}

Result<ResponseMode> responseModeFrom(const std::map<std::string, std::string>& annotations) {
  auto it = annotations.find(kAnnotationResponse);
  if (it == annotations.end()) return ResponseMode::kRaw;
  return parseResponseMode(it->second, std::string("annotation ") + kAnnotationResponse);
}

Result<CgiOutput> parseCgiOutput(std::string_view output) {
  CgiOutput out;
  bool status_given = false, location_given = false, type_given = false;
  size_t pos = 0;
  for (int line_no = 1;; ++line_no) {
    const size_t lf = output.find('\n', pos);
    const size_t end = lf == std::string_view::npos ? output.size() : lf;
    if (end > kMaxCgiHeaderBytes) {
      return invalidArgument("the header section is larger than " +
                             std::to_string(kMaxCgiHeaderBytes) + " bytes");
    }
    if (lf == std::string_view::npos) {
      return invalidArgument("no blank line ends the header section");
    }
    std::string_view line = output.substr(pos, lf - pos);
    pos = lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    const std::string where = "header line " + std::to_string(line_no);
    if (line.find('\r') != std::string_view::npos) return invalidArgument(where + " holds a stray CR");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return invalidArgument(where + " has no colon");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimmed(line.substr(colon + 1));
    if (!runtime::httpToken(name)) {
      return invalidArgument(where + ": the name before the colon is not an HTTP token");
    }
    if (sameName(name, "Status")) {
      if (status_given) return invalidArgument(where + ": Status given twice");
      status_given = true;
      auto code = parseStatus(value);
      Result<void> set = code.ok() ? out.head.setStatus(*code) : Result<void>(code.error());
      if (!set.ok()) return invalidArgument(where + ": bad Status: " + set.error().message());
      continue;
    }
    location_given = location_given || sameName(name, "Location");
    type_given = type_given || sameName(name, "Content-Type");
    if (auto added = out.head.addHeader(name, value); !added.ok()) {
      return invalidArgument(where + ": " + added.error().message());
    }
  }
  if (!status_given && !location_given && !type_given) {
    return invalidArgument("the header section has none of Status, Location and Content-Type");
  }
  // A redirect without a status is a redirect (RFC 3875 §6.2.3).
  if (location_given && !status_given) TRY(out.head.setStatus(302));
  out.body = output.substr(pos);
  return out;
}

}  // namespace cwasi::trigger
