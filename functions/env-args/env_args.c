// env-args (command): prints its arguments and environment, one per line, and
// exits with the status given by EXIT_CODE (default 0).
#include <stdio.h>
#include <stdlib.h>

extern char** environ;

int main(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) printf("arg[%d]=%s\n", i, argv[i]);
  for (char** e = environ; *e; ++e) printf("env %s\n", *e);
  const char* code = getenv("EXIT_CODE");
  return code ? atoi(code) : 0;
}
