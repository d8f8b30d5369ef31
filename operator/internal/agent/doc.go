// Package agent is the cwasi node agent: one pod per node (a DaemonSet) that
//
//   - installs the cwasi containerd shim and its runtime entry in
//     containerd's config (InstallShim, EnsureRuntime, Installer), once at
//     start, and
//   - keeps the node's cluster map, the file the shim resolves remote
//     function names with, current from EndpointSlices (ComputeClusterMap,
//     WriteIfChanged, MapKeeper).
//
// The decisions are pure functions over bytes and API objects; the I/O
// around them is thin, so both can be tested without a node or a cluster.
// Run wires them together for cmd/node-agent.
package agent
