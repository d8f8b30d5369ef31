package cwasi

import (
	"runtime/debug"
	"time"
)

// handler is the function's handler: set by Handle from init, called for
// each cwasi_handle.
var handler func(Request) (Response, error)

// Handle registers the function's handler; call it from an init function.
// The handler runs once per invocation, one at a time. A returned error
// fails the invocation: the host answers it (HTTP 500 through the gateway,
// ErrFunctionFailed to a caller) with the error's text. A panic in the
// handler is reported the same way, its stack written to stderr.
func Handle(h func(Request) (Response, error)) { handler = h }

// Call calls function target with body and waits for its response, within
// the host's default timeout. It works the same whether the target runs in
// this process, another process on the node or another host. When the
// target ran and failed the error is ErrFunctionFailed, and its text is both
// the returned bytes and the Error's Detail.
func Call(target string, body []byte) ([]byte, error) { return CallTimeout(target, body, 0) }

// CallTimeout is Call waiting at most timeout (0: the host's default),
// rounded up to a millisecond.
func CallTimeout(target string, body []byte, timeout time.Duration) ([]byte, error) {
	rc, resp := hostCall(target, body, millis(timeout))
	if rc == int32(ErrFunctionFailed) {
		return resp, &Error{Op: "call", Target: target, Code: ErrFunctionFailed, Detail: string(resp)}
	}
	if err := check(rc, "call", target); err != nil {
		return nil, err
	}
	return resp, nil
}

// Send sends payload to function target without waiting for it to run; it
// returns once the target's host has accepted the message, which the target
// takes with Recv.
func Send(target string, payload []byte) error {
	return check(hostSend(target, payload), "send", target)
}

// Recv returns the next message sent to this function, waiting at most
// timeout (0: none; ErrTimeout at once when no message is queued).
func Recv(timeout time.Duration) ([]byte, error) {
	rc, payload := hostRecv(millis(timeout))
	if err := check(rc, "recv", ""); err != nil {
		return nil, err
	}
	return payload, nil
}

func httpRequest(method, url, headers string, body []byte, ms uint32) (*HTTPResponse, error) {
	rc, status, hdrs, respBody := hostHTTPRequest(method, url, headers, body, ms)
	if err := check(rc, "http_request", url); err != nil {
		return nil, err
	}
	return &HTTPResponse{Status: int(status), Header: parseHeaderLines(string(hdrs)), Body: respBody}, nil
}

// invoke runs the handler on one request and says what to answer: the
// response, or the text of a failure.
func invoke(req Request) (resp Response, failure string) {
	if handler == nil {
		return Response{}, "cwasi: no handler: call cwasi.Handle from an init function"
	}
	defer func() {
		if v := recover(); v != nil {
			stderr("panic: " + describe(v) + "\n\n" + string(debug.Stack()))
			resp, failure = Response{}, "panic: "+describe(v)
		}
	}()
	r, err := handler(req)
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "handler failed"
		}
		return Response{}, msg
	}
	return r, ""
}

func describe(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	}
	return "(a value that is neither an error nor a string)"
}
