package cwasi

import "strconv"

// Code is a status code of the guest ABI (CWASI_ERR_* in sdk/c/cwasi.h). The
// non-zero codes are errors themselves, so errors.Is(err, cwasi.ErrTimeout)
// tells what went wrong with any error this package returns.
type Code int32

// The ABI's codes, with the values of sdk/c/cwasi.h.
const (
	OK Code = 0
	// No function of that name is known to the host.
	ErrUnknownTarget Code = 1
	// The target is known but cannot be reached now.
	ErrUnavailable Code = 2
	// No answer (or, for Recv, no message) within the timeout.
	ErrTimeout Code = 3
	// A payload or response is larger than the host or the receiver accepts.
	ErrTooLarge Code = 4
	// A bad argument: an empty target name, a header the host refuses...
	ErrInvalidArgument Code = 5
	// The host failed in a way the function cannot fix.
	ErrInternal Code = 6
	// The target ran and failed; Error.Detail holds its error text.
	ErrFunctionFailed Code = 7
	// This host does not offer the operation.
	ErrUnsupported Code = 8
	// ABI version 3: the destination of an outbound HTTP request is not
	// granted to this function.
	ErrDenied Code = 9
	// ABI version 3: the destination could not be reached (DNS failure,
	// connection refused or reset).
	ErrConnect Code = 10
)

var codeNames = [...]string{
	"ok", "unknown target", "unavailable", "timeout", "too large", "invalid argument",
	"internal error", "function failed", "unsupported", "denied", "connection failed",
}

func (c Code) Error() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "error " + strconv.Itoa(int(c))
}

// Error is what a call into the host returns on failure: which operation,
// on what, and the ABI's code (its Unwrap, for errors.Is).
type Error struct {
	Op     string // "call", "send", "recv", "http_request", "response_header"...
	Target string // the function, URL or header concerned; may be empty
	Code   Code
	// Detail is the target's own error text for ErrFunctionFailed, or why
	// the package refused an argument itself.
	Detail string
}

func (e *Error) Error() string {
	s := "cwasi: " + e.Op
	if e.Target != "" {
		s += " " + strconv.Quote(e.Target)
	}
	s += ": " + e.Code.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the Code.
func (e *Error) Unwrap() error { return e.Code }

// check turns a status of the host into nil or an *Error.
func check(rc int32, op, target string) error {
	if rc == 0 {
		return nil
	}
	return &Error{Op: op, Target: target, Code: Code(rc)}
}

func itoa(i int) string { return strconv.Itoa(i) }
