package cwasihttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cwasi.io/sdk/go/cwasi"
)

type sent struct {
	method, url string
	header      cwasi.Header
	body        string
	timeout     time.Duration
}

func fake(t *testing.T, resp *cwasi.HTTPResponse, err error) *sent {
	var s sent
	old := send
	t.Cleanup(func() { send = old })
	send = func(method, url string, h cwasi.Header, body []byte, timeout time.Duration) (*cwasi.HTTPResponse, error) {
		s = sent{method, url, h, string(body), timeout}
		return resp, err
	}
	return &s
}

func TestAClientSendsThroughTheHostAndReadsItsAnswer(t *testing.T) {
	s := fake(t, &cwasi.HTTPResponse{Status: 201, Header: cwasi.Header{"Content-Type": {"text/plain"}},
		Body: []byte("made")}, nil)
	c := &http.Client{Transport: &Transport{Timeout: 5 * time.Second}}
	req, _ := http.NewRequest("POST", "http://api.example/items?x=1", strings.NewReader("new"))
	req.Header.Set("X-Token", "t")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || resp.Status != "201 Created" || string(body) != "made" ||
		resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("response %+v %q", resp, body)
	}
	if s.method != "POST" || s.url != "http://api.example/items?x=1" || s.body != "new" ||
		s.header.Get("X-Token") != "t" || s.timeout != 5*time.Second {
		t.Fatalf("sent %+v", *s)
	}
}

func TestHostErrorsKeepTheirCodeAndDeadlinesBoundTheTimeout(t *testing.T) {
	s := fake(t, nil, &cwasi.Error{Op: "http_request", Code: cwasi.ErrDenied})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://denied.example/", nil)
	_, err := (&http.Client{Transport: &Transport{}}).Do(req)
	if !errors.Is(err, cwasi.ErrDenied) {
		t.Fatalf("got %v", err)
	}
	if s.timeout <= 0 || s.timeout > time.Second || s.method != "GET" {
		t.Fatalf("sent %+v", *s)
	}
}
