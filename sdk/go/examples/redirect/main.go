// redirect (reactor): answers 302 Found with the request body as the
// Location (https://example.com/ when the body is empty). A target the host
// refuses as a header value (a CR or LF inside it) is answered 400 with the
// reason. The Go twin of functions/http/redirect.c.
package main

import (
	"strings"

	"cwasi.io/sdk/go/cwasi"
)

func init() {
	cwasi.Handle(func(req cwasi.Request) (cwasi.Response, error) {
		// A trailing newline is how `echo URL | curl --data-binary @-` sends it.
		target := strings.TrimRight(string(req.Body), "\r\n")
		if target == "" {
			target = "https://example.com/"
		}
		h := cwasi.Header{"Content-Type": {"text/plain; charset=utf-8"}}
		if strings.ContainsAny(target, "\r\n\x00") {
			return cwasi.Response{Status: 400, Header: h,
				Body: []byte("redirect: the target is not a valid Location\n")}, nil
		}
		h.Set("Location", target)
		return cwasi.Response{Status: 302, Header: h, Body: []byte("moved\n")}, nil
	})
}

func main() {}
