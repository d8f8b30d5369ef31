// caller (reactor): drives the communication ABI for tests. The request is
// "<op> <arg>\n<payload>"; the response is the 4-byte status followed by
// whatever came back.
//   c TARGET  cwasi_call(TARGET, payload)      s TARGET  cwasi_send(TARGET, payload)
//   r MILLIS  cwasi_recv(MILLIS)               x TARGET  call with a request outside memory
//   o TARGET  call with out-pointers outside memory
//   t -       call with a target name outside memory
//   d TARGET  call, then free the response and call again (2 round trips)
#include <cwasi.h>
#include <stdlib.h>
#include <string.h>

static uint8_t* out;

static int32_t respond(int32_t status, const uint8_t* body, uint32_t len) {
  free(out);
  out = malloc(4 + len);
  memcpy(out, &status, 4);
  if (len) memcpy(out + 4, body, len);
  return cwasi_response_set(out, 4 + len);
}

static int32_t handle(const uint8_t* req, uint32_t len) {
  const uint8_t* nl = memchr(req, '\n', len);
  if (!nl || len < 3) return respond(-1, (const uint8_t*)"bad request", 11);
  char op = (char)req[0];
  const char* arg = (const char*)req + 2;
  uint32_t arg_len = (uint32_t)((const char*)nl - arg);
  const uint8_t* payload = nl + 1;
  uint32_t payload_len = len - (uint32_t)(payload - req);
  uint8_t* resp = NULL;
  uint32_t resp_len = 0;
  int32_t st;
  switch (op) {
    case 'c':
      st = cwasi_call(arg, arg_len, payload, payload_len, 0, &resp, &resp_len);
      return respond(st, resp, resp_len);
    case 'd':
      st = cwasi_call(arg, arg_len, payload, payload_len, 0, &resp, &resp_len);
      free(resp);
      st = cwasi_call(arg, arg_len, payload, payload_len, 0, &resp, &resp_len);
      return respond(st, resp, resp_len);
    case 's':
      return respond(cwasi_send(arg, arg_len, payload, payload_len), NULL, 0);
    case 'r':
      st = cwasi_recv((uint32_t)atoi(arg), &resp, &resp_len);
      return respond(st, resp, resp_len);
    case 'x':
      st = cwasi_call(arg, arg_len, (const void*)(uintptr_t)0xfffff000u, 0x10000, 0, &resp,
                      &resp_len);
      return respond(st, NULL, 0);
    case 'o':
      st = cwasi_call(arg, arg_len, payload, payload_len, 0, (uint8_t**)(uintptr_t)0xfffffffeu,
                      &resp_len);
      return respond(st, NULL, 0);
    case 't':
      st = cwasi_call((const char*)(uintptr_t)0xfffffff0u, 100, payload, payload_len, 0, &resp,
                      &resp_len);
      return respond(st, NULL, 0);
    default:
      return respond(-1, (const uint8_t*)"unknown op", 10);
  }
}

CWASI_HANDLER(handle)
