//go:build !wasip1

package cwasi

import "os"

// Outside wasip1 there is no host: every call into it is ErrUnsupported.

func hostCall(string, []byte, uint32) (int32, []byte) { return int32(ErrUnsupported), nil }

func hostSend(string, []byte) int32 { return int32(ErrUnsupported) }

func hostRecv(uint32) (int32, []byte) { return int32(ErrUnsupported), nil }

func hostHTTPRequest(string, string, string, []byte, uint32) (int32, int32, []byte, []byte) {
	return int32(ErrUnsupported), 0, nil, nil
}

// stderr writes to standard error (a variable: tests keep panics quiet).
var stderr = func(s string) { os.Stderr.WriteString(s) }
