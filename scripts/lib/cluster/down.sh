# `scripts/cluster.sh down`: stops the daemons (those of the pid files, then
# strays no pid file names), the containers and shims, unmounts, deletes the
# network namespaces and links, restores the host's state (host_state.sh)
# and removes the data that must not outlive the cluster.
# shellcheck shell=bash

# Daemons `up` started that no pid file names any more (an `up` killed between
# starting one and writing its pid file, a pid file removed by hand): ours
# because their command line names this cluster's state or runtime dir (the
# registry's forwarder: its address), and one of the programs `up` starts.
stray_daemons() {
  local p exe cmd named
  named=" $(cat "$PIDS"/*.pid 2> /dev/null | awk '{print $1}' | tr '\n' ' ') "
  for p in /proc/[0-9]*; do
    [[ "$named" == *" ${p#/proc/} "* ]] && continue  # a pid file names it: stop_daemon's
    exe=$(readlink "$p/exe" 2> /dev/null) || continue
    case "${exe##*/}" in
      etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | containerd | docker-registry | socat) ;;
      *) continue ;;
    esac
    cmd=$(tr '\0' ' ' < "$p/cmdline" 2> /dev/null) || continue
    if [[ "$cmd" == *"$STATE/"* || "$cmd" == *"$RUN/"* || "$cmd" == *"bind=$(node_ip 1),"*"TCP:$REGISTRY"* ]]; then
      echo "${p#/proc/}"
    fi
  done
  return 0
}
stop_strays() {
  local strays=() i
  mapfile -t strays < <(stray_daemons)
  ((${#strays[@]})) || return 0
  log "stopping daemon(s) of this cluster that no pid file names: ${strays[*]}"
  kill -TERM "${strays[@]}" 2> /dev/null || true
  for ((i = 0; i < 50; i++)); do
    mapfile -t strays < <(stray_daemons); ((${#strays[@]})) || return 0
    sleep 0.1
  done
  kill -KILL "${strays[@]}" 2> /dev/null || true
  STOPPED=1
}
kill_cgroup_procs() {  # every process left in the kubelets' cgroup trees (containers)
  local i procs
  for ((i = 0; i < 50; i++)); do
    procs=$(find /sys/fs/cgroup/*/"$CGROUP_PARENT" -name cgroup.procs -exec cat {} + 2> /dev/null | sort -u || true)
    [[ -z "$procs" ]] && return 0
    ((i == 0)) && log "killing $(wc -w <<< "$procs") container process(es) in /$CGROUP_PARENT"
    # shellcheck disable=SC2086  # $procs is a list of PIDs, one line each: one argument per PID
    kill -KILL $procs 2> /dev/null || true
    sleep 0.2
  done
  warn "processes left in /$CGROUP_PARENT: $procs"
}
shim_pids() {  # shims (runc's and cwasi's) serving our containerds
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' < "$p/cmdline" 2> /dev/null) || continue
    [[ "$cmd" == *containerd-shim* && "$cmd" == *" $RUN/node-"*"/containerd.sock"* ]] && echo "${p#/proc/}"
  done
  return 0
}
unix_sockets_of() {  # PID...: paths of the unix sockets they hold
  local inodes
  inodes=$(for p in "$@"; do ls -l "/proc/$p/fd" 2> /dev/null; done | grep -o 'socket:\[[0-9]*\]' | tr -dc '0-9\n' | sort -u || true)
  [[ -n "$inodes" ]] || return 0
  awk 'NR == FNR {want[$1] = 1; next} FNR > 1 && ($7 in want) && $8 ~ /^\// {print $8}' <(echo "$inodes") /proc/net/unix | sort -u
}
shim_socket_paths() {  # where containerd 1.6 puts a shim's socket: /run/containerd/s/sha256(address/ns/id)
  local n id addr
  for n in 1 2; do
    addr="$(node_run "$n")/containerd.sock"
    [[ -S "$addr" ]] || continue
    for id in $(ctr --address "$addr" -n k8s.io containers list -q 2> /dev/null); do
      echo "/run/containerd/s/$(printf '%s' "$addr/k8s.io/$id" | sha256sum | cut -d' ' -f1)"
    done
  done
  return 0
}
umount_under() {  # PREFIX...: unmount everything mounted at or below them, deepest first
  local prefix m
  for prefix in "$@"; do
    awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
      while read -r m; do
        m=$(printf '%b' "$m")
        umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || warn "cannot unmount $m"
      done
  done
  return 0
}
cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  if [[ ! -d "$STATE" ]]; then log "nothing to stop ($STATE does not exist)"; return; fi
  mkdir -p "$PIDS"
  local n p
  rm -f "$STATE/up"
  for n in 2 1; do stop_daemon "kube-proxy-node-$n"; stop_daemon "kubelet-node-$n"; done
  kill_cgroup_procs
  local socks=() shims=()
  mapfile -t socks < <(shim_socket_paths)
  # The pods' network namespaces and sandbox ids, from containerd (before it stops).
  local netns_ours=() ids=()
  for n in 1 2; do
    [[ -S "$(node_run "$n")/containerd.sock" ]] || continue
    for p in $(ctr --address "$(node_run "$n")/containerd.sock" -n k8s.io containers list -q 2> /dev/null); do
      ids+=("$p")
      mapfile -t -O "${#netns_ours[@]}" netns_ours < <(
        ctr --address "$(node_run "$n")/containerd.sock" -n k8s.io containers info "$p" 2> /dev/null |
          grep -o '/var/run/netns/cni-[0-9a-f-]*' | sed 's|.*/||' | sort -u || true)
    done
  done
  for n in 2 1; do stop_daemon "containerd-node-$n" 15; done
  mapfile -t shims < <(shim_pids)
  if ((${#shims[@]})); then
    mapfile -t -O "${#socks[@]}" socks < <(unix_sockets_of "${shims[@]}")
    log "stopping shim(s): ${shims[*]}"
    kill -TERM "${shims[@]}" 2> /dev/null || true
    sleep 1
    mapfile -t shims < <(shim_pids); ((${#shims[@]} == 0)) || kill -KILL "${shims[@]}" 2> /dev/null || true
  fi
  for p in "${socks[@]}"; do
    [[ "$p" == /run/containerd/s/* || "$p" == "$RUN"/* ]] && rm -f "$p"
  done
  stop_daemon kube-scheduler; stop_daemon kube-controller-manager; stop_daemon kube-apiserver 5  # its storage stats goroutine can hold it ~10 s past SIGTERM
  stop_daemon etcd; stop_daemon registry-proxy; stop_daemon registry
  stop_strays

  # Mounts (overlay rootfs, shm, kubelet volumes) and the pods' network namespaces.
  umount_under "$STATE" "$RUN"
  local ns
  for ns in $(ip netns list 2> /dev/null | awk '{print $1}'); do
    [[ "$ns" == cni-* ]] || continue
    if printf '%s\n' "${netns_ours[@]}" | grep -qxF "$ns" || ! grep -qxF "$ns" "$BEFORE/netns" 2> /dev/null; then
      ip netns delete "$ns" 2> /dev/null || { umount "/run/netns/$ns" 2> /dev/null; rm -f "/run/netns/$ns"; }
    fi
  done
  ip netns delete "$NETNS2" 2> /dev/null || true
  ip link delete "$VETH2" 2> /dev/null || true
  ip link delete "$CNI_BRIDGE" 2> /dev/null || true
  ip link delete "$BRIDGE" 2> /dev/null || true
  # Any other link that appeared (the pods' veths go with their namespaces).
  if [[ -f "$BEFORE/links" ]]; then
    for p in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
      grep -qxF "$p" "$BEFORE/links" || [[ "$p" != veth* ]] || ip link delete "$p" 2> /dev/null || true
    done
  fi

  if [[ ! -f "$BEFORE/complete" ]]; then
    if ((!${STOPPED:-0})) && [[ ! -d "$RUN" ]]; then log "already down"; return; fi
    warn "no record of the host's state before up ($BEFORE): host paths, chains and sysctls left as they are"
    rm -rf --one-file-system "$STATE/etcd" "$STATE"/node-* "$STATE/flex-volume" "$RUN" "$PIDS" "$STATE/nodes" "$STATE/env"
    return
  fi
  iptables_restore_chains
  drop_new_empty_tables
  # libcni's cache: "<network>-<sandbox id>-<ifname>" for our network and containerd's loopback
  for p in /var/lib/cni/results/"$CNI_NET"-*; do
    [[ -e "$p" ]] || continue
    p=${p#/var/lib/cni/results/"$CNI_NET"-}; ids+=("${p%-*}")
  done
  for p in "${ids[@]}"; do rm -f /var/lib/cni/results/{"$CNI_NET",cni-loopback}-"$p"-*; done
  for p in /var/log/containers/*; do  # kubelet's symlinks into our pod log dirs
    [[ -L "$p" && "$(readlink "$p")" == "$STATE"/* ]] && rm -f "$p"
  done
  remove_new_path /var/lib/cni/results; remove_new_path /var/lib/cni
  remove_new_path /var/lib/kubelet/device-plugins recursive; remove_new_path /var/lib/kubelet
  remove_new_path /var/log/containers; remove_new_path /var/log/pods
  remove_new_path /run/containerd/runc; remove_new_path /run/containerd/s; remove_new_path /run/containerd
  if mountpoint -q /run/netns 2> /dev/null && ! grep -qxF /run/netns "$BEFORE/mountpoints" 2> /dev/null; then
    umount /run/netns 2> /dev/null || warn "/run/netns still has mounts; left mounted"
  fi
  remove_new_path /run/netns
  restore_sysctls
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h$CGROUP_PARENT" ]] && find "$h$CGROUP_PARENT" -depth -type d -exec rmdir {} \; 2> /dev/null
    [[ -d "$h$CGROUP_PARENT" ]] && warn "cgroup $h$CGROUP_PARENT not removed"
  done

  # Data that must not outlive the cluster: etcd, containerd, kubelet, CNI state (certs and registry stay).
  rm -rf --one-file-system "$STATE/etcd" "$STATE"/node-* "$STATE/flex-volume" "$RUN" "$PIDS" "$STATE/nodes" "$STATE/env"
  rm -rf "$BEFORE"
  log "down: stopped, host state restored"
}
