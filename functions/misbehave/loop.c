// loop (command): never ends. Stopped only by a deadline or cancellation.
int main(void) {
  volatile unsigned long n = 0;
  for (;;) ++n;
}
