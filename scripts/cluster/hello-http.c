/* A tiny static HTTP server for cluster smoke tests (scripts/cluster.sh
 * smoke): answers every request with "hello from <hostname>\n" and logs one
 * line per request on stdout. Port from $PORT (default 8080).
 * `hello-http get IP:PORT` is a client: prints the response's body
 * (pod-to-pod checks through `kubectl exec`, the image has no shell). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static int get(const char* target) {
  char ip[64];
  int port = 80;
  snprintf(ip, sizeof ip, "%s", target);
  char* colon = strchr(ip, ':');
  if (colon) {
    *colon = 0;
    port = atoi(colon + 1);
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    fprintf(stderr, "hello-http: %s: not IP:PORT\n", target);
    return 2;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
    perror("hello-http: connect");
    return 1;
  }
  static const char req[] = "GET / HTTP/1.0\r\n\r\n";
  (void)!write(s, req, sizeof req - 1);
  char buf[4096];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(s, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  buf[len] = 0;
  char* body = strstr(buf, "\r\n\r\n");
  fputs(body ? body + 4 : buf, stdout);
  return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "get") == 0) return get(argv[2]);
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char* p = getenv("PORT");
  int port = p ? atoi(p) : 8080;
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (bind(s, (struct sockaddr*)&a, sizeof a) != 0 || listen(s, 64) != 0) {
    perror("hello-http: listen");
    return 1;
  }
  printf("hello-http: %s listening on :%d\n", host, port);
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int c = accept(s, (struct sockaddr*)&peer, &len);
    if (c < 0) continue;
    char req[2048];
    ssize_t n = read(c, req, sizeof req - 1);
    req[n > 0 ? n : 0] = 0;
    char* eol = strpbrk(req, "\r\n");
    if (eol) *eol = 0;
    char body[300];
    int blen = snprintf(body, sizeof body, "hello from %s\n", host);
    char resp[512];
    int rlen = snprintf(resp, sizeof resp,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                        "Connection: close\r\n\r\n%s",
                        blen, body);
    (void)!write(c, resp, rlen);
    close(c);
    printf("hello-http: %s %s\n", inet_ntoa(peer.sin_addr), req);
  }
}
