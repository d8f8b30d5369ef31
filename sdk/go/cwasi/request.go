package cwasi

import (
	"sort"
	"strings"
)

// Header holds HTTP header fields by canonical name ("Content-Type"), as
// net/http's Header does; http.Header(h) converts one into the other.
type Header map[string][]string

// CanonicalHeaderKey returns the canonical form of a header name: the first
// letter and each letter after a hyphen upper case, the rest lower case.
// A name with a character that is not a letter, digit or hyphen is
// returned unchanged, as net/http does.
func CanonicalHeaderKey(name string) string {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return name
		}
	}
	b := []byte(name)
	upper := true
	for i, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		} else if !upper && c >= 'A' && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return string(b)
}

// Get returns the first value of the header, or "".
func (h Header) Get(name string) string {
	if v := h[CanonicalHeaderKey(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of the header.
func (h Header) Values(name string) []string { return h[CanonicalHeaderKey(name)] }

// Set replaces the header's values with value.
func (h Header) Set(name, value string) { h[CanonicalHeaderKey(name)] = []string{value} }

// Add appends value to the header's values.
func (h Header) Add(name, value string) {
	k := CanonicalHeaderKey(name)
	h[k] = append(h[k], value)
}

// Del removes the header.
func (h Header) Del(name string) { delete(h, CanonicalHeaderKey(name)) }

// sortedKeys gives a deterministic order for sending headers.
func (h Header) sortedKeys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Request is one invocation of the function.
type Request struct {
	// Body is the request: the HTTP body through cwasid's /function/NAME,
	// the payload of a Call from another function. It is the handler's to
	// keep or change.
	Body []byte
	// Method, Path and Query come from the gateway (Http_Method, Http_Path,
	// Http_Query); empty when the function was not invoked over HTTP.
	Method, Path, Query string
	// Header holds the request's HTTP headers, from the Http_<Name>
	// variables the gateway sets (credentials meant for the gateway, such
	// as Authorization, never reach a function).
	Header Header
}

// Response is the handler's answer. Status and Header shape the HTTP
// response (ABI version 2); a function that calls this one through Call
// sees only the Body.
type Response struct {
	// Status is the HTTP status, 200 to 599; 0 means 200.
	Status int
	// Header holds the response's headers. Content-Type and Location hold
	// one value; other names may repeat. Without a Content-Type the gateway
	// sends application/octet-stream.
	Header Header
	Body   []byte
}

// requestFromEnv reads what the gateway passes about the request from the
// environment ("KEY=value" strings, as os.Environ returns them).
func requestFromEnv(environ []string) Request {
	var r Request
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "Http_") {
			continue
		}
		switch k {
		case "Http_Method":
			r.Method = v
		case "Http_Path":
			r.Path = v
		case "Http_Query":
			r.Query = v
		default:
			if r.Header == nil {
				r.Header = Header{}
			}
			// Http_Content_Type: the gateway replaced each hyphen with an
			// underscore.
			r.Header.Add(strings.ReplaceAll(k[len("Http_"):], "_", "-"), v)
		}
	}
	return r
}
