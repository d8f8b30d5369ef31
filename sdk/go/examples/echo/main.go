// echo (reactor): responds with its request byte for byte, with the request's
// Content-Type, and tells what it saw of the HTTP request in X-Echo-*
// headers: method, path, query and the value of X-Echo (a request header).
package main

import "cwasi.io/sdk/go/cwasi"

func init() {
	cwasi.Handle(func(req cwasi.Request) (cwasi.Response, error) {
		h := cwasi.Header{}
		if ct := req.Header.Get("Content-Type"); ct != "" {
			h.Set("Content-Type", ct)
		}
		h.Set("X-Echo-Method", req.Method)
		h.Set("X-Echo-Path", req.Path)
		h.Set("X-Echo-Query", req.Query)
		h.Set("X-Echo-Header", req.Header.Get("X-Echo"))
		return cwasi.Response{Header: h, Body: req.Body}, nil
	})
}

func main() {}
