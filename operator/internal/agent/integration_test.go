package agent

// Tests against a real kube-apiserver and etcd (internal/testenv). They fail,
// saying how to get the binaries, when those are missing.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"cwasi.io/operator/internal/names"
	"cwasi.io/operator/internal/testenv"
)

// syncBuffer is a log sink tests can read while the agent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLog returns a logger whose output the test shows when it fails.
func testLog(t *testing.T) (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// eventually polls cond until it holds or 30 s pass.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 30s; last seen: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileIs(t *testing.T, path, want string) {
	t.Helper()
	eventually(t, "cluster map "+want, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		return string(b) == want+"\n", string(b)
	})
}

func startKeeper(t *testing.T, cfg *rest.Config, k *MapKeeper) {
	t.Helper()
	disc, err := discoveryclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.Slices = disc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	// Registered after testenv's: runs first, before the apiserver stops.
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("MapKeeper.Run: %v", err)
		}
	})
}

func mustCreate(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func functionService(ns, function string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: function, Labels: map[string]string{names.LabelFunction: function}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{names.LabelOwnerFunction: function},
			Ports: []corev1.ServicePort{{
				Name: names.CommPortName, Port: names.CommPort, TargetPort: intstr.FromInt32(names.CommPort),
			}},
		},
	}
}

// functionSlice is what the EndpointSlice controller would make for a
// function's Service (envtest runs no controllers: the test plays it).
func functionSlice(ns, name, function string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := slice(ns, name, function, []discoveryv1.EndpointPort{port(names.HTTPPortName, 8080), port(names.CommPortName, names.CommPort)}, eps...)
	s.Labels[discoveryv1.LabelServiceName] = function
	return s
}

func TestMapKeeperAgainstAnAPIServer(t *testing.T) {
	cfg, c := testenv.Start(t)
	ctx := context.Background()
	for _, ns := range []string{"team-a", "team-b", "burst"} {
		mustCreate(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}

	t.Run("follows slices", func(t *testing.T) {
		const me = "node-a"
		path := filepath.Join(t.TempDir(), "cluster.json")
		log, _ := testLog(t)
		ready := make(chan struct{})
		startKeeper(t, cfg, &MapKeeper{Node: me, Path: path, Interval: 50 * time.Millisecond, Log: log,
			OnFirstMap: func() { close(ready) }})
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			t.Fatal("no first map after 30s")
		}
		if got := readFile(t, path); got != `{"functions":{}}`+"\n" {
			t.Fatalf("first map %q, want an empty one", got)
		}

		mustCreate(t, c,
			functionService("team-a", "echo"),
			functionSlice("team-a", "echo-1", "echo", ep("10.1.0.1", "node-b", "true"), ep("10.1.0.2", me, "true")),
			// Not a function: no label, so not even cached.
			slice("team-a", "web-1", "", commOnly, ep("10.9.0.1", "node-b", "true")),
			// A function without a comm port cannot be called remotely.
			slice("team-a", "nocomm-1", "nocomm", []discoveryv1.EndpointPort{port("http", 8080)}, ep("10.3.0.1", "node-b", "true")),
		)
		fileIs(t, path, `{"functions":{"echo":"10.1.0.1:7070"}}`)

		second := functionSlice("team-a", "echo-2", "echo", ep("10.1.0.3", "node-c", "true"))
		mustCreate(t, c, second)
		fileIs(t, path, fmt.Sprintf(`{"functions":{"echo":%q}}`, pickFor(me, "10.1.0.1:7070", "10.1.0.3:7070")))

		// The endpoint becomes not ready: gone.
		second.Endpoints[0].Conditions.Ready = ptr(false)
		if err := c.Update(ctx, second); err != nil {
			t.Fatal(err)
		}
		fileIs(t, path, `{"functions":{"echo":"10.1.0.1:7070"}}`)

		// The same name in another namespace: the union.
		other := functionSlice("team-b", "echo-1", "echo", ep("10.2.0.1", "node-d", ""))
		mustCreate(t, c, other)
		fileIs(t, path, fmt.Sprintf(`{"functions":{"echo":%q}}`, pickFor(me, "10.1.0.1:7070", "10.2.0.1:7070")))

		// Slices deleted: their addresses go, then the name.
		for _, s := range []client.Object{other, second} {
			if err := c.Delete(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		fileIs(t, path, `{"functions":{"echo":"10.1.0.1:7070"}}`)
		if err := c.Delete(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "echo-1"}}); err != nil {
			t.Fatal(err)
		}
		fileIs(t, path, `{"functions":{}}`)
	})

	t.Run("writes at most once per interval", func(t *testing.T) {
		const interval = 500 * time.Millisecond
		path := filepath.Join(t.TempDir(), "cluster.json")
		log, logs := testLog(t)
		ready := make(chan struct{})
		startKeeper(t, cfg, &MapKeeper{Node: "node-a", Path: path, Interval: interval, Log: log,
			OnFirstMap: func() { close(ready) }})
		<-ready
		start := time.Now()
		const n = 40
		var want []string
		for i := range n {
			name := fmt.Sprintf("f%02d", i)
			mustCreate(t, c, functionSlice("burst", name, name, ep(fmt.Sprintf("10.4.0.%d", i+1), "node-b", "true")))
			want = append(want, fmt.Sprintf("%q:\"10.4.0.%d:7070\"", name, i+1))
		}
		fileIs(t, path, `{"functions":{`+strings.Join(want, ",")+`}}`)
		elapsed := time.Since(start)
		writes := strings.Count(logs.String(), "cluster map updated")
		if limit := int(elapsed/interval) + 2; writes > limit || writes >= n {
			t.Errorf("%d writes for %d slices in %v; want at most %d", writes, n, elapsed, limit)
		}
		t.Logf("%d slices created in %v: %d writes", n, elapsed, writes)
	})
}

