// echo (reactor): responds with its request, zero-copy.
#include <cwasi.h>

static int32_t echo(const uint8_t* request, uint32_t len) {
  return cwasi_response_set(request, len);
}

CWASI_HANDLER(echo)
