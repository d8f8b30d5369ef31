// fetch (reactor): fetches the URL in its request with an outbound HTTP GET
// (guest ABI version 3) and answers with the response's status, Content-Type
// and body. A destination not granted to the function is answered 403, one
// that cannot be reached 502.
package main

import (
	"errors"
	"strings"

	"cwasi.io/sdk/go/cwasi"
)

func init() {
	cwasi.Handle(func(req cwasi.Request) (cwasi.Response, error) {
		url := strings.TrimSpace(string(req.Body))
		resp, err := cwasi.HTTPRequest("GET", url, cwasi.Header{"Accept": {"*/*"}}, nil)
		switch {
		case errors.Is(err, cwasi.ErrDenied):
			return cwasi.Response{Status: 403, Body: []byte(err.Error() + "\n")}, nil
		case errors.Is(err, cwasi.ErrConnect):
			return cwasi.Response{Status: 502, Body: []byte(err.Error() + "\n")}, nil
		case err != nil:
			return cwasi.Response{}, err
		}
		h := cwasi.Header{}
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			h.Set("Content-Type", ct)
		}
		return cwasi.Response{Status: resp.Status, Header: h, Body: resp.Body}, nil
	})
}

func main() {}
