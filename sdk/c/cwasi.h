/*
 * cwasi.h — the cwasi guest ABI, version 3, for C and C++ functions compiled
 * to wasm32-wasi (clang --target=wasm32-wasi).
 *
 * Two kinds of function:
 *
 *   Command: an ordinary WASI program (`main`). The request arrives on stdin;
 *   whatever it writes to stdout is the response; its exit code is its status.
 *   Any WASI program is a cwasi function.
 *
 *   Reactor: built with -mexec-model=reactor; exports `cwasi_alloc` and
 *   `cwasi_handle`. The host allocates room for the request in the function's
 *   linear memory with cwasi_alloc, writes the request there and calls
 *   cwasi_handle(ptr, len). The handler names its response with
 *   cwasi_response_set(); the host reads it straight from linear memory. No
 *   stdio, no copies beyond the one into memory — the fast path.
 *
 *       #include <cwasi.h>
 *       static int32_t echo(const uint8_t* req, uint32_t len) {
 *         return cwasi_response_set(req, len);
 *       }
 *       CWASI_HANDLER(echo)
 *
 * Inter-function communication (cwasi_call / cwasi_send / cwasi_recv) works
 * the same wherever the peer runs — in the same process (embedded), in another
 * process on the node (local) or on another host (remote); the function never
 * knows which.
 *
 * Versioning: every import lives in module "cwasi" and its name is part of
 * the ABI version. A later version adds imports under new names and keeps
 * these; a host that lacks an import refuses to load the module with
 * "unknown import", never misbehaves. A function that uses none of a
 * version's additions runs unchanged on hosts of that version and older.
 *   1: cwasi_response_set, cwasi_call, cwasi_send, cwasi_recv.
 *   2: cwasi_response_status and cwasi_response_header — the HTTP status and
 *      headers of the response, for functions served over HTTP (cwasid's
 *      /function/NAME, a pod's HTTP trigger). Without them a response is
 *      200 with Content-Type application/octet-stream, as in version 1.
 *   3: cwasi_http_request — outbound HTTP to the destinations the function's
 *      deployment grants (allowedOutboundHosts), with the new status codes
 *      CWASI_ERR_DENIED and CWASI_ERR_CONNECT (returned by it only).
 *
 * Command functions shape their HTTP response with CGI output instead, when
 * their deployment opts in (annotation cwasi.io/response: cgi): stdout starts
 * with header lines ("Status: 302 Found", "Location: ...", "Content-Type:
 * ..."), then a blank line, then the body (RFC 3875 §6).
 *
 * All pointers are addresses in the calling function's own linear memory;
 * the host checks every (pointer, length) pair against that memory and
 * answers CWASI_ERR_INVALID_ARGUMENT for any that falls outside it.
 */
#ifndef CWASI_H
#define CWASI_H

#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CWASI_ABI_VERSION 3

/* Limits on a response's headers (cwasi_response_header): at most this many
 * headers, and this many bytes of names and values in all. */
#define CWASI_MAX_RESPONSE_HEADERS 64
#define CWASI_MAX_RESPONSE_HEADER_BYTES 16384

/* Status codes (errno-style: 0 is success). */
#define CWASI_OK 0
/* No function of that name is known to the host (in any mode). */
#define CWASI_ERR_UNKNOWN_TARGET 1
/* The target is known but cannot be reached now (its host died, is full...). */
#define CWASI_ERR_UNAVAILABLE 2
/* No answer (or, for cwasi_recv, no message) within the timeout. */
#define CWASI_ERR_TIMEOUT 3
/* A payload or response is larger than the host or the receiver accepts. */
#define CWASI_ERR_TOO_LARGE 4
/* A pointer/length outside linear memory, an empty target name... */
#define CWASI_ERR_INVALID_ARGUMENT 5
/* The host failed in a way the function cannot fix. */
#define CWASI_ERR_INTERNAL 6
/* The target ran and failed (non-zero status, trap, timeout). The response,
 * if any, holds its error text. */
#define CWASI_ERR_FUNCTION_FAILED 7
/* This host does not offer the operation (e.g. cwasi_recv in a host with no
 * queue for this function). */
#define CWASI_ERR_UNSUPPORTED 8
/* ABI version 3 (cwasi_http_request only). The destination (or a redirect's
 * destination) is not among the hosts granted to this function; nothing was
 * sent to it. */
#define CWASI_ERR_DENIED 9
/* ABI version 3 (cwasi_http_request only). The destination could not be
 * reached: its name does not resolve, the connection was refused, or it was
 * reset or closed before a whole response. */
#define CWASI_ERR_CONNECT 10

/* cwasi_http_request's bounds on the host side (defaults; a host may be
 * configured otherwise): redirects followed, the response body, the
 * response head, and the timeout when timeout_ms is 0. */
