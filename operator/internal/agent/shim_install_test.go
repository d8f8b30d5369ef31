package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// shimFixture is a source binary and an empty shim directory.
func shimFixture(t *testing.T, content string) (source, dir, target string) {
	t.Helper()
	root := t.TempDir()
	source = filepath.Join(root, "image", ShimBinaryName)
	dir = filepath.Join(root, "node-bin")
	for _, d := range []string{filepath.Dir(source), dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, source, content, 0o755)
	return source, dir, filepath.Join(dir, ShimBinaryName)
}

func TestInstallShimInstallsWhenMissing(t *testing.T) {
	source, dir, target := shimFixture(t, "shim v1")
	out, err := InstallShim(source, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != ShimInstalled || out.NewSHA != sha("shim v1") || out.Path != target {
		t.Errorf("outcome %+v", out)
	}
	if !strings.HasPrefix(out.String(), "installed ") {
		t.Errorf("log line %q", out)
	}
	if readFile(t, target) != "shim v1" {
		t.Error("wrong content")
	}
	if mode := stat(t, target).Mode().Perm(); mode != 0o755 {
		t.Errorf("mode %v, want 0755", mode)
	}
	assertNoTempFiles(t, dir)
}

func TestInstallShimLeavesTheSameBinaryAlone(t *testing.T) {
	source, dir, target := shimFixture(t, "shim v1")
	writeFile(t, target, "shim v1", 0o755)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(target, old, old)
	before := stat(t, target)

	out, err := InstallShim(source, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != ShimUpToDate || !strings.Contains(out.String(), "up to date") {
		t.Errorf("outcome %v", out)
	}
	after := stat(t, target)
	if !after.ModTime().Equal(before.ModTime()) || inode(after) != inode(before) {
		t.Error("the binary was rewritten")
	}
}

func TestInstallShimFixesTheModeOfTheSameBinary(t *testing.T) {
	source, dir, target := shimFixture(t, "shim v1")
	writeFile(t, target, "shim v1", 0o644)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(target, old, old)

	if out, err := InstallShim(source, dir); err != nil || out.Action != ShimUpToDate {
		t.Fatalf("outcome %v, err %v", out, err)
	}
	after := stat(t, target)
	if after.Mode().Perm() != 0o755 || !after.ModTime().Equal(old) {
		t.Errorf("mode %v mtime %v; want 0755 and the old mtime", after.Mode().Perm(), after.ModTime())
	}
}

func TestInstallShimReplacesAnotherVersionAtomically(t *testing.T) {
	source, dir, target := shimFixture(t, "shim v2")
	writeFile(t, target, "shim v1", 0o755)
	// A running shim holds its binary open: it must keep reading v1.
	running, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	oldInode := inode(stat(t, target))

	out, err := InstallShim(source, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != ShimUpdated || out.OldSHA != sha("shim v1") || out.NewSHA != sha("shim v2") {
		t.Errorf("outcome %+v", out)
	}
	if want := "from sha256 " + sha("shim v1") + " to " + sha("shim v2"); !strings.Contains(out.String(), want) {
		t.Errorf("log line %q lacks %q", out, want)
	}
	if readFile(t, target) != "shim v2" {
		t.Error("not replaced")
	}
	if inode(stat(t, target)) == oldInode {
		t.Error("written in place, not renamed over")
	}
	if b, _ := io.ReadAll(running); string(b) != "shim v1" {
		t.Errorf("the running shim's inode now reads %q", b)
	}
	assertNoTempFiles(t, dir)
}

func TestInstallShimFailsOnAnUnreadableSource(t *testing.T) {
	_, dir, target := shimFixture(t, "shim")
	for name, source := range map[string]string{
		"missing":     filepath.Join(t.TempDir(), "nope"),
		"a directory": t.TempDir(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := InstallShim(source, dir)
			if err == nil || !strings.Contains(err.Error(), "reading the shim to install") {
				t.Errorf("err = %v", err)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Error("something was installed")
			}
		})
	}
}

func TestInstallShimFailsWithoutTheDirectory(t *testing.T) {
	source, dir, _ := shimFixture(t, "shim")
	_, err := InstallShim(source, filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "hostPath") {
		t.Errorf("err = %v, want a hint about the hostPath", err)
	}
}
