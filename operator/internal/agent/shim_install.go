package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ShimBinaryName is the file containerd looks for when a pod's
// RuntimeClass handler maps to runtime_type io.containerd.cwasi.v1.
const ShimBinaryName = "containerd-shim-cwasi-v1"

const shimPerm fs.FileMode = 0o755

// ShimAction says what InstallShim did.
type ShimAction int

const (
	ShimUpToDate  ShimAction = iota // same content already there
	ShimInstalled                   // there was none
	ShimUpdated                     // another version was replaced
)

// ShimOutcome describes an install for the log.
type ShimOutcome struct {
	Action ShimAction
	Path   string
	OldSHA string // sha256 of the replaced binary (ShimUpdated only)
	NewSHA string // sha256 of the binary now in place
}

func (o ShimOutcome) String() string {
	switch o.Action {
	case ShimInstalled:
		return fmt.Sprintf("installed %s (sha256 %s)", o.Path, o.NewSHA)
	case ShimUpdated:
		return fmt.Sprintf("updated %s from sha256 %s to %s", o.Path, o.OldSHA, o.NewSHA)
	default:
		return fmt.Sprintf("%s up to date (sha256 %s)", o.Path, o.NewSHA)
	}
}

// InstallShim copies source to dir/ShimBinaryName unless a file with the same
// sha256 is already there. The copy is atomic (temporary file, fsync, chmod
// 0755, rename): a shim already running keeps executing its old inode.
func InstallShim(source, dir string) (ShimOutcome, error) {
	target := filepath.Join(dir, ShimBinaryName)
	out := ShimOutcome{Path: target}

	want, err := fileSHA256(source)
	if err != nil {
		return out, fmt.Errorf("reading the shim to install: %w", err)
	}
	out.NewSHA = want

	have, err := fileSHA256(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		out.Action = ShimInstalled
	case err != nil:
		return out, fmt.Errorf("reading the installed shim: %w", err)
	case have == want:
		out.Action = ShimUpToDate
		// Same bytes but not runnable (someone chmod'ed it): fix the mode
		// only, which leaves the content and mtime alone.
		if fi, err := os.Stat(target); err == nil && fi.Mode().Perm() != shimPerm {
			if err := os.Chmod(target, shimPerm); err != nil {
				return out, fmt.Errorf("chmod %s: %w", target, err)
			}
		}
		return out, nil
	default:
		out.Action = ShimUpdated
		out.OldSHA = have
	}

	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return out, fmt.Errorf("shim directory %s is not a directory (is the hostPath mounted?): %v", dir, err)
	}
	src, err := os.Open(source)
	if err != nil {
		return out, fmt.Errorf("reading the shim to install: %w", err)
	}
	defer src.Close()
	var copied string
	err = writeFileAtomic(target, shimPerm, nil, func(w io.Writer) error {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), src); err != nil {
			return err
		}
		copied = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("installing the shim: %w", err)
	}
	if copied != want {
		return out, fmt.Errorf("installing the shim: %s changed while it was copied (sha256 %s, then %s); restart to retry", source, want, copied)
	}
	return out, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