func TestRunInstallsThenServes(t *testing.T) {
	cfg, c := testenv.Start(t)
	const node = "node-a"
	mustCreate(t, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}})

	source, shimDir, target := shimFixture(t, "the shim")
	etc := t.TempDir()
	config := filepath.Join(etc, "config.toml")
	writeFile(t, config, configV2, 0o644)
	mapPath := filepath.Join(t.TempDir(), "cluster.json")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := testLog(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			NodeName: node, ShimSource: source, ShimDir: shimDir, ContainerdConfig: config,
			ClusterMap: mapPath, MapInterval: 50 * time.Millisecond, Log: log,
			restConfig: cfg, healthListener: l,
		})
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})

	base := "http://" + l.Addr().String()
	eventually(t, "/readyz answers 200", func() (bool, string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v", resp, err)
	}
	if readFile(t, target) != "the shim" {
		t.Error("shim not installed")
	}
	if !strings.Contains(readFile(t, config), tableV2) {
		t.Error("runtime not added to containerd's config")
	}
	if readFile(t, mapPath) != `{"functions":{}}`+"\n" {
		t.Errorf("cluster map %q", readFile(t, mapPath))
	}
	// No restart command: the node says a restart is needed.
	var n corev1.Node
	if err := c.Get(context.Background(), client.ObjectKey{Name: node}, &n); err != nil {
		t.Fatal(err)
	}
	if n.Annotations[AnnotationRestartNeeded] != "true" {
		t.Errorf("node annotations %v lack %s=true", n.Annotations, AnnotationRestartNeeded)
	}

	cancel()
	stopped = true
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not return within 10s of its context ending")
	}
}

func TestRunFailsClearlyWhenTheInstallFails(t *testing.T) {
	source, shimDir, _ := shimFixture(t, "the shim")
	config := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, config, configV2+"\n"+tableV2+"\nruntime_type = \"io.containerd.spin.v2\"\n", 0o644)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := testLog(t)
	err = Run(context.Background(), Config{
		NodeName: "node-a", ShimSource: source, ShimDir: shimDir, ContainerdConfig: config,
		ClusterMap: filepath.Join(t.TempDir(), "cluster.json"), Log: log,
		restConfig: &rest.Config{Host: "http://127.0.0.1:1"}, healthListener: l, // never reached
	})
	if err == nil || !strings.Contains(err.Error(), "install failed") || !strings.Contains(err.Error(), "io.containerd.spin.v2") {
		t.Fatalf("err = %v, want the install failure naming the foreign runtime_type", err)
	}
}
