//go:build wasip1

package cwasi

import (
	"os"
	"unsafe"
)

// The host's functions (sdk/c/cwasi.h). Out-parameters are package
// variables: they never move, and one call is in progress at a time (a
// wasip1 Go program runs on one thread).

//go:wasmimport cwasi response_set
func responseSet(body unsafe.Pointer, n uint32) int32

//go:wasmimport cwasi response_status
func responseStatus(status int32) int32

//go:wasmimport cwasi response_header
func responseHeader(name unsafe.Pointer, nameLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport cwasi call
func call(target unsafe.Pointer, targetLen uint32, req unsafe.Pointer, reqLen uint32,
	timeoutMs uint32, resp *uint32, respLen *uint32) int32

//go:wasmimport cwasi send
func send(target unsafe.Pointer, targetLen uint32, payload unsafe.Pointer, payloadLen uint32) int32

//go:wasmimport cwasi recv
func recv(timeoutMs uint32, payload *uint32, payloadLen *uint32) int32

// ABI version 3. The linker keeps an import only when something calls it:
// a module that never sends an HTTP request does not import this one.
//
//go:wasmimport cwasi http_request
func httpRequestImport(method unsafe.Pointer, methodLen uint32, url unsafe.Pointer, urlLen uint32,
	headers unsafe.Pointer, headersLen uint32, body unsafe.Pointer, bodyLen uint32, timeoutMs uint32,
	status *int32, respHeaders *uint32, respHeadersLen *uint32, respBody *uint32, respBodyLen *uint32) int32

var (
	outPtr, outLen   uint32
	outPtr2, outLen2 uint32
	outStatus        int32
)

// live holds every buffer cwasi_alloc handed to the host and the package
// has not taken back yet, by address: what keeps it from being collected.
// Go's collector does not move heap objects, so the address stays valid.
var live = map[uint32][]byte{}

// current is the body named by response_set: the host reads it after
// cwasi_handle returns, so it must outlive the handler.
var current []byte

//go:wasmexport cwasi_alloc
func cwasiAlloc(size uint32) uint32 {
	b := make([]byte, max(size, 1))
	p := addr(b)
	live[p] = b
	return p
}

// take returns the n bytes at p, a buffer from cwasi_alloc (nil for n 0), and
// forgets it: from now on the Go slice keeps it alive.
func take(p, n uint32) []byte {
	if n == 0 {
		delete(live, p)
		return nil
	}
	b, ok := live[p]
	if !ok || uint32(len(b)) < n {
		panic("cwasi: the host passed memory that cwasi_alloc did not hand out")
	}
	delete(live, p)
	return b[:n:n]
}

// forget drops the buffers the host allocated but did not pass back (a
// failed call): only the import that just returned could have asked for
// them.
func forget() { clear(live) }

//go:wasmexport cwasi_handle
func cwasiHandle(ptr, n uint32) int32 {
	body := take(ptr, n)
	forget()
	req := requestFromEnv(os.Environ())
	req.Body = body
	resp, failure := invoke(req)
	if failure == "" {
		failure = respond(resp)
	}
	if failure != "" {
		current = []byte(failure)
		responseSet(bytesPtr(current), uint32(len(current)))
		return 1
	}
	return 0
}

// respond hands the response to the host; it returns the text of a failure
// when the host refuses part of it.
func respond(r Response) string {
	if r.Status != 0 {
		if rc := responseStatus(int32(r.Status)); rc != 0 {
			return (&Error{Op: "response_status", Code: Code(rc), Detail: "status " + itoa(r.Status)}).Error()
		}
	}
	for _, k := range r.Header.sortedKeys() {
		for _, v := range r.Header[k] {
			if rc := responseHeader(strPtr(k), uint32(len(k)), strPtr(v), uint32(len(v))); rc != 0 {
				return (&Error{Op: "response_header", Target: k, Code: Code(rc)}).Error()
			}
		}
	}
	current = r.Body
	if rc := responseSet(bytesPtr(current), uint32(len(current))); rc != 0 {
		return (&Error{Op: "response_set", Code: Code(rc)}).Error()
	}
	return ""
}

func hostCall(target string, body []byte, ms uint32) (int32, []byte) {
	outPtr, outLen = 0, 0
	rc := call(strPtr(target), uint32(len(target)), bytesPtr(body), uint32(len(body)), ms, &outPtr, &outLen)
	resp := take(outPtr, outLen)
	forget()
	return rc, resp
}

func hostSend(target string, payload []byte) int32 {
	return send(strPtr(target), uint32(len(target)), bytesPtr(payload), uint32(len(payload)))
}

func hostRecv(ms uint32) (int32, []byte) {
	outPtr, outLen = 0, 0
	rc := recv(ms, &outPtr, &outLen)
	payload := take(outPtr, outLen)
	forget()
	return rc, payload
}

func hostHTTPRequest(method, url, headers string, body []byte, ms uint32) (rc, status int32, respHeaders, respBody []byte) {
	outStatus, outPtr, outLen, outPtr2, outLen2 = 0, 0, 0, 0, 0
	rc = httpRequestImport(strPtr(method), uint32(len(method)), strPtr(url), uint32(len(url)),
		strPtr(headers), uint32(len(headers)), bytesPtr(body), uint32(len(body)), ms,
		&outStatus, &outPtr, &outLen, &outPtr2, &outLen2)
	respHeaders = take(outPtr, outLen)
	respBody = take(outPtr2, outLen2)
	forget()
	return rc, outStatus, respHeaders, respBody
}

// stderr writes to standard error (a variable: tests keep panics quiet).
var stderr = func(s string) { os.Stderr.WriteString(s) }

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func bytesPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }
