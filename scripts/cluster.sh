#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A real Kubernetes cluster on this machine, to run cwasi's containerd shim
# under CRI next to runc.
#
#   scripts/cluster.sh up [NODES]   NODES=1 (default) or 2; `make cluster [NODES=2]`
#   scripts/cluster.sh down         stops it and undoes every host change; `make cluster-down`
#   scripts/cluster.sh status
#   scripts/cluster.sh smoke        a native (runc) Deployment + Service: pod IP, ClusterIP,
#                                   logs, exec, and across nodes with NODES=2
#
# Kubernetes v1.34 (scripts/k8s-build.sh, cached in ~/.cache/cwasi/k8s), Debian's
# etcd, containerd (with runtime handlers runc and cwasi =
# build/bin/containerd-shim-cwasi-v1), CNI plugins and docker-registry on
# 127.0.0.1:5000, and cwasi itself (deploy/: CRDs, operator, node agent,
# RuntimeClass; their images built and pushed to that registry). Everything lives under build/cluster (certificates, configs,
# logs, pids, data) and /run/cwasi-cluster (sockets, runtime state); `up`
# records the host's prior state (iptables chains, sysctls, directories,
# netns) in build/cluster/before, `down` restores it. Certificates and the
# registry's storage survive `down` (a faster next `up`).
#
# Node 1 is the host itself, its address 10.200.0.1 on the empty bridge cwasi0.
# With NODES=2, node-2 (kubelet, containerd, kube-proxy) runs in the network
# namespace cwasi-n2 (10.200.0.2, a veth into cwasi0); pod CIDRs (the
# controller-manager's allocation) are routed between the two.
#
# This file only dispatches; the functions live in scripts/lib/cluster/, one
# library per concern (as Kubernetes' hack/lib): common.sh (constants, logging,
# daemons), host_state.sh, pki.sh, network.sh, registry.sh, control_plane.sh,
# node.sh, cwasi.sh, up.sh, down.sh, status.sh, smoke.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB="$ROOT/scripts/lib/cluster"
# shellcheck source=lib/cluster/common.sh
. "$LIB/common.sh"
# shellcheck source=lib/cluster/host_state.sh
. "$LIB/host_state.sh"
# shellcheck source=lib/cluster/pki.sh
. "$LIB/pki.sh"
# shellcheck source=lib/cluster/network.sh
. "$LIB/network.sh"
# shellcheck source=lib/cluster/registry.sh
. "$LIB/registry.sh"
# shellcheck source=lib/cluster/control_plane.sh
. "$LIB/control_plane.sh"
# shellcheck source=lib/cluster/node.sh
. "$LIB/node.sh"
# shellcheck source=lib/cluster/cwasi.sh
. "$LIB/cwasi.sh"
# shellcheck source=lib/cluster/up.sh
. "$LIB/up.sh"
# shellcheck source=lib/cluster/down.sh
. "$LIB/down.sh"
# shellcheck source=lib/cluster/status.sh
. "$LIB/status.sh"
# shellcheck source=lib/cluster/smoke.sh
. "$LIB/smoke.sh"

case "${1:-}" in
  up) cmd_up "${2:-${NODES:-1}}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  smoke) cmd_smoke ;;
  # restart-containerd [N]: stop node N's containerd (SIGTERM) and start it again;
  # running pods keep running (their shims are their own processes)
  restart-containerd)
    n=${2:-1}; alive "containerd-node-$n" || die "containerd-node-$n is not running"
    stop_daemon "containerd-node-$n" && containerd_up "$n" ;;
  # push-native REF SOURCE.c BINARY: a static native image (musl) in the registry
  push-native) alive kube-apiserver || die "the cluster is not up"; image "$2" "$3" "$4" ;;
  *) echo "usage: $0 up [NODES] | down | status | smoke | restart-containerd [N] | push-native REF SOURCE.c BINARY" >&2; exit 2 ;;
esac
