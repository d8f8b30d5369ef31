package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"cwasi.io/operator/internal/testenv"
)

const testWorkflowImage = "registry.test/cwasi/workflow:1"

// startOperator runs the controllers against a fresh kube-apiserver + etcd
// until the test ends.
func startOperator(t *testing.T) client.Client {
	t.Helper()
	cfg, c := testenv.Start(t)
	startManager(t, cfg, c)
	return c
}

func startManager(t *testing.T, cfg *rest.Config, c client.Client) context.CancelFunc {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 c.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  CacheOptions(),
		Controller:             ctrlConfigForTests(),
	})
	if err != nil {
		t.Fatalf("manager: %v", err)
	}
	if err := Setup(mgr, Config{Workers: 2, WorkflowImage: testWorkflowImage}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return cancel
}

// eventually retries check until it passes or 30 s have gone by.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	name = strings.Trim(name, "-")
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: objMeta(name, "")}); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	return name
}

func expect(cond bool, format string, args ...any) error {
	if cond {
		return nil
	}
	return fmt.Errorf(format, args...)
}
