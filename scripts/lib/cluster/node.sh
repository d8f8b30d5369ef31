# A node's daemons (scripts/cluster.sh up, restart-containerd): its cgroup
# root, containerd (runtime handlers runc and cwasi), kubelet and kube-proxy,
# each with its configuration under the node's directory.
# shellcheck shell=bash

cgroups_up() {  # N: the kubelet's cgroupRoot must exist in every hierarchy
  local h d
  for h in /sys/fs/cgroup/*/; do
    d="$h$CGROUP_PARENT/node-$1"
    mkdir -p "$d"
    if [[ -f "$h/cpuset.cpus" ]]; then  # cgroup v1 cpuset: a child starts empty
      cat "$h/cpuset.cpus" > "$h$CGROUP_PARENT/cpuset.cpus"; cat "$h/cpuset.mems" > "$h$CGROUP_PARENT/cpuset.mems"
      cat "$h/cpuset.cpus" > "$d/cpuset.cpus"; cat "$h/cpuset.mems" > "$d/cpuset.mems"
    fi
  done
}
containerd_up() {  # N
  local n=$1 dir run
  dir=$(node_dir "$n") run=$(node_run "$n")
  mkdir -p "$dir/containerd/root" "$run/containerd" "$dir/cni/net.d" "$dir/cni/ipam" "$dir/certs.d/$REGISTRY"
  local mirror="http://$REGISTRY"
  ((n > 1)) && mirror="http://$(node_ip 1):5000"
  cat > "$dir/certs.d/$REGISTRY/hosts.toml" <<EOF
server = "$mirror"

[host."$mirror"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF
  cat > "$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$run/containerd.sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$run/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cwasi]
      runtime_type = "io.containerd.cwasi.v1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
  # containerd finds containerd-shim-cwasi-v1 on its PATH, in the node's
  # $run/bin, where the node agent (deploy/node-agent.yaml) installs it; the
  # shims inherit containerd's environment: each node gets its own cwasi node
  # registry (CWASI_RUNTIME_DIR, default /run/cwasi) and cluster map (remote
  # calls: {"functions": {"NAME": "POD_IP:CWASI_COMM_PORT"}}, kept by the node
  # agent from EndpointSlices; reloaded on change).
  mkdir -p "$run/cwasi" "$run/bin"
  PATH="$run/bin:$PATH" CWASI_RUNTIME_DIR="$run/cwasi" CWASI_CLUSTER_FILE="$run/cwasi/cluster.json" \
    start_daemon "containerd-node-$n" "$n" containerd --config "$dir/containerd/config.toml"
}
kubelet_up() {  # N
  local n=$1 dir run ip
  dir=$(node_dir "$n") run=$(node_run "$n") ip=$(node_ip "$n")
  mkdir -p "$dir/kubelet/root" "$dir/kubelet/pki" "$dir/manifests" "$dir/pod-logs" "$dir/volume-plugins"
  cat > "$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/node-$n-serving.crt
tlsPrivateKeyFile: $PKI/node-$n-serving.key
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_PARENT/node-$n
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$run/containerd.sock
staticPodPath: $dir/manifests
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/volume-plugins
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
EOF
  start_daemon "kubelet-node-$n" "$n" "$KBIN/kubelet" --config="$dir/kubelet/config.yaml" \
    --kubeconfig="$KCFG/node-$n.conf" --root-dir="$dir/kubelet/root" --cert-dir="$dir/kubelet/pki" \
    --hostname-override="node-$n" --node-ip="$ip" --v=1
}
kube_proxy_up() {  # N
  local n=$1 dir ip
  dir=$(node_dir "$n") ip=$(node_ip "$n")
  cat > "$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KCFG/kube-proxy.conf
hostnameOverride: node-$n
mode: iptables
clusterCIDR: $CLUSTER_CIDR
nodePortAddresses: ["$ip/32"]
healthzBindAddress: $ip:10256
metricsBindAddress: 127.0.0.1:10249
iptables:
  localhostNodePorts: false
conntrack:  # 0: leave the host's conntrack limits and timeouts alone
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  start_daemon "kube-proxy-node-$n" "$n" "$KBIN/kube-proxy" --config="$dir/kube-proxy.yaml" --v=1
}
