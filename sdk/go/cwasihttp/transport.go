// Package cwasihttp lets net/http clients run inside a cwasi function: its
// Transport sends each request through the host's outbound HTTP call
// (cwasi.HTTPRequest, guest ABI version 3).
//
//	client := &http.Client{Transport: &cwasihttp.Transport{}}
//	resp, err := client.Get("https://api.example.com/v1/items")
//
// The host decides which destinations a function may reach, and makes the
// connection (TLS included); the whole response is read before RoundTrip
// returns. net/http makes a module several megabytes larger: a function
// that needs only a request or two is smaller with cwasi.HTTPRequest.
package cwasihttp

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"cwasi.io/sdk/go/cwasi"
)

// Transport is an http.RoundTripper over the host's outbound HTTP call. The
// zero value is ready to use.
type Transport struct {
	// Timeout bounds each request (0: the host's default); a request's
	// context deadline, when sooner, wins.
	Timeout time.Duration
}

// send is the host call; tests replace it.
var send = cwasi.HTTPRequestTimeout

// RoundTrip implements http.RoundTripper. Errors of the host keep their
// cwasi code: errors.Is(err, cwasi.ErrDenied) works through *url.Error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	timeout := t.Timeout
	if d, ok := req.Context().Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return nil, cwasi.ErrTimeout
		}
		if timeout == 0 || left < timeout {
			timeout = left
		}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	header := cwasi.Header(req.Header.Clone())
	if header == nil {
		header = cwasi.Header{}
	}
	if req.Host != "" && req.Host != req.URL.Host {
		header.Set("Host", req.Host)
	}
	r, err := send(method, req.URL.String(), header, body, timeout)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		Status:        strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		StatusCode:    r.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header(r.Header),
		Body:          io.NopCloser(bytes.NewReader(r.Body)),
		ContentLength: int64(len(r.Body)),
		Request:       req,
	}, nil
}
