package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// fileOwner is a uid/gid pair to give a replaced file, so an edit keeps
// who owns it as well as its mode.
type fileOwner struct{ uid, gid int }

// ownerOf returns the owner of fi when the platform reports one.
func ownerOf(fi os.FileInfo) *fileOwner {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return &fileOwner{uid: int(st.Uid), gid: int(st.Gid)}
	}
	return nil
}

// writeFileAtomic replaces path with what write produces: a temporary file
// in the same directory is written, synced, given perm (and owner, when not
// nil), then renamed over path, and the directory is synced. Readers see the
// old file or the new one, never a part; a process holding the old file
// open (a running shim binary) keeps its inode.
func writeFileAtomic(path string, perm os.FileMode, owner *fileOwner, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file next to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if owner != nil && (owner.uid != os.Getuid() || owner.gid != os.Getgid()) {
		if err = tmp.Chown(owner.uid, owner.gid); err != nil {
			return fmt.Errorf("chown %s: %w", tmp.Name(), err)
		}
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		if errors.Is(err, syscall.EBUSY) {
			// rename(2) cannot replace a mount point.
			return fmt.Errorf("replacing %s: %w (it is a mount point: mount the directory holding it, not the file itself)", path, err)
		}
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	// The rename is durable once the directory is; a failure here leaves the
	// new file in place, so it is not worth failing for.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeBytesAtomic is writeFileAtomic for content already in memory.
func writeBytesAtomic(path string, data []byte, perm os.FileMode, owner *fileOwner) error {
	return writeFileAtomic(path, perm, owner, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