#define CWASI_MAX_HTTP_REDIRECTS 5
#define CWASI_MAX_HTTP_RESPONSE_BYTES (16u << 20)
#define CWASI_MAX_HTTP_RESPONSE_HEAD_BYTES (64u << 10)
#define CWASI_DEFAULT_HTTP_TIMEOUT_MS 30000

#define CWASI_IMPORT(name) __attribute__((import_module("cwasi"), import_name(name)))

/*
 * Names the response of the current cwasi_handle call: `len` bytes at `body`.
 * The host reads them when cwasi_handle returns, so the bytes must stay valid
 * until then (static or heap memory, or the request buffer itself — not the
 * handler's stack frame). A later call replaces an earlier one.
 * Returns CWASI_OK, or CWASI_ERR_INVALID_ARGUMENT for a range outside memory.
 */
CWASI_IMPORT("response_set")
int32_t cwasi_response_set(const void* body, uint32_t len);

/*
 * ABI version 2. Sets the HTTP status of the current response (the one
 * cwasi_handle is producing). `status` must be 200 to 599: 1xx responses are
 * interim and cannot be a function's answer. A later call replaces an earlier
 * one; without any the status is 200. Returns CWASI_OK, or
 * CWASI_ERR_INVALID_ARGUMENT (the status set before stays).
 * The status shapes the HTTP answer only: the handler's own return value
 * still decides success (non-zero is a failure, answered 500 as before), and
 * a function that calls this one through cwasi_call sees only the body.
 */
CWASI_IMPORT("response_status")
int32_t cwasi_response_status(int32_t status);

/*
 * ABI version 2. Adds the header `name: value` to the current response. The
 * host copies both at once. Content-Type and Location hold one value: a later
 * call replaces the earlier one (a Content-Type given replaces the default
 * application/octet-stream). Any other name may be given several times and
 * is sent as many times (Set-Cookie). Returns CWASI_OK, or
 *   CWASI_ERR_INVALID_ARGUMENT: a range outside memory; a name that is not an
 *     HTTP token (RFC 7230: letters, digits and !#$%&'*+-.^_`|~); a value
 *     with CR, LF, NUL or another control character but tab; a header that
 *     the gateway sets itself: Content-Length, Transfer-Encoding, Connection,
 *     Keep-Alive, Upgrade, Trailer, TE, Proxy-Connection, Server,
 *     X-Duration-Seconds, X-Cold-Start, X-Call-Id, X-Start-Time, X-Served-By;
 *   CWASI_ERR_TOO_LARGE: past CWASI_MAX_RESPONSE_HEADERS headers or
 *     CWASI_MAX_RESPONSE_HEADER_BYTES bytes.
 * A refused header changes nothing: the response keeps the headers before it.
 */
CWASI_IMPORT("response_header")
int32_t cwasi_response_header(const char* name, uint32_t name_len, const char* value,
                              uint32_t value_len);

/*
 * Calls function `target` synchronously with `request` and waits for its
 * response (at most `timeout_ms` milliseconds; 0 means the host's default).
 * On CWASI_OK and CWASI_ERR_FUNCTION_FAILED, *response points to *response_len
 * bytes that the host allocated in this function's memory through its
 * cwasi_alloc (free() them when done; NULL when the length is 0).
 * Responses of any size up to this function's memory limit work.
 */
CWASI_IMPORT("call")
int32_t cwasi_call(const char* target, uint32_t target_len, const void* request,
                   uint32_t request_len, uint32_t timeout_ms, uint8_t** response,
                   uint32_t* response_len);

/*
 * Sends `payload` to function `target` without waiting for it to run
 * (fan-out). Returns once the target's host has accepted the message; the
 * target takes it with cwasi_recv.
 */
CWASI_IMPORT("send")
int32_t cwasi_send(const char* target, uint32_t target_len, const void* payload,
                   uint32_t payload_len);

/*
 * Receives the next message sent to this function (fan-in, streaming),
 * waiting at most `timeout_ms` milliseconds (0: return CWASI_ERR_TIMEOUT at
 * once if none is queued). The payload is allocated through cwasi_alloc as
 * for cwasi_call.
 */
CWASI_IMPORT("recv")
int32_t cwasi_recv(uint32_t timeout_ms, uint8_t** payload, uint32_t* payload_len);

