# The cluster's network (scripts/cluster.sh up): the bridge cwasi0 with
# node-1's address, node-2's network namespace and veth (NODES=2), each node's
# CNI configuration for the pod CIDR the controller-manager gave it, and the
# routes between the nodes' pod CIDRs.
# shellcheck shell=bash

net_up() {  # NODES
  if ! ip link show "$BRIDGE" > /dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    log "bridge $BRIDGE with $(node_ip 1)/$NODE_PREFIX (node-1's address)"
  fi
  ip addr replace "$(node_ip 1)/$NODE_PREFIX" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  (($1 >= 2)) || return 0
  if ! ip netns list | awk '{print $1}' | grep -qxF "$NETNS2"; then
    ip netns add "$NETNS2"
    log "network namespace $NETNS2 for node-2 ($(node_ip 2), veth $VETH2 on $BRIDGE)"
  fi
  if ! ip link show "$VETH2" > /dev/null 2>&1; then
    ip link add "$VETH2" type veth peer name eth0 netns "$NETNS2"
  fi
  ip link set "$VETH2" master "$BRIDGE" up
  ip -n "$NETNS2" addr replace "$(node_ip 2)/$NODE_PREFIX" dev eth0
  ip -n "$NETNS2" link set lo up
  ip -n "$NETNS2" link set eth0 up
  ip -n "$NETNS2" route replace default via "$(node_ip 1)"
  in_node 2 sysctl -qw net.ipv4.ip_forward=1
  if in_node 2 test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
    in_node 2 sysctl -qw net.bridge.bridge-nf-call-iptables=1
  fi
}
cni_up() {  # N: the pod network, once the controller-manager allocated the node's pod CIDR
  local n=$1 cidr f
  f="$(node_dir "$n")/cni/net.d/10-$CNI_NET.conflist"
  wait_for 60 "node-$n's pod CIDR" "kubelet-node-$n" \
    bash -c "[[ -n \$('$KBIN/kubectl' --kubeconfig '$KCFG/admin.conf' get node node-$n -o jsonpath='{.spec.podCIDR}') ]]"
  cidr=$(kctl get node "node-$n" -o jsonpath='{.spec.podCIDR}')
  echo "$cidr" > "$STATE/node-$n/pod-cidr"
  [[ -f "$f" ]] && grep -qF "\"$cidr\"" "$f" && return
  cat > "$f" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$cidr"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$(node_dir "$n")/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  log "node-$n: pod CIDR $cidr (bridge $CNI_BRIDGE)"
}
routes_up() {  # NODES: each node reaches the other's pod CIDR through the other's address
  (($1 >= 2)) || return 0
  local c1 c2
  c1=$(cat "$STATE/node-1/pod-cidr") c2=$(cat "$STATE/node-2/pod-cidr")
  ip route replace "$c2" via "$(node_ip 2)" dev "$BRIDGE"
  ip -n "$NETNS2" route replace "$c1" via "$(node_ip 1)" dev eth0
}
