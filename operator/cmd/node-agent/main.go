// Command node-agent is the cwasi node agent (a DaemonSet): it installs the
// cwasi containerd shim and its runtime entry on its node, then keeps the
// node's cluster map current from EndpointSlices. See internal/agent.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"cwasi.io/operator/internal/agent"
)

func main() {
	var c agent.Config
	flag.StringVar(&c.NodeName, "node-name", "", "this node's name (downward API spec.nodeName); required")
	flag.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty means the in-cluster config")
	flag.StringVar(&c.ShimSource, "shim-source", "/cwasi/"+agent.ShimBinaryName, "the shim binary to install")
	flag.StringVar(&c.ShimDir, "shim-dir", "", "the node's directory for containerd shims, as mounted in this pod (a hostPath); required")
	flag.StringVar(&c.ContainerdConfig, "containerd-config", "", "containerd's config.toml as mounted in this pod; mount its directory, not the file, so it can be replaced atomically; required")
	flag.StringVar(&c.ContainerdRestartCommand, "containerd-restart-command", "",
		"run with /bin/sh -c after adding the runtime, e.g. 'nsenter -t 1 -m -p -- systemctl restart containerd'; empty: log that a restart is needed and annotate the Node "+agent.AnnotationRestartNeeded+"=true")
	flag.StringVar(&c.ClusterMap, "cluster-map", "", "the cluster map file the shim reads (CWASI_CLUSTER_FILE), in a hostPath directory; required")
	flag.DurationVar(&c.MapInterval, "map-interval", agent.DefaultMapInterval, "least time between two recomputations of the cluster map")
	flag.StringVar(&c.HealthAddr, "health-addr", ":8081", "address of /healthz and /readyz")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "node-agent: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}

	c.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := agent.Run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "node-agent: %v\n", err)
		os.Exit(1)
	}
}
