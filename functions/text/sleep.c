// sleep (reactor): sleeps for the number of milliseconds its request gives
// (default 100), then responds "slept N ms". Holds a request in flight
// without using a core, for the autoscaling tests.
#include <cwasi.h>
#include <stdio.h>
#include <time.h>

static int32_t sleep_ms(const uint8_t* request, uint32_t len) {
  unsigned ms = 0;
  for (uint32_t i = 0; i < len && request[i] >= '0' && request[i] <= '9'; ++i) {
    ms = ms * 10 + (request[i] - '0');
  }
  if (len == 0) ms = 100;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  char out[32];
  int n = snprintf(out, sizeof out, "slept %u ms", ms);
  return cwasi_response_set((const uint8_t*)out, (uint32_t)n);
}

CWASI_HANDLER(sleep_ms)
