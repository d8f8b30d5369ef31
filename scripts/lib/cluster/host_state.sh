# The host's state, recorded before `up` changes it and restored by `down`
# (scripts/cluster.sh): paths, mount points, network namespaces, links,
# iptables chains and tables, sysctls, all kept in $BEFORE.
# shellcheck shell=bash

iptables_chains() {  # prints "FAMILY TABLE CHAIN" for every chain
  local fam
  for fam in iptables ip6tables; do
    "$fam-save" 2>/dev/null | awk -v f="$fam" '/^\*/ {t = substr($0, 2)} /^:/ {print f, t, substr($1, 2)}'
  done
}
snapshot_before() {
  # Taken once: a failed `up` followed by another `up` keeps the first record until `down`.
  [[ -f "$BEFORE/complete" ]] && return
  rm -rf "$BEFORE"; mkdir -p "$BEFORE"
  local p
  for p in "${HOST_PATHS[@]}"; do [[ -e "$p" ]] && echo "$p"; done > "$BEFORE/paths"
  if mountpoint -q /run/netns 2>/dev/null; then echo /run/netns; fi > "$BEFORE/mountpoints"
  ip netns list 2>/dev/null | awk '{print $1}' > "$BEFORE/netns"
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' > "$BEFORE/links"
  iptables_chains > "$BEFORE/chains"
  iptables-save > "$BEFORE/iptables-save.v4" 2>/dev/null || true
  ip6tables-save > "$BEFORE/iptables-save.v6" 2>/dev/null || true
  sysctl -a 2>/dev/null | awk -F' = ' -v re="$SYSCTL_RE" '$1 ~ re' > "$BEFORE/sysctl"
  date -Is > "$BEFORE/complete"
  log "recorded the host's state in $BEFORE"
}
existed() { grep -qxF "$1" "$BEFORE/paths" 2>/dev/null; }

# --- restoring it at `down` -----------------------------------------------
iptables_restore_chains() {  # delete KUBE-*/CNI-* chains that did not exist before up, and every rule jumping to them
  local fam table chain line
  local -A new=()
  while read -r fam table chain; do
    [[ "$chain" == KUBE-* || "$chain" == CNI-* ]] || continue
    grep -qxF "$fam $table $chain" "$BEFORE/chains" 2> /dev/null && continue
    new["$fam $table $chain"]=1
  done < <(iptables_chains)
  ((${#new[@]})) || return 0
  for fam in iptables ip6tables; do
    for table in $(printf '%s\n' "${!new[@]}" | awk -v f="$fam" '$1 == f {print $2}' | sort -u); do
      # rules in other chains that jump to a new chain
      "$fam-save" -t "$table" | grep -E '^-A ' | while read -r line; do
        local target
        target=$(grep -oE -- '-[jg] [^ ]+' <<< "$line" | awk '{print $2}')
        [[ -n "$target" && -n "${new["$fam $table $target"]:-}" ]] || continue
        chain=$(awk '{print $2}' <<< "$line")
        [[ -n "${new["$fam $table $chain"]:-}" ]] && continue
        eval "$fam -w -t $table -D ${line#-A }" || warn "$fam -t $table: could not delete: $line"
      done || true
      for chain in $(printf '%s\n' "${!new[@]}" | awk -v f="$fam" -v t="$table" '$1 == f && $2 == t {print $3}'); do
        "$fam" -w -t "$table" -F "$chain" 2> /dev/null || true
      done
      for chain in $(printf '%s\n' "${!new[@]}" | awk -v f="$fam" -v t="$table" '$1 == f && $2 == t {print $3}'); do
        "$fam" -w -t "$table" -X "$chain" 2> /dev/null || warn "$fam -t $table: could not delete chain $chain"
      done
    done
  done
  log "removed ${#new[@]} iptables chain(s) (KUBE-*, CNI-*) and the rules jumping to them"
}
drop_new_empty_tables() {  # iptables-nft leaves empty tables behind: drop those that did not exist before
  command -v nft > /dev/null 2>&1 || return 0
  iptables --version 2> /dev/null | grep -q nf_tables || return 0
  local fam v nfam table
  for fam in iptables ip6tables; do
    if [[ "$fam" == iptables ]]; then v=v4 nfam=ip; else v=v6 nfam=ip6; fi
    for table in $("$fam-save" 2> /dev/null | sed -n 's/^\*//p'); do
      grep -qxF "*$table" "$BEFORE/iptables-save.$v" 2> /dev/null && continue
      # only builtin chains (a policy, not "-"), all ACCEPT, and no rules
      "$fam-save" -t "$table" | grep -qE '^-A |^:[^ ]+ (-|DROP)' && continue
      nft delete table "$nfam" "$table" 2> /dev/null && log "removed the empty $nfam $table table (created by iptables-nft)"
    done
  done
  return 0
}
restore_sysctls() {
  [[ -f "$BEFORE/sysctl" ]] || return 0
  local key value now
  while IFS= read -r line; do
    key=${line%% = *} value=${line#* = }
    now=$(sysctl -n "$key" 2> /dev/null) || continue
    [[ "$now" == "$value" ]] && continue
    if sysctl -qw "$key=$value" 2> /dev/null; then log "sysctl $key restored to $value (was $now)"; fi
  done < "$BEFORE/sysctl"
}
remove_new_path() {  # PATH: remove it if up created it (recursively only when told)
  local p=$1 recursive=${2:-}
  [[ -e "$p" ]] || return 0
  existed "$p" && return 0
  if [[ -n "$recursive" ]]; then rm -rf --one-file-system "$p"; else rmdir "$p" 2> /dev/null || warn "$p is not empty; left in place"; fi
}
