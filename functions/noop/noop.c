// noop (reactor): responds "ok" whatever the request; the gateway benchmark's
// function, so that what is measured is the platform.
#include <cwasi.h>

static int32_t noop(const uint8_t* request, uint32_t len) {
  (void)request;
  (void)len;
  return cwasi_response_set((const uint8_t*)"ok", 2);
}

CWASI_HANDLER(noop)
