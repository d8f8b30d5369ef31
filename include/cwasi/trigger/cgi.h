// Responses a function writes as CGI output (RFC 3875 §6), the way WAGI and
// Spin's WAGI executor read a command's stdout: header lines, a blank line,
// the body. A function opts in with the annotation cwasi.io/response: cgi
// (a deployment's in cwasid, the pod's in the shim); otherwise its output is
// the body as it is ("raw").
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "cwasi/common/result.h"
#include "cwasi/runtime/response_head.h"

namespace cwasi::trigger {

inline constexpr char kAnnotationResponse[] = "cwasi.io/response";

enum class ResponseMode { kRaw, kCgi };

// "raw" or "cgi"; InvalidArgument naming `source` (where the value came
// from: an annotation, a variable) and the value otherwise.
Result<ResponseMode> parseResponseMode(std::string_view value, std::string_view source);
// The mode `annotations` ask for: kRaw without kAnnotationResponse.
Result<ResponseMode> responseModeFrom(const std::map<std::string, std::string>& annotations);

// The header section may not be longer than this (up to its blank line).
inline constexpr size_t kMaxCgiHeaderBytes = 32u << 10;

struct CgiOutput {
  runtime::ResponseHead head;
  std::string_view body;  // a view into the parsed output
};

// Splits CGI output into its head and body. Lines end with LF or CRLF; the
// header section ends at the first empty line. "Status: 404 Not Found" sets
// the status (the reason is the gateway's own); "Location:" alone implies
// 302; "Content-Type:" and any other header pass through, under the rules of
// runtime::ResponseHead (tokens, no control characters, no header the
// gateway owns, bounded in number and size). At least one of Status,
// Location and Content-Type must be there (RFC 3875 §6.2). InvalidArgument
// names what is wrong: no blank line, a line without a colon, a bad status, a
// stray CR, a header section over kMaxCgiHeaderBytes... Pure: no I/O, any
// input is safe.
Result<CgiOutput> parseCgiOutput(std::string_view output);

}  // namespace cwasi::trigger