/*
 * ABI version 3. Makes an HTTP/1.1 request and waits for the whole response.
 * `headers` holds "Name: value" lines separated by "\n" (NULL/0 for none);
 * `body` is sent with a Content-Length (NULL/0 for none). `timeout_ms` bounds
 * the whole request, redirects included (0: the host's default, 30 s); the
 * invocation's own deadline bounds it too.
 *
 * The destination must be granted to the function (its deployment's
 * allowedOutboundHosts, `cwasi run --allow-outbound`, the annotation
 * cwasi.io/allowed-outbound-hosts): scheme, host and port as written in the
 * URL, default ports 80/443, names case-insensitive, IP addresses in
 * canonical form (127.1, 2130706433, [::ffff:127.0.0.1], 0.0.0.0 and
 * localhost are not 127.0.0.1). No grant: every destination is denied.
 * Redirects (301, 302, 303, 307, 308) are followed up to
 * CWASI_MAX_HTTP_REDIRECTS, each checked against the grants (303, and 301/302
 * after a POST, continue as GET without the body; Authorization and Cookie
 * are dropped when the origin changes).
 *
 * On CWASI_OK, *status is the final HTTP status (any status is a success),
 * and *response_headers / *response_body point to *response_headers_len /
 * *response_body_len bytes that the host allocated through cwasi_alloc
 * (free() them; NULL when the length is 0). Headers come as "Name: value\n"
 * lines. On any other return all the outputs are 0/NULL. Returns:
 *   CWASI_ERR_INVALID_ARGUMENT: a range outside memory; a method that is not
 *     an HTTP token, or CONNECT; a URL that is not http:// or https://, has
 *     userinfo (user@host), percent-encoding in the host, a space, CR, LF or
 *     another control character; a header line without ':', with CR or a
 *     control character, or setting Host, Content-Length, Transfer-Encoding,
 *     Connection, Keep-Alive, Upgrade, TE, Trailer or Proxy-Connection;
 *   CWASI_ERR_DENIED: the URL or a redirect leads to a destination not granted;
 *   CWASI_ERR_CONNECT: lookup failed, connection refused or reset;
 *   CWASI_ERR_TIMEOUT: past the timeout (lookup, connect, send and receive
 *     are all bounded);
 *   CWASI_ERR_TOO_LARGE: request headers over 64 KiB, a response body over
 *     the host's cap (CWASI_MAX_HTTP_RESPONSE_BYTES by default) or a head over
 *     CWASI_MAX_HTTP_RESPONSE_HEAD_BYTES;
 *   CWASI_ERR_UNAVAILABLE: more than CWASI_MAX_HTTP_REDIRECTS redirects, the
 *     server did not answer in HTTP, or too many requests in flight on the host;
 *   CWASI_ERR_UNSUPPORTED: https (this host speaks plain http only), or a
 *     host that does not offer outbound HTTP.
 */
CWASI_IMPORT("http_request")
int32_t cwasi_http_request(const char* method, uint32_t method_len,
                           const char* url, uint32_t url_len,
                           const char* headers, uint32_t headers_len,
                           const void* body, uint32_t body_len,
                           uint32_t timeout_ms,
                           int32_t* status,
                           uint8_t** response_headers, uint32_t* response_headers_len,
                           uint8_t** response_body, uint32_t* response_body_len);

#ifndef CWASI_NO_EXPORTS
/*
 * The allocator the host uses to place requests, responses and messages in
 * this function's memory. Weak: define your own `cwasi_alloc` to replace it.
 */
__attribute__((weak, export_name("cwasi_alloc"))) void* cwasi_alloc(uint32_t size) {
  return malloc(size ? size : 1);
}
#endif

/*
 * CWASI_HANDLER(fn) exports `fn` as the reactor's handler, where
 *   int32_t fn(const uint8_t* request, uint32_t request_len);
 * returns 0 on success or a non-zero application status. The request buffer
 * belongs to the function (it came from cwasi_alloc).
 */
#define CWASI_HANDLER(fn)                                                      \
  __attribute__((export_name("cwasi_handle"))) int32_t cwasi_handle(           \
      uint8_t* cwasi_request, uint32_t cwasi_request_len) {                    \
    return fn(cwasi_request, cwasi_request_len);                               \
  }

/* Convenience: cwasi_call / cwasi_send with a NUL-terminated target name. */
static inline uint32_t cwasi_strlen_(const char* s) {
  uint32_t n = 0;
  while (s[n]) ++n;
  return n;
}
static inline int32_t cwasi_call_str(const char* target, const void* request, uint32_t request_len,
                                     uint8_t** response, uint32_t* response_len) {
  return cwasi_call(target, cwasi_strlen_(target), request, request_len, 0, response,
                    response_len);
}
/* Convenience: cwasi_response_header with NUL-terminated name and value. */
static inline int32_t cwasi_response_header_str(const char* name, const char* value) {
  return cwasi_response_header(name, cwasi_strlen_(name), value, cwasi_strlen_(value));
}
static inline int32_t cwasi_send_str(const char* target, const void* payload,
                                     uint32_t payload_len) {
  return cwasi_send(target, cwasi_strlen_(target), payload, payload_len);
}

#ifdef __cplusplus
}
#endif

#endif /* CWASI_H */
