package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config is what the node agent is told by its flags.
type Config struct {
	NodeName   string // spec.nodeName, from the downward API
	Kubeconfig string // "" = in-cluster

	ShimSource               string
	ShimDir                  string
	ContainerdConfig         string
	ContainerdRestartCommand string

	ClusterMap  string        // the file the shim reads as CWASI_CLUSTER_FILE
	MapInterval time.Duration // 0 = DefaultMapInterval
	HealthAddr  string

	Log *slog.Logger

	// Tests only: a config instead of Kubeconfig, a listener instead of HealthAddr.
	restConfig     *rest.Config
	healthListener net.Listener
}

func (c *Config) validate() error {
	var missing []string
	for _, f := range []struct{ flag, value string }{
		{"--node-name", c.NodeName},
		{"--shim-source", c.ShimSource},
		{"--shim-dir", c.ShimDir},
		{"--containerd-config", c.ContainerdConfig},
		{"--cluster-map", c.ClusterMap},
	} {
		if f.value == "" {
			missing = append(missing, f.flag)
		}
	}
	if c.HealthAddr == "" && c.healthListener == nil {
		missing = append(missing, "--health-addr")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required flags: %s", strings.Join(missing, ", "))
	}
	return nil
}

// Run installs the shim and its runtime on the node, then keeps the cluster
// map current until ctx ends. It returns an error when the install fails
// (the pod then shows it in its logs, crash-looping) or when it cannot
// reach the API server; nil when ctx ends.
func Run(ctx context.Context, c Config) error {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if err := c.validate(); err != nil {
		return err
	}
	restConfig, err := c.loadRESTConfig()
	if err != nil {
		return err
	}
	restConfig = rest.CopyConfig(restConfig)
	restConfig.UserAgent = "cwasi-node-agent/" + c.NodeName
	core, err := corev1client.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("client for %s: %w", restConfig.Host, err)
	}
	disc, err := discoveryclient.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("client for %s: %w", restConfig.Host, err)
	}

	var installed, mapped atomic.Bool
	l := c.healthListener
	if l == nil {
		if l, err = net.Listen("tcp", c.HealthAddr); err != nil {
			return fmt.Errorf("health endpoint: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	healthDone := make(chan error, 1)
	go func() {
		healthDone <- serveHealth(ctx, l, HealthHandler(func() bool { return installed.Load() && mapped.Load() }))
	}()

	installer := &Installer{
		ShimSource:       c.ShimSource,
		ShimDir:          c.ShimDir,
		ContainerdConfig: c.ContainerdConfig,
		RestartCommand:   c.ContainerdRestartCommand,
		Marker:           &NodeAnnotationMarker{Nodes: core, Node: c.NodeName},
		Log:              c.Log,
	}
	if err := installer.Install(ctx); err != nil {
		return fmt.Errorf("install failed: %w", err)
	}
	installed.Store(true)

	keeper := &MapKeeper{
		Slices:   disc,
		Node:     c.NodeName,
		Path:     c.ClusterMap,
		Interval: c.MapInterval,
		Log:      c.Log,
		OnFirstMap: func() {
			mapped.Store(true)
			c.Log.Info("ready: installed, and the cluster map is written")
		},
	}
	keeperDone := make(chan error, 1)
	go func() { keeperDone <- keeper.Run(ctx) }()
	select {
	case err := <-healthDone:
		cancel()
		keeperErr := <-keeperDone
		// When ctx ends both finish, nil, and either may be picked here.
		if err == nil {
			return keeperErr
		}
		return fmt.Errorf("health endpoint: %w", err)
	case err := <-keeperDone:
		cancel()
		<-healthDone
		return err
	}
}

func (c *Config) loadRESTConfig() (*rest.Config, error) {
	switch {
	case c.restConfig != nil:
		return c.restConfig, nil
	case c.Kubeconfig != "":
		cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig, err)
		}
		return cfg, nil
	default:
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w (outside a pod, pass --kubeconfig)", err)
		}
		return cfg, nil
	}
}
