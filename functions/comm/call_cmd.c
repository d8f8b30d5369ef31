// call (command): `call TARGET [PAYLOAD]` calls TARGET wherever it runs,
// prints its response and exits with the call's status (0 on success). What
// a container task does to reach another function.
#include <cwasi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: call TARGET [PAYLOAD]\n");
    return 2;
  }
  const char* payload = argc > 2 ? argv[2] : "";
  uint8_t* response = NULL;
  uint32_t len = 0;
  int32_t status = cwasi_call_str(argv[1], payload, (uint32_t)strlen(payload), &response, &len);
  if (status != CWASI_OK) {
    fprintf(stderr, "call %s: status %d\n", argv[1], status);
    return 10 + status;
  }
  fwrite(response, 1, len, stdout);
  putchar('\n');
  return 0;
}
