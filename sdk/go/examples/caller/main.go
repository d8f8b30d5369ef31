// caller (reactor): calls other functions. The request's first line says
// what to do, the rest is the payload:
//
//	call TARGET    responds with TARGET's response to the payload
//	send TARGET    sends the payload to TARGET, responds "sent"
//	recv MILLIS    responds with the next message sent to this function
//	fail MESSAGE   fails with MESSAGE (the handler returns an error)
//	panic MESSAGE  panics with MESSAGE
//
// A failed call fails the handler with the SDK's error, which names the
// target and the ABI's code ("cwasi: call \"nope\": unknown target"); with
// errors.Is the handler tells a timeout from the rest.
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cwasi.io/sdk/go/cwasi"
)

func handle(req cwasi.Request) (cwasi.Response, error) {
	line, payload, _ := strings.Cut(string(req.Body), "\n")
	op, arg, _ := strings.Cut(line, " ")
	switch op {
	case "call":
		resp, err := cwasi.Call(arg, []byte(payload))
		if errors.Is(err, cwasi.ErrTimeout) {
			return cwasi.Response{Status: 504, Body: []byte(arg + " did not answer in time\n")}, nil
		}
		if err != nil {
			return cwasi.Response{}, err
		}
		return cwasi.Response{Body: resp}, nil
	case "send":
		if err := cwasi.Send(arg, []byte(payload)); err != nil {
			return cwasi.Response{}, err
		}
		return cwasi.Response{Body: []byte("sent")}, nil
	case "recv":
		ms, _ := strconv.Atoi(arg)
		msg, err := cwasi.Recv(time.Duration(ms) * time.Millisecond)
		if err != nil {
			return cwasi.Response{}, err
		}
		return cwasi.Response{Body: msg}, nil
	case "fail":
		return cwasi.Response{}, errors.New(arg)
	case "panic":
		panic(arg)
	}
	return cwasi.Response{}, fmt.Errorf("caller: unknown operation %q", op)
}

func init() { cwasi.Handle(handle) }

func main() {}
