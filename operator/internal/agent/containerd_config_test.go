package agent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A version 2 config as `containerd config default` writes it, trimmed.
const configV2 = `version = 2

root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins]

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
`

const tableV2 = `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cwasi]`
const tableV3 = `[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.cwasi]`

func TestEnsureRuntime(t *testing.T) {
	withCwasi := configV2 + `
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cwasi]
          runtime_type = "io.containerd.cwasi.v1"   # ours
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cwasi.options]
            Foo = "bar"
`
	tests := []struct {
		name     string
		config   string
		appended string // the table expected after the original bytes; "" = unchanged
		err      error  // wrapped sentinel, or errAny
		errText  string // a substring of the message
	}{
		{name: "absent is appended", config: configV2, appended: tableV2},
		{name: "absent without final newline", config: strings.TrimSuffix(configV2, "\n"), appended: tableV2},
		{name: "version 3 uses the CRI runtime plugin", config: "version = 3\n\n[plugins]\n", appended: tableV3},
		{name: "present is untouched", config: withCwasi},
		{name: "present with a literal string", config: "version = 2\n" + tableV2 + "\nruntime_type = 'io.containerd.cwasi.v1'\n"},
		{name: "present with spaces in the header", config: "version = 2\n[ plugins . \"io.containerd.grpc.v1.cri\" . containerd . runtimes . 'cwasi' ]\n runtime_type=\"io.containerd.cwasi.v1\"\n"},
		{name: "header in a comment does not count", config: configV2 + "# " + tableV2 + "\n", appended: tableV2},
		{name: "header in a multi-line array does not count", config: "version = 2\nimports = [\n  \"" + strings.ReplaceAll(tableV2, `"`, `\"`) + "\",\n  # " + tableV2 + "\n]\n", appended: tableV2},
		{name: "header in a multi-line string does not count", config: "version = 2\nnote = '''\n" + tableV2 + "\nruntime_type = \"x\"\n'''\n", appended: tableV2},
		{name: "sub-table alone is not the table", config: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.cwasi.options]\nFoo = 1\n", appended: tableV2},
		{
			name:    "another runtime_type is a conflict",
			config:  configV2 + "\n" + tableV2 + "\n  runtime_type = \"io.containerd.spin.v2\"\n",
			err:     ErrRuntimeConflict,
			errText: `runtime_type = "io.containerd.spin.v2"`,
		},
		{name: "no runtime_type is a conflict", config: configV2 + "\n" + tableV2 + "\n  privileged_without_host_devices = true\n", err: ErrRuntimeConflict, errText: "no runtime_type"},
		{
			name:    "dotted key from a parent table is a conflict",
			config:  "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\ncwasi.runtime_type = \"io.containerd.cwasi.v1\"\n",
			err:     ErrRuntimeConflict,
			errText: "dotted key",
		},
		{
			name:    "inline parent table is a conflict",
			config:  "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\nruntimes = { runc = { runtime_type = \"io.containerd.runc.v2\" } }\n",
			err:     ErrRuntimeConflict,
			errText: "inline table",
		},
		{name: "no version", config: "[plugins]\n", err: errAny, errText: "no top-level version"},
		{name: "version 1", config: "version = 1\n", err: errAny, errText: "version 1 is not supported"},
		{name: "unparsable", config: "version = 2\n[plugins\n", err: errAny, errText: "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := EnsureRuntime([]byte(tc.config))
			if tc.err != nil {
				if err == nil {
					t.Fatalf("no error; want one containing %q", tc.errText)
				}
				if tc.err != errAny && !errors.Is(err, tc.err) {
					t.Errorf("error %v is not %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("error %q does not say %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureRuntime: %v", err)
			}
			if tc.appended == "" {
				if changed || !bytes.Equal(out, []byte(tc.config)) {
					t.Fatalf("changed a config that has the runtime:\n%s", out)
				}
				return
			}
			if !changed {
				t.Fatal("did not report a change")
			}
			if !bytes.HasPrefix(out, []byte(tc.config)) {
				t.Fatalf("the original bytes are not kept:\n%s", out)
			}
			added := string(out[len(tc.config):])
			if !strings.Contains(added, tc.appended+"\n") || !strings.Contains(added, `runtime_type = "io.containerd.cwasi.v1"`) {
				t.Errorf("appended %q, want the table %s with the runtime_type", added, tc.appended)
			}
			// The result has the runtime: a second pass changes nothing.
			again, changed, err := EnsureRuntime(out)
			if err != nil || changed || !bytes.Equal(again, out) {
				t.Errorf("second pass: changed=%v err=%v", changed, err)
			}
		})
	}
}

// errAny stands for "any error" in the table.
var errAny = errors.New("any error")

func TestEnsureRuntimeKeepsCRLF(t *testing.T) {
	config := strings.ReplaceAll(configV2, "\n", "\r\n")
	out, changed, err := EnsureRuntime([]byte(config))
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	added := string(out[len(config):])
	if strings.Count(added, "\n") != strings.Count(added, "\r\n") {
		t.Errorf("appended lines do not end in CRLF: %q", added)
	}
}

func TestEnsureContainerdConfigFile(t *testing.T) {
	t.Run("appends and keeps the mode", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, path, configV2, 0o640)
		changed, err := EnsureContainerdConfig(path)
		if err != nil || !changed {
			t.Fatalf("changed=%v err=%v", changed, err)
		}
		got := readFile(t, path)
		if !strings.HasPrefix(got, configV2) || !strings.Contains(got, tableV2) {
			t.Errorf("config now:\n%s", got)
		}
		if mode := stat(t, path).Mode().Perm(); mode != 0o640 {
			t.Errorf("mode %v, want 0640", mode)
		}
		assertNoTempFiles(t, filepath.Dir(path))
	})
	t.Run("present is not written", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, path, configV2+"\n"+tableV2+"\nruntime_type = \"io.containerd.cwasi.v1\"\n", 0o600)
		old := time.Now().Add(-time.Hour).Truncate(time.Second)
		os.Chtimes(path, old, old)
		before := stat(t, path)
		changed, err := EnsureContainerdConfig(path)
		if err != nil || changed {
			t.Fatalf("changed=%v err=%v", changed, err)
		}
		after := stat(t, path)
		if !after.ModTime().Equal(before.ModTime()) || inode(after) != inode(before) {
			t.Error("the file was rewritten")
		}
	})
	t.Run("conflict leaves the file alone", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.toml")
		config := configV2 + "\n" + tableV2 + "\nruntime_type = \"io.containerd.runc.v2\"\n"
		writeFile(t, path, config, 0o644)
		if _, err := EnsureContainerdConfig(path); !errors.Is(err, ErrRuntimeConflict) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrRuntimeConflict naming the file", err)
		}
		if readFile(t, path) != config {
			t.Error("the file changed")
		}
	})
	t.Run("a symlink stays a symlink", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "real.toml")
		link := filepath.Join(dir, "config.toml")
		writeFile(t, real, configV2, 0o644)
		if err := os.Symlink("real.toml", link); err != nil {
			t.Fatal(err)
		}
		if _, err := EnsureContainerdConfig(link); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", link)
		}
		if !strings.Contains(readFile(t, real), tableV2) {
			t.Error("the link's target was not edited")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := EnsureContainerdConfig(filepath.Join(t.TempDir(), "nope.toml"))
		if err == nil || !strings.Contains(err.Error(), "hostPath") {
			t.Errorf("err = %v, want a hint about the hostPath", err)
		}
	})
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func inode(fi os.FileInfo) uint64 { return fi.Sys().(*syscall.Stat_t).Ino }

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
