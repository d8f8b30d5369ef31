package agent

import (
	"fmt"
	"strconv"
	"strings"
)

// A TOML skimmer: just enough of TOML 1.0 to find the tables and keys of
// containerd's config and say where each statement starts. It checks the
// syntax of what it skips (strings, arrays, inline tables) so a bracket
// inside a string or a multi-line array is never taken for a table header;
// values are kept as raw text. No new dependency for one table.

// tomlStmt is one statement: a table header or a key/value pair.
type tomlStmt struct {
	line        int      // 1-based line where the statement starts
	header      bool     // [table] or [[array.of.tables]]
	arrayHeader bool     // [[...]]
	key         []string // table path (headers) or dotted key (key/values), unquoted
	value       string   // raw value text (key/values)
}

type tomlScanner struct {
	src  string
	i    int
	line int
}

// scanTOML splits src into statements or says where it stopped making sense.
func scanTOML(src string) ([]tomlStmt, error) {
	s := &tomlScanner{src: src, line: 1}
	var out []tomlStmt
	for {
		s.skipBlank(true)
		if s.eof() {
			return out, nil
		}
		st := tomlStmt{line: s.line}
		if s.peek() == '[' {
			st.header = true
			s.i++
			if s.peek() == '[' {
				st.arrayHeader = true
				s.i++
			}
			key, err := s.key()
			if err != nil {
				return nil, err
			}
			st.key = key
			s.skipSpace()
			if err := s.expect(']'); err != nil {
				return nil, err
			}
			if st.arrayHeader {
				if err := s.expect(']'); err != nil {
					return nil, err
				}
			}
		} else {
			key, err := s.key()
			if err != nil {
				return nil, err
			}
			st.key = key
			s.skipSpace()
			if err := s.expect('='); err != nil {
				return nil, err
			}
			s.skipSpace()
			start := s.i
			if err := s.value(); err != nil {
				return nil, err
			}
			st.value = s.src[start:s.i]
		}
		if err := s.endOfLine(); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
}

func (s *tomlScanner) eof() bool { return s.i >= len(s.src) }

func (s *tomlScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *tomlScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", s.line, fmt.Sprintf(format, args...))
}

func (s *tomlScanner) expect(c byte) error {
	if s.peek() != c {
		return s.errorf("expected %q, found %s", c, s.describe())
	}
	s.i++
	return nil
}

func (s *tomlScanner) describe() string {
	if s.eof() {
		return "end of file"
	}
	return strconv.Quote(string(s.src[s.i]))
}

func (s *tomlScanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t') {
		s.i++
	}
}

