// trigger::parseCgiOutput: a command function's stdout, read as CGI output when
// its deployment says cwasi.io/response: cgi — written by an untrusted guest.
// What it accepts must be safe to put on the wire (tokens for names, no
// control characters in values, no header the gateway owns, within the
// limits, a status from 200 to 599), the body must be the input's tail, and
// the head written back as CGI must parse to itself.
#include <strings.h>

#include "cwasi/trigger/cgi.h"
#include "cwasi/runtime/response_head.h"
#include "fuzz.h"

using cwasi::trigger::parseCgiOutput;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = cwasi::fuzz::asText(data, size);
  auto parsed = parseCgiOutput(input);
  if (!parsed.ok()) return 0;
  const cwasi::runtime::ResponseHead& head = parsed->head;
  FUZZ_CHECK(head.status() == 0 || (head.status() >= 200 && head.status() <= 599));
  FUZZ_CHECK(head.headers().size() <= cwasi::runtime::kMaxResponseHeaders);
  for (const auto& [name, value] : head.headers()) {
    FUZZ_CHECK(cwasi::runtime::httpToken(name));
    FUZZ_CHECK(!cwasi::runtime::ownedHeader(name));
    for (char c : value) FUZZ_CHECK(c == '\t' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
  }
  FUZZ_CHECK(parsed->body.size() <= input.size());
  FUZZ_CHECK(input.substr(input.size() - parsed->body.size()) == parsed->body);

  std::string again;
  if (head.status() != 0) again += "Status: " + std::to_string(head.status()) + "\r\n";
  for (const auto& [name, value] : head.headers()) again += name + ": " + value + "\n";
  again += "\n";
  again += parsed->body;
  auto reparsed = parseCgiOutput(again);
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(reparsed->head.status() == head.status());
  FUZZ_CHECK(reparsed->head.headers() == head.headers());
  FUZZ_CHECK(reparsed->body == parsed->body);
  return 0;
}
