// content-type (command): shapes its HTTP response with CGI output, as WAGI
// functions do: header lines, a blank line, then the body. Deployed with the
// annotation cwasi.io/response: cgi. The request body (stdin) is the page's
// text; Http_Method comes from the gateway. With the request "teapot" it
// answers 418 instead, to show Status.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char text[1024];
  size_t n = fread(text, 1, sizeof text - 1, stdin);
  text[n] = '\0';
  if (strcmp(text, "teapot") == 0) {
    printf("Status: 418 I'm a teapot\r\nContent-Type: text/plain\r\n\r\nshort and stout\n");
    return 0;
  }
  const char* method = getenv("Http_Method");
  printf("Content-Type: text/html; charset=utf-8\n");
  printf("Cache-Control: no-store\n");
  printf("Set-Cookie: seen=1; Path=/\n");
  printf("Set-Cookie: lang=en; Path=/\n");
  printf("\n");
  // The page shows the request as text: escaped, never as markup.
  printf("<!doctype html>\n<title>cwasi</title>\n<p>%s request: <code>", method ? method : "?");
  for (size_t i = 0; i < n; ++i) {
    switch (text[i]) {
      case '<': fputs("&lt;", stdout); break;
      case '>': fputs("&gt;", stdout); break;
      case '&': fputs("&amp;", stdout); break;
      case '"': fputs("&quot;", stdout); break;
      default: putchar(text[i]);
    }
  }
  printf("</code></p>\n");
  return 0;
}
