/* The pod sandbox's process (the "pause" container): holds the pod's
 * namespaces, reaps orphaned children (it is PID 1 of the pod when the pod
 * shares its PID namespace), exits 0 on SIGTERM or SIGINT.
 * Built with `musl-gcc -static -Os` by scripts/cluster.sh. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    static const char msg[] = "pause (cwasi) 3.10\n";
    (void)!write(1, msg, sizeof msg - 1);
    return 0;
  }
  if (getpid() != 1) {
    static const char msg[] = "pause: warning: not PID 1\n";
    (void)!write(2, msg, sizeof msg - 1);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
