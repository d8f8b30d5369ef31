package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// AnnotationRestartNeeded on a Node says containerd's config there has the
// cwasi runtime but containerd has not been restarted to load it. The agent
// sets it when it cannot restart containerd itself and clears it after a
// restart it ran; a human who restarts containerd removes it.
const AnnotationRestartNeeded = "cwasi.io/containerd-restart-needed"

// DefaultRestartTimeout bounds the containerd restart command.
const DefaultRestartTimeout = 2 * time.Minute

// CommandRunner runs a shell command line and returns its combined output.
type CommandRunner func(ctx context.Context, command string) ([]byte, error)

// ShellRunner runs command with /bin/sh -c.
func ShellRunner(ctx context.Context, command string) ([]byte, error) {
	return exec.CommandContext(ctx, "/bin/sh", "-c", command).CombinedOutput()
}

// RestartMarker records that containerd must be restarted, where it outlives
// the agent's pod: an agent that edited the config and died before the
// restart finds the mark at its next start.
type RestartMarker interface {
	// RestartNeeded reports whether the mark is set.
	RestartNeeded(ctx context.Context) (bool, error)
	// SetRestartNeeded sets or clears the mark.
	SetRestartNeeded(ctx context.Context, needed bool) error
}

// Installer puts the shim and its runtime entry on the node.
type Installer struct {
	ShimSource       string        // the shim in the agent's image
	ShimDir          string        // the node's directory for it (a hostPath)
	ContainerdConfig string        // containerd's config.toml (in a hostPath directory)
	RestartCommand   string        // run with /bin/sh -c after an edit; "" = a human restarts
	RestartTimeout   time.Duration // 0 means DefaultRestartTimeout
	Run              CommandRunner // nil means ShellRunner
	Marker           RestartMarker // nil: only the log says a restart is needed
	Log              *slog.Logger  // nil means slog.Default()
}

// Install installs or updates the shim, adds the runtime to containerd's
// config if missing and restarts containerd when it must and can. An error
// says what to fix; the agent exits with it.
func (in *Installer) Install(ctx context.Context) error {
	if in.Log == nil {
		in.Log = slog.Default()
	}
	shim, err := InstallShim(in.ShimSource, in.ShimDir)
	if err != nil {
		return err
	}
	in.Log.Info("shim " + shim.String())

	changed, err := EnsureContainerdConfig(in.ContainerdConfig)
	if err != nil {
		return err
	}
	pending := changed
	if changed {
		in.Log.Info("added the cwasi runtime to containerd's config", "path", in.ContainerdConfig, "runtime_type", RuntimeType)
	} else {
		in.Log.Info("containerd's config already has the cwasi runtime", "path", in.ContainerdConfig)
		if in.Marker != nil {
			p, err := in.Marker.RestartNeeded(ctx)
			if err != nil {
				in.Log.Warn("cannot read the restart mark", "annotation", AnnotationRestartNeeded, "err", err)
			}
			pending = p
		}
	}
	if !pending {
		return nil
	}
	if changed && in.Marker != nil {
		if err := in.Marker.SetRestartNeeded(ctx, true); err != nil {
			in.Log.Warn("cannot mark the node", "annotation", AnnotationRestartNeeded, "err", err)
		}
	}
	if in.RestartCommand == "" {
		in.Log.Warn("containerd must be restarted to load the cwasi runtime: no --containerd-restart-command is set; restart it by hand, then remove the node's annotation",
			"annotation", AnnotationRestartNeeded)
		return nil
	}

	timeout := in.RestartTimeout
	if timeout <= 0 {
		timeout = DefaultRestartTimeout
	}
	run := in.Run
	if run == nil {
		run = ShellRunner
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in.Log.Info("restarting containerd", "command", in.RestartCommand)
	if out, err := run(rctx, in.RestartCommand); err != nil {
		return fmt.Errorf("restarting containerd with %q: %v (output: %q); the config has the runtime, the next start retries the restart",
			in.RestartCommand, err, strings.TrimSpace(string(out)))
	}
	in.Log.Info("restarted containerd")
	if in.Marker != nil {
		if err := in.Marker.SetRestartNeeded(ctx, false); err != nil {
			in.Log.Warn("cannot clear the restart mark", "annotation", AnnotationRestartNeeded, "err", err)
		}
	}
	return nil
}

// NodeAnnotationMarker keeps the mark as AnnotationRestartNeeded on a Node
// (RBAC: get and patch nodes).
type NodeAnnotationMarker struct {
	Nodes corev1client.NodesGetter
	Node  string
}

func (m *NodeAnnotationMarker) RestartNeeded(ctx context.Context) (bool, error) {
	n, err := m.Nodes.Nodes().Get(ctx, m.Node, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return n.Annotations[AnnotationRestartNeeded] == "true", nil
}

func (m *NodeAnnotationMarker) SetRestartNeeded(ctx context.Context, needed bool) error {
	var value any // null removes the annotation in a merge patch
	if needed {
		value = "true"
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{AnnotationRestartNeeded: value}},
	})
	if err != nil {
		return err
	}
	_, err = m.Nodes.Nodes().Patch(ctx, m.Node, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}