// skipBlank skips spaces, comments and, when newlines is set, line ends.
func (s *tomlScanner) skipBlank(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '\n' && newlines:
			s.i++
			s.line++
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

func (s *tomlScanner) endOfLine() error {
	s.skipBlank(false)
	if s.eof() {
		return nil
	}
	if s.peek() != '\n' {
		return s.errorf("unexpected %s after a statement", s.describe())
	}
	return nil
}

// key reads a dotted key: bare, "basic" or 'literal' parts.
func (s *tomlScanner) key() ([]string, error) {
	var parts []string
	for {
		s.skipSpace()
		switch c := s.peek(); {
		case c == '"':
			raw, err := s.basicString()
			if err != nil {
				return nil, err
			}
			part, err := unquoteBasic(raw)
			if err != nil {
				return nil, s.errorf("bad quoted key %s: %v", raw, err)
			}
			parts = append(parts, part)
		case c == '\'':
			raw, err := s.literalString()
			if err != nil {
				return nil, err
			}
			parts = append(parts, raw[1:len(raw)-1])
		default:
			start := s.i
			for !s.eof() && isBareKeyChar(s.peek()) {
				s.i++
			}
			if s.i == start {
				return nil, s.errorf("expected a key, found %s", s.describe())
			}
			parts = append(parts, s.src[start:s.i])
		}
		s.skipSpace()
		if s.peek() != '.' {
			return parts, nil
		}
		s.i++
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value of any type.
func (s *tomlScanner) value() error {
	switch s.peek() {
	case '"':
		if strings.HasPrefix(s.src[s.i:], `"""`) {
			return s.multiline(`"""`, true)
		}
		_, err := s.basicString()
		return err
	case '\'':
		if strings.HasPrefix(s.src[s.i:], `'''`) {
			return s.multiline(`'''`, false)
		}
		_, err := s.literalString()
		return err
	case '[':
		s.i++
		for {
			s.skipBlank(true)
			if s.peek() == ']' {
				s.i++
				return nil
			}
			if err := s.value(); err != nil {
				return err
			}
			s.skipBlank(true)
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.errorf("expected ',' or ']' in an array, found %s", s.describe())
			}
		}
	case '{':
		s.i++
		s.skipSpace()
		if s.peek() == '}' {
			s.i++
			return nil
		}
		for {
			if _, err := s.key(); err != nil {
				return err
			}
			s.skipSpace()
			if err := s.expect('='); err != nil {
				return err
			}
			s.skipSpace()
			if err := s.value(); err != nil {
				return err
			}
			s.skipSpace()
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return nil
			default:
				return s.errorf("expected ',' or '}' in an inline table, found %s", s.describe())
			}
		}
	default:
		// Numbers, booleans, dates. A date-time may have a space between
		// date and time ("1979-05-27 07:32:00").
		start := s.i
		for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.peek())) {
			s.i++
		}
		if s.i == start {
			return s.errorf("expected a value, found %s", s.describe())
		}
		if isDate(s.src[start:s.i]) && strings.HasPrefix(s.src[s.i:], " ") && s.i+1 < len(s.src) && isDigit(s.src[s.i+1]) {
			s.i++
			for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.peek())) {
				s.i++
			}
		}
		return nil
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDate(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(v[i]) {
			return false
		}
	}
	return true
}

// basicString reads a one-line "..." string and returns it with its quotes.
func (s *tomlScanner) basicString() (string, error) {
	start := s.i
	s.i++
	for !s.eof() {
		switch s.peek() {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return s.src[start:s.i], nil
		case '\n':
			return "", s.errorf("unterminated string")
		}
		s.i++
	}
	return "", s.errorf("unterminated string")
}

// literalString reads a one-line '...' string and returns it with its quotes.
func (s *tomlScanner) literalString() (string, error) {
	start := s.i
	s.i++
	for !s.eof() {
		switch s.peek() {
		case '\'':
			s.i++
			return s.src[start:s.i], nil
		case '\n':
			return "", s.errorf("unterminated string")
		}
		s.i++
	}
	return "", s.errorf("unterminated string")
}

// multiline skips a multi-line string (delim is three quotes of one kind),
// counting its lines.
func (s *tomlScanner) multiline(delim string, escapes bool) error {
	startLine := s.line
	s.i += len(delim)
	for !s.eof() {
		c := s.peek()
		switch {
		case escapes && c == '\\':
			if s.i+1 < len(s.src) && s.src[s.i+1] == '\n' {
				s.line++
			}
			s.i += 2
			continue
		case c == '\n':
			s.line++
		case strings.HasPrefix(s.src[s.i:], delim):
			s.i += len(delim)
			// Up to two quotes may stand right before the closing delimiter.
			for n := 0; n < 2 && s.peek() == delim[0]; n++ {
				s.i++
			}
			return nil
		}
		s.i++
	}
	return fmt.Errorf("line %d: unterminated multi-line string", startLine)
}

// unquoteBasic decodes a "..." TOML string (its escapes are Go's, less a few).
func unquoteBasic(raw string) (string, error) {
	return strconv.Unquote(raw)
}

// tomlString decodes a raw value that is a one-line basic or literal string.
func tomlString(raw string) (string, bool) {
	switch {
	case len(raw) >= 2 && raw[0] == '\'' && raw[len(raw)-1] == '\'' && !strings.HasPrefix(raw, "'''"):
		return raw[1 : len(raw)-1], true
	case len(raw) >= 2 && raw[0] == '"' && !strings.HasPrefix(raw, `"""`):
		v, err := unquoteBasic(raw)
		return v, err == nil
	}
	return "", false
}
