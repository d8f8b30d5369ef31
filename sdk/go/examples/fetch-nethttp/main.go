// fetch-nethttp (reactor): fetch with net/http's client on cwasihttp's
// Transport: the URL in the request, the answer's status, Content-Type and
// body back. Compare its size with fetch, which calls cwasi.HTTPRequest.
package main

import (
	"io"
	"net/http"
	"strings"

	"cwasi.io/sdk/go/cwasi"
	"cwasi.io/sdk/go/cwasihttp"
)

var client = &http.Client{Transport: &cwasihttp.Transport{}}

func init() {
	cwasi.Handle(func(req cwasi.Request) (cwasi.Response, error) {
		resp, err := client.Get(strings.TrimSpace(string(req.Body)))
		if err != nil {
			return cwasi.Response{}, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return cwasi.Response{}, err
		}
		h := cwasi.Header{}
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			h.Set("Content-Type", ct)
		}
		return cwasi.Response{Status: resp.StatusCode, Header: h, Body: body}, nil
	})
}

func main() {}
