// Package cwasi is the Go side of the cwasi guest ABI (sdk/c/cwasi.h): it
// turns a Go function into a cwasi reactor.
//
// A function registers its handler in init and is built as a WASI reactor:
//
//	package main
//
//	import "cwasi.io/sdk/go/cwasi"
//
//	func init() {
//		cwasi.Handle(func(req cwasi.Request) (cwasi.Response, error) {
//			return cwasi.Response{Body: req.Body}, nil
//		})
//	}
//
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm .
//
// The package exports cwasi_alloc and cwasi_handle itself. -buildmode=c-shared
// makes the module export _initialize, which runs the Go runtime's start-up
// and every init function (main is never run); the host must call it before
// any other export, as cwasi does whenever a module exports it. A function
// calling exports of a Go module from another host must do the same, or the
// module traps with "wasmexport function called before runtime
// initialization".
//
// Memory the host receives from cwasi_alloc stays alive and in place until the
// package hands it on: the request buffer becomes Request.Body, a buffer the
// host filled during Call or Recv becomes their result. Go's collector never
// moves heap objects, and the package keeps a reference to every buffer
// handed out (and to the current response) for as long as the host may
// still use it.
//
// A module runs only while the host calls into it: goroutines a handler
// starts make progress while a handler runs, and must be done (or waited
// for) before it returns to be sure to finish. Calls into the host block the
// whole module, which has one thread.
//
// The imports a module needs are those it uses: a function that never calls
// HTTPRequest does not import cwasi.http_request (ABI version 3) and loads on
// hosts of version 2.
//
// Outside GOOS=wasip1 the package builds too (for tests and tools); the
// calls into the host then return ErrUnsupported.
package cwasi

// ABIVersion is the guest ABI version this package binds (sdk/c/cwasi.h);
// only functions that call HTTPRequest need a host of version 3.
const ABIVersion = 3
