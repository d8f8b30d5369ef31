// fetch (reactor): outbound HTTP through cwasi_http_request (guest ABI v3).
// The request names what to fetch:
//   METHOD URL [TIMEOUT_MS]     or just URL (a GET)
//   Header: value               any number of header lines
//                               a blank line, then the body to send
// The response is "<cwasi status> <HTTP status>\n<response headers>\n<body>",
// answered 200 when the fetch succeeded (whatever the HTTP status) and 502
// when it did not — the status line then says which CWASI_ERR_* it was.
// The destination must be granted: `cwasi run --allow-outbound http://...`,
// or allowedOutboundHosts in a cwasid deployment.
#include <cwasi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t* out;

static const uint8_t* lineEnd(const uint8_t* p, const uint8_t* end) {
  const uint8_t* nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl : end;
}

static int32_t fetch(const uint8_t* req, uint32_t len) {
  const uint8_t* end = req + len;
  const uint8_t* first_end = lineEnd(req, end);
  // First line: METHOD URL [TIMEOUT_MS], or URL.
  const char* method = "GET";
  uint32_t method_len = 3;
  const char* url = (const char*)req;
  uint32_t url_len = (uint32_t)(first_end - req);
  uint32_t timeout_ms = 0;
  const uint8_t* sp = memchr(req, ' ', (size_t)(first_end - req));
  if (sp) {
    method = (const char*)req;
    method_len = (uint32_t)(sp - req);
    url = (const char*)sp + 1;
    const uint8_t* sp2 = memchr(sp + 1, ' ', (size_t)(first_end - sp - 1));
    url_len = (uint32_t)((sp2 ? sp2 : first_end) - (sp + 1));
    if (sp2) timeout_ms = (uint32_t)strtoul((const char*)sp2 + 1, NULL, 10);
  }
  // Header lines up to a blank line; the rest is the body.
  const uint8_t* headers = first_end < end ? first_end + 1 : end;
  const uint8_t* p = headers;
  while (p < end && *p != '\n') p = lineEnd(p, end) + 1;
  if (p > end) p = end;
  uint32_t headers_len = (uint32_t)(p - headers);
  const uint8_t* body = p < end ? p + 1 : end;

  int32_t status = 0;
  uint8_t *resp_headers = NULL, *resp_body = NULL;
  uint32_t resp_headers_len = 0, resp_body_len = 0;
  int32_t rc = cwasi_http_request(method, method_len, url, url_len, (const char*)headers,
                                  headers_len, body, (uint32_t)(end - body), timeout_ms, &status,
                                  &resp_headers, &resp_headers_len, &resp_body, &resp_body_len);
  char head[32];
  int head_len = snprintf(head, sizeof head, "%d %d\n", (int)rc, (int)status);
  free(out);
  out = malloc((size_t)head_len + resp_headers_len + 1 + resp_body_len);
  size_t n = 0;
  memcpy(out + n, head, (size_t)head_len);
  n += (size_t)head_len;
  if (resp_headers_len) memcpy(out + n, resp_headers, resp_headers_len);
  n += resp_headers_len;
  out[n++] = '\n';
  if (resp_body_len) memcpy(out + n, resp_body, resp_body_len);
  n += resp_body_len;
  free(resp_headers);
  free(resp_body);
  if (rc != CWASI_OK) cwasi_response_status(502);
  cwasi_response_header_str("Content-Type", "text/plain; charset=utf-8");
  return cwasi_response_set(out, (uint32_t)n);
}

CWASI_HANDLER(fetch)
