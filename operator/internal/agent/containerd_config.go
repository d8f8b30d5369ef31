package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"cwasi.io/operator/internal/names"
)

// RuntimeType is the containerd runtime type of the cwasi shim: containerd
// turns it into the binary name containerd-shim-cwasi-v1.
const RuntimeType = "io.containerd.cwasi.v1"

// ErrRuntimeConflict means containerd's config already has a cwasi runtime
// the agent did not write (another runtime_type, or a form it does not
// edit). The agent leaves it alone: a human wrote it.
var ErrRuntimeConflict = errors.New("containerd config defines the cwasi runtime differently")

// runtimeTable is the path of the runtime's table for each config version:
// version 2 (containerd 1.x, and 2.x, which migrates it) and version 3
// (containerd 2.x's own).
func runtimeTable(version int) []string {
	plugin := "io.containerd.grpc.v1.cri"
	if version == 3 {
		plugin = "io.containerd.cri.v1.runtime"
	}
	return []string{"plugins", plugin, "containerd", "runtimes", names.RuntimeClass}
}

// EnsureRuntime returns containerd's config with the cwasi runtime entry,
// and whether it had to add it. A config that has the entry comes back
// unchanged; otherwise the table is appended and every byte before it is
// kept. It fails with ErrRuntimeConflict when the entry exists in another
// form, and on a config it cannot read or whose version it does not know.
func EnsureRuntime(config []byte) ([]byte, bool, error) {
	stmts, err := scanTOML(string(config))
	if err != nil {
		return nil, false, fmt.Errorf("cannot parse containerd's config (%w); add the cwasi runtime by hand", err)
	}

	version := 0
	for _, st := range stmts {
		if st.header {
			break // version lives in the root table
		}
		if slices.Equal(st.key, []string{"version"}) {
			v, err := strconv.Atoi(strings.TrimSpace(st.value))
			if err != nil {
				return nil, false, fmt.Errorf("containerd config line %d: version = %s is not a number", st.line, st.value)
			}
			version = v
		}
	}
	if version != 2 && version != 3 {
		if version == 0 {
			return nil, false, fmt.Errorf("containerd config has no top-level version (version 1 configs are not supported); want version = 2 or 3")
		}
		return nil, false, fmt.Errorf("containerd config version %d is not supported; want 2 or 3", version)
	}

	table := runtimeTable(version)
	header := tomlHeader(table)
	var current []string
	found, typeSet := false, false
	foundLine := 0
	for _, st := range stmts {
		if st.header {
			current = st.key
			if hasPrefix(current, table) && (st.arrayHeader || slices.Equal(current, table)) {
				if st.arrayHeader {
					return nil, false, fmt.Errorf("%w: line %d declares [[%s]] as an array of tables", ErrRuntimeConflict, st.line, strings.Join(st.key, "."))
				}
				found, foundLine = true, st.line
			}
			continue
		}
		full := append(slices.Clone(current), st.key...)
		switch {
		case slices.Equal(current, table) && slices.Equal(st.key, []string{"runtime_type"}):
			typeSet = true
			got, ok := tomlString(st.value)
			if !ok || got != RuntimeType {
				return nil, false, fmt.Errorf("%w: line %d has runtime_type = %s, the agent wants %q; fix or remove the table %s by hand",
					ErrRuntimeConflict, st.line, st.value, RuntimeType, header)
			}
		case hasPrefix(full, table) && !hasPrefix(current, table):
			// A dotted key or inline table from a parent table: appending
			// the header would define it twice, which containerd rejects.
			return nil, false, fmt.Errorf("%w: line %d defines it as a dotted key (%s); the agent only edits a %s table",
				ErrRuntimeConflict, st.line, strings.Join(full, "."), header)
		case len(full) < len(table) && hasPrefix(table, full) && strings.HasPrefix(st.value, "{"):
			// An inline table cannot be extended by a later header.
			return nil, false, fmt.Errorf("%w: line %d makes %s an inline table, so the agent cannot add %s; add the runtime by hand",
				ErrRuntimeConflict, st.line, strings.Join(full, "."), header)
		}
	}
	if found {
		if !typeSet {
			return nil, false, fmt.Errorf("%w: the table %s at line %d has no runtime_type; set runtime_type = %q by hand",
				ErrRuntimeConflict, header, foundLine, RuntimeType)
		}
		return config, false, nil
	}

	nl := "\n"
	if bytes.Contains(config, []byte("\r\n")) {
		nl = "\r\n"
	}
	var b bytes.Buffer
	b.Grow(len(config) + 160)
	b.Write(config)
	if len(config) > 0 {
		if !bytes.HasSuffix(config, []byte("\n")) {
			b.WriteString(nl)
		}
		b.WriteString(nl)
	}
	b.WriteString("# Added by the cwasi node agent." + nl)
	b.WriteString(header + nl)
	b.WriteString(`  runtime_type = "` + RuntimeType + `"` + nl)
	return b.Bytes(), true, nil
}

// EnsureContainerdConfig applies EnsureRuntime to the file at path and
// writes the result atomically when it changed, keeping the file's mode and
// owner (a symlink is followed, not replaced). It reports whether it wrote.
func EnsureContainerdConfig(path string) (bool, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false, fmt.Errorf("containerd config %s: %w (is the hostPath mounted?)", path, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return false, fmt.Errorf("containerd config: %w", err)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return false, fmt.Errorf("containerd config: %w", err)
	}
	out, changed, err := EnsureRuntime(data)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if !changed {
		return false, nil
	}
	if err := writeBytesAtomic(real, out, fi.Mode().Perm(), ownerOf(fi)); err != nil {
		return false, fmt.Errorf("containerd config: %w", err)
	}
	return true, nil
}

// tomlHeader spells a table header, quoting the parts that need it.
func tomlHeader(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		bare := p != ""
		for j := 0; j < len(p); j++ {
			bare = bare && isBareKeyChar(p[j])
		}
		if bare {
			parts[i] = p
		} else {
			parts[i] = strconv.Quote(p)
		}
	}
	return "[" + strings.Join(parts, ".") + "]"
}

func hasPrefix(s, prefix []string) bool {
	return len(s) >= len(prefix) && slices.Equal(s[:len(prefix)], prefix)
}
