# The control plane (scripts/cluster.sh up): etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler on the host, with their
# kubeconfigs.
# shellcheck shell=bash

control_plane_up() {
  mkdir -p "$STATE/etcd" "$KCFG"
  chmod 700 "$STATE/etcd"
  start_daemon etcd 0 etcd --name cwasi --data-dir "$STATE/etcd" \
    --listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
    --listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
    --initial-cluster "cwasi=http://$ETCD_PEER" --initial-cluster-state new \
    --logger zap --log-level warn
  wait_for 30 etcd etcd curl -sf "http://$ETCD_CLIENT/health"

  local c
  for c in admin controller-manager scheduler kube-proxy node-1 node-2; do kubeconfig "$KCFG/$c.conf" "$c"; done
  start_daemon kube-apiserver 0 "$KBIN/kube-apiserver" \
    --advertise-address="$APISERVER_IP" --bind-address="$APISERVER_IP" --secure-port=6443 \
    --etcd-servers="http://$ETCD_CLIENT" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --profiling=false
  wait_for 90 kube-apiserver kube-apiserver kctl get --raw /readyz

  start_daemon kube-controller-manager 0 "$KBIN/kube-controller-manager" \
    --kubeconfig="$KCFG/controller-manager.conf" \
    --authentication-kubeconfig="$KCFG/controller-manager.conf" --authorization-kubeconfig="$KCFG/controller-manager.conf" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --use-service-account-credentials=true --flex-volume-plugin-dir="$STATE/flex-volume" \
    --kube-api-qps=100 --kube-api-burst=200 --profiling=false
  start_daemon kube-scheduler 0 "$KBIN/kube-scheduler" \
    --kubeconfig="$KCFG/scheduler.conf" \
    --authentication-kubeconfig="$KCFG/scheduler.conf" --authorization-kubeconfig="$KCFG/scheduler.conf" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}
