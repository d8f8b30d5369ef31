// secret-reader (command): answers with the OpenFaaS secret whose name is
// the request body, read from /var/openfaas/secrets/NAME, and says on stderr
// (the function's log) whether that file could be opened for writing — it
// never should: secrets are a read-only directory.
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  char name[128];
  size_t n = fread(name, 1, sizeof name - 1, stdin);
  while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\r')) --n;
  name[n] = 0;
  if (n == 0 || strchr(name, '/') != NULL) {
    fprintf(stderr, "secret-reader: send a secret's name\n");
    return 2;
  }
  char path[192];
  snprintf(path, sizeof path, "/var/openfaas/secrets/%s", name);
  FILE* w = fopen(path, "a");  // "a": a writable secret would not be emptied
  fprintf(stderr, "secret-reader: %s is %s\n", name,
          w ? "writable" : (errno == EROFS || errno == EACCES || errno == EPERM || errno == ENOTCAPABLE
                                ? "read-only"
                                : strerror(errno)));
  if (w) fclose(w);
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "secret-reader: %s: %s\n", path, strerror(errno));
    return 1;
  }
  static char buf[65536];
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  fclose(f);
  return 0;
}
