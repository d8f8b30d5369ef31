// Package testenv starts a real kube-apiserver and etcd for tests
// (controller-runtime's envtest), from binaries already on the machine:
// nothing is downloaded. kube-apiserver and kubectl come from
// scripts/k8s-build.sh's cache, etcd from Debian's etcd-server package; a
// KUBEBUILDER_ASSETS directory holding all three takes precedence.
//
// The cwasi CRDs (deploy/crds) are installed, and the returned client knows
// the built-in types and cwasi.io/v1alpha1.
package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cwasiv1alpha1 "cwasi.io/operator/api/v1alpha1"
)

// defaultK8sVersion is used when k8s/go.mod cannot be read; it names the
// directory scripts/k8s-build.sh builds into.
const defaultK8sVersion = "v1.34.4"

// Start runs kube-apiserver and etcd until the test ends and returns a
// config and a client for them. It fails the test (never skips) when the
// binaries are missing, saying how to get them.
func Start(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	root := repoRoot()
	assets, err := assetsDir(t, root)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "deploy", "crds")},
		ErrorIfCRDPathMissing: false,
	}
	// Two shared cores: the apiserver can take longer than envtest's 20 s
	// default to come up. The variable envtest reads still wins.
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		env.ControlPlaneStartTimeout = 90 * time.Second
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("testenv: starting kube-apiserver and etcd from %s: %v", assets, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("testenv: stopping the control plane: %v", err)
		}
	})

	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, cwasiv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatalf("testenv: building the scheme: %v", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("testenv: client for %s: %v", cfg.Host, err)
	}
	return cfg, c
}

var binaries = []string{"kube-apiserver", "etcd", "kubectl"}

// assetsDir returns a directory holding kube-apiserver, etcd and kubectl:
// KUBEBUILDER_ASSETS when set, else a temporary directory of symlinks to
// the k8s-build.sh cache and the system's etcd.
func assetsDir(t *testing.T, root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		var missing []string
		for _, b := range binaries {
			if !isExecutable(filepath.Join(dir, b)) {
				missing = append(missing, b)
			}
		}
		if len(missing) > 0 {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s lacks %s; unset it to use the k8s-build.sh cache and /usr/bin/etcd, or put the binaries there",
				dir, strings.Join(missing, ", "))
		}
		return dir, nil
	}

	version := k8sVersion(root)
	cache := os.Getenv("CWASI_CACHE_DIR")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no CWASI_CACHE_DIR and no home directory: %v", err)
		}
		cache = filepath.Join(home, ".cache", "cwasi")
	}
	bin := filepath.Join(cache, "k8s", version, "bin")
	found := map[string]string{
		"kube-apiserver": filepath.Join(bin, "kube-apiserver"),
		"kubectl":        filepath.Join(bin, "kubectl"),
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		found["etcd"] = p
	} else {
		found["etcd"] = "/usr/bin/etcd"
	}

	var problems []string
	for _, name := range []string{"kube-apiserver", "kubectl"} {
		if !isExecutable(found[name]) {
			problems = append(problems, fmt.Sprintf("%s not found at %s: build it with scripts/k8s-build.sh kube-apiserver kubectl (about 10 minutes on 2 cores)", name, found[name]))
		}
	}
	if !isExecutable(found["etcd"]) {
		problems = append(problems, "etcd not found on PATH nor at /usr/bin/etcd: install it with apt-get install -y etcd-server")
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("the control plane binaries are missing (or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver, etcd and kubectl):\n  %s",
			strings.Join(problems, "\n  "))
	}

	dir := t.TempDir()
	for name, target := range found {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// repoRoot is the clone's top directory, found from this file's own path
// (tests of any package reach it the same way), or from the working
// directory of a package under operator/internal when built with -trimpath.
func repoRoot() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	}
	return filepath.Clean(filepath.Join("..", "..", ".."))
}

// k8sVersion reads the Kubernetes version k8s-build.sh builds from
// k8s/go.mod, so the two cannot drift.
func k8sVersion(root string) string {
	f, err := os.Open(filepath.Join(root, "k8s", "go.mod"))
	if err != nil {
		return defaultK8sVersion
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		// "require k8s.io/kubernetes vX" or, inside a block, "k8s.io/kubernetes vX".
		if len(fields) >= 2 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == "k8s.io/kubernetes" {
			return fields[1]
		}
	}
	return defaultK8sVersion
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
