package cwasi

import (
	"strings"
	"time"
)

// HTTPResponse is the answer to an outbound HTTP request.
type HTTPResponse struct {
	Status int
	Header Header
	Body   []byte
}

// HTTPRequest sends an HTTP request from the function (ABI version 3) and
// waits for the answer, within the host's default timeout. The destination
// must be granted to the function, or the error is ErrDenied; an
// unreachable one is ErrConnect. A response with any status (404, 500) is
// an answer, not an error.
func HTTPRequest(method, url string, header Header, body []byte) (*HTTPResponse, error) {
	return HTTPRequestTimeout(method, url, header, body, 0)
}

// HTTPRequestTimeout is HTTPRequest waiting at most timeout (0: the host's
// default), rounded up to a millisecond.
func HTTPRequestTimeout(method, url string, header Header, body []byte, timeout time.Duration) (*HTTPResponse, error) {
	lines, err := headerLines(header)
	if err != nil {
		return nil, &Error{Op: "http_request", Target: url, Code: ErrInvalidArgument, Detail: err.Error()}
	}
	return httpRequest(method, url, lines, body, millis(timeout))
}

// headerLines encodes headers as the ABI wants them: "Name: value" lines,
// each ended by "\n". A name or value that would break a line is refused
// here, before it could be read as another header.
func headerLines(h Header) (string, error) {
	var b strings.Builder
	for _, k := range h.sortedKeys() {
		if k == "" || strings.ContainsAny(k, ":\r\n\x00 \t") {
			return "", &headerError{"header name " + quote(k) + " is not a token"}
		}
		for _, v := range h[k] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return "", &headerError{"header " + k + " has a CR, LF or NUL in its value"}
			}
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// parseHeaderLines decodes the host's "Name: value\n" lines (a "\r\n"
// ending is accepted too); a line without a colon is skipped.
func parseHeaderLines(text string) Header {
	h := Header{}
	for len(text) > 0 {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			continue
		}
		h.Add(k, strings.TrimLeft(v, " \t"))
	}
	return h
}

type headerError struct{ s string }

func (e *headerError) Error() string { return e.s }

func quote(s string) string { return "\"" + s + "\"" }

// millis converts a timeout for the ABI: 0 stays 0 (the host's default), a
// fraction of a millisecond rounds up, a longer one than fits is the
// longest that does.
func millis(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 0xffffffff {
		return 0xffffffff
	}
	return uint32(ms)
}
