package cwasi

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRequestFromEnvReadsWhatTheGatewayPasses(t *testing.T) {
	r := requestFromEnv([]string{
		"PATH=/bin", "Http_Method=PUT", "Http_Path=/a/b", "Http_Query=x=1&y=2",
		"Http_Content_Type=text/plain", "Http_X_Call_Id=abc-1", "Http_Accept=a=b", "fprocess=x",
	})
	if r.Method != "PUT" || r.Path != "/a/b" || r.Query != "x=1&y=2" {
		t.Fatalf("method/path/query: %+v", r)
	}
	want := Header{"Content-Type": {"text/plain"}, "X-Call-Id": {"abc-1"}, "Accept": {"a=b"}}
	if !reflect.DeepEqual(r.Header, want) {
		t.Fatalf("headers: got %v, want %v", r.Header, want)
	}
	if r.Header.Get("content-type") != "text/plain" {
		t.Fatal("Get is not case-insensitive")
	}
}

func TestWithoutTheGatewayARequestHasNoHTTPFields(t *testing.T) {
	r := requestFromEnv([]string{"HOME=/"})
	if r.Method != "" || r.Header != nil {
		t.Fatalf("%+v", r)
	}
	if r.Header.Get("X") != "" { // a nil Header reads as empty
		t.Fatal("nil header")
	}
}

func TestCanonicalHeaderKeyMatchesNetHTTP(t *testing.T) {
	for in, want := range map[string]string{
		"content-type": "Content-Type", "X-CALL-ID": "X-Call-Id", "etag": "Etag",
		"a b": "a b", "": "",
	} {
		if got := CanonicalHeaderKey(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestHeaderLinesRoundTripAndRefuseLineBreaks(t *testing.T) {
	h := Header{}
	h.Add("x-b", "2")
	h.Add("X-B", "3")
	h.Set("Accept", "*/*")
	lines, err := headerLines(h)
	if err != nil || lines != "Accept: */*\nX-B: 2\nX-B: 3\n" {
		t.Fatalf("%q %v", lines, err)
	}
	if got := parseHeaderLines(lines + "junk\r\nSet-Cookie:  a=1\r\n"); !reflect.DeepEqual(got,
		Header{"Accept": {"*/*"}, "X-B": {"2", "3"}, "Set-Cookie": {"a=1"}}) {
		t.Fatalf("parsed %v", got)
	}
	for _, bad := range []Header{{"X": {"a\r\nEvil: 1"}}, {"X": {"a\nb"}}, {"Bad Name": {"v"}}, {"": {"v"}}} {
		if _, err := headerLines(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	_, err = HTTPRequest("GET", "http://x/", Header{"X": {"a\nb"}}, nil)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorsAreTypedAndMatchTheirCode(t *testing.T) {
	err := check(int32(ErrUnknownTarget), "call", "nope")
	if !errors.Is(err, ErrUnknownTarget) || errors.Is(err, ErrTimeout) {
		t.Fatalf("errors.Is: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "call" || e.Target != "nope" {
		t.Fatalf("errors.As: %#v", err)
	}
	if err.Error() != `cwasi: call "nope": unknown target` {
		t.Fatalf("text: %q", err.Error())
	}
	if check(0, "call", "x") != nil {
		t.Fatal("OK is an error")
	}
	if Code(10).Error() != "connection failed" || Code(99).Error() != "error 99" {
		t.Fatal("code text")
	}
	// Off wasip1 there is no host.
	if _, err := Call("x", nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Call: %v", err)
	}
}

func TestTimeoutsRoundUpToAMillisecond(t *testing.T) {
	for d, want := range map[time.Duration]uint32{
		0: 0, -time.Second: 0, time.Microsecond: 1, 1500 * time.Microsecond: 2, time.Second: 1000,
		2000 * time.Hour: 0xffffffff,
	} {
		if got := millis(d); got != want {
			t.Errorf("%v: got %d, want %d", d, got, want)
		}
	}
}

func TestHandlerFailuresAndPanicsBecomeTheirText(t *testing.T) {
	defer Handle(nil)
	var logged string
	old := stderr
	stderr = func(s string) { logged += s }
	defer func() { stderr = old }()
	if _, f := invoke(Request{}); f == "" {
		t.Fatal("no handler: no failure")
	}
	Handle(func(r Request) (Response, error) { return Response{}, errors.New("boom") })
	if _, f := invoke(Request{}); f != "boom" {
		t.Fatalf("got %q", f)
	}
	Handle(func(r Request) (Response, error) { panic("oops") })
	if _, f := invoke(Request{}); f != "panic: oops" {
		t.Fatalf("got %q", f)
	}
	if !strings.Contains(logged, "panic: oops") || !strings.Contains(logged, "goroutine") {
		t.Fatalf("no stack on stderr: %q", logged)
	}
	Handle(func(r Request) (Response, error) { return Response{Status: 201, Body: r.Body}, nil })
	if resp, f := invoke(Request{Body: []byte("x")}); f != "" || resp.Status != 201 || string(resp.Body) != "x" {
		t.Fatalf("got %+v %q", resp, f)
	}
}
