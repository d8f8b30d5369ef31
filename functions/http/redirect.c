// redirect (reactor): answers 302 Found with the request body as the
// Location (https://example.com/ when the body is empty), through the guest
// ABI's version 2 response calls. A target the host refuses as a header
// value (a CR or LF inside it) is answered 400 with the reason.
#include <cwasi.h>

static const char kDefaultTarget[] = "https://example.com/";
static const char kRefused[] = "redirect: the target is not a valid Location\n";
static const char kMoved[] = "moved\n";

static int32_t answer(int32_t status, const char* body, uint32_t len) {
  if (cwasi_response_status(status) != CWASI_OK) return 1;
  if (cwasi_response_header_str("Content-Type", "text/plain; charset=utf-8") != CWASI_OK) return 1;
  return cwasi_response_set(body, len);
}

static int32_t redirect(const uint8_t* request, uint32_t len) {
  const char* target = (const char*)request;
  // A trailing newline is how `echo URL | curl --data-binary @-` sends it.
  while (len > 0 && (request[len - 1] == '\n' || request[len - 1] == '\r')) --len;
  if (len == 0) {
    target = kDefaultTarget;
    len = sizeof kDefaultTarget - 1;
  }
  if (cwasi_response_header("Location", 8, target, len) != CWASI_OK) {
    return answer(400, kRefused, sizeof kRefused - 1);
  }
  return answer(302, kMoved, sizeof kMoved - 1);
}

CWASI_HANDLER(redirect)
