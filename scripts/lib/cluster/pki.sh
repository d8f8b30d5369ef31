# The cluster's certificates (openssl, ECDSA P-256) in $PKI — CAs, the
# control plane's and the nodes' pairs, the service-account key — and the
# kubeconfigs that name them (scripts/cluster.sh up).
# shellcheck shell=bash

# A pair is kept only when it is whole and checked: the certificate carries
# the key's public key and verifies against its CA (a CA made anew invalidates
# what it signed). Anything else is made again, into temporary files renamed
# into place once checked: an `up` killed half-way never leaves a certificate
# that does not match its key (kube-proxy's did once, and every later `up`
# failed until the pki was deleted by hand).
pair_ok() {  # NAME [CA]: NAME.crt and NAME.key belong together (and to CA, when given)
  local crt="$PKI/$1.crt" key="$PKI/$1.key" ca=${2:-} pub
  [[ -s "$crt" && -s "$key" ]] || return 1
  pub=$(openssl pkey -in "$key" -pubout 2> /dev/null) || return 1
  [[ -n "$pub" && "$pub" == "$(openssl x509 -in "$crt" -noout -pubkey 2> /dev/null)" ]] || return 1
  [[ -z "$ca" ]] || openssl verify -CAfile "$PKI/$ca.crt" "$crt" > /dev/null 2>&1
}
install_pair() {  # NAME: moves the checked NAME.{key,crt}.tmp into place
  mv -f "$PKI/$1.key.tmp" "$PKI/$1.key"
  mv -f "$PKI/$1.crt.tmp" "$PKI/$1.crt"
}
cert() {  # NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES] [CA]
  local name=$1 subj=$2 eku=$3 san=${4:-} ca=${5:-ca}
  pair_ok "$name" "$ca" && return
  local tmp="$PKI/$name"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp.key.tmp" 2> /dev/null
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    echo "extendedKeyUsage = $eku"
    echo "authorityKeyIdentifier = keyid"
    if [[ -n "$san" ]]; then echo "subjectAltName = $san"; fi
  } > "$tmp.ext"
  openssl req -new -key "$tmp.key.tmp" -subj "$subj" -out "$tmp.csr"
  openssl x509 -req -in "$tmp.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile "$tmp.ext" \
    -out "$tmp.crt.tmp" 2> /dev/null
  rm -f "$tmp.csr" "$tmp.ext"
  install_pair "$name"
  pair_ok "$name" "$ca" || die "the certificate made for $name does not match its key or CA ($PKI)"
}
ca() {  # NAME CN
  pair_ok "$1" "$1" && return
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key.tmp" 2> /dev/null
  printf '%s\n' '[req]' 'distinguished_name = dn' '[dn]' '[ext]' \
    'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature' \
    'subjectKeyIdentifier = hash' > "$PKI/$1.cnf"
  openssl req -x509 -new -key "$PKI/$1.key.tmp" -subj "/CN=$2" -days 3650 -sha256 \
    -config "$PKI/$1.cnf" -extensions ext -out "$PKI/$1.crt.tmp"
  rm -f "$PKI/$1.cnf"
  install_pair "$1"
  pair_ok "$1" "$1" || die "the CA made as $1 does not match its key ($PKI)"
}
make_pki() {
  mkdir -p "$PKI"; chmod 700 "$PKI"
  rm -f "$PKI"/*.tmp  # what an interrupted `up` was making
  local start=$SECONDS n
  ca ca cwasi-cluster-ca
  ca front-proxy-ca cwasi-cluster-front-proxy-ca
  cert apiserver /CN=kube-apiserver serverAuth \
    "IP:127.0.0.1, IP:$APISERVER_IP, IP:$KUBERNETES_SVC, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  cert admin "/O=system:masters/CN=admin" clientAuth
  cert controller-manager /CN=system:kube-controller-manager clientAuth
  cert scheduler /CN=system:kube-scheduler clientAuth
  cert kube-proxy /CN=system:kube-proxy clientAuth
  cert front-proxy-client /CN=front-proxy-client clientAuth "" front-proxy-ca
  for n in 1 2; do
    cert "node-$n" "/O=system:nodes/CN=system:node:node-$n" clientAuth
    cert "node-$n-serving" "/CN=node-$n" serverAuth "IP:$(node_ip "$n"), DNS:node-$n"
  done
  # The service-account signing key and its public half, checked like the pairs.
  if [[ ! -s "$PKI/sa.key" || "$(openssl pkey -in "$PKI/sa.key" -pubout 2> /dev/null)" != "$(cat "$PKI/sa.pub" 2> /dev/null)" ]]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/sa.key.tmp" 2> /dev/null
    openssl pkey -in "$PKI/sa.key.tmp" -pubout -out "$PKI/sa.pub.tmp"
    mv -f "$PKI/sa.key.tmp" "$PKI/sa.key"; mv -f "$PKI/sa.pub.tmp" "$PKI/sa.pub"
  fi
  log "certificates in $PKI ($((SECONDS - start)) s)"
}
kubeconfig() {  # FILE CERT_NAME
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cwasi
  cluster:
    server: https://$APISERVER_IP:6443
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: cwasi
  context: {cluster: cwasi, user: $2}
current-context: cwasi
EOF
}
