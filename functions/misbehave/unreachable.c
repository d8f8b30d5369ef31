// unreachable (command): executes a wasm `unreachable` instruction (what
// abort() and __builtin_trap() compile to).
__attribute__((noinline)) void reach_unreachable(void) { __builtin_trap(); }

int main(void) {
  reach_unreachable();
  return 0;
}
