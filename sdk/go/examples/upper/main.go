// upper (reactor): responds with its request in upper case (ASCII letters
// only: any other byte passes unchanged), and logs the request size on
// stderr (what `cwasi logs` shows). The Go twin of functions/text/upper.c.
package main

import (
	"fmt"
	"os"

	"cwasi.io/sdk/go/cwasi"
)

func init() {
	cwasi.Handle(func(req cwasi.Request) (cwasi.Response, error) {
		out := req.Body // the request is ours to change
		for i, c := range out {
			if c >= 'a' && c <= 'z' {
				out[i] = c - 'a' + 'A'
			}
		}
		fmt.Fprintf(os.Stderr, "upper: %d bytes\n", len(out))
		return cwasi.Response{Body: out}, nil
	})
}

func main() {}
