package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"cwasi.io/operator/internal/names"
)

// The cluster map is the file the shim reads (CWASI_CLUSTER_FILE) to send a
// call to a function with no instance on its node:
//
//	{"functions": {"NAME": "IP:PORT", ...}}
//
// The shim rejects the whole file when one name is not valid, so names it
// would not accept are left out here.

// ClusterMap is the content of the map: one address per function name.
type ClusterMap struct {
	Functions map[string]string `json:"functions"`
}

// MapProblems lists what ComputeClusterMap noticed, for the log.
type MapProblems struct {
	// MultiNamespace maps a name served from several namespaces to them
	// (sorted); their endpoints are pooled.
	MultiNamespace map[string][]string
	// InvalidNames are label values the shim would not accept as a name.
	InvalidNames []string
}

// ComputeClusterMap chooses, for each function name (the cwasi.io/function
// label of a slice), one address among the ready endpoints of other nodes
// on the slice's "comm" port. Endpoints on node are left out: the shim finds
// those through the node-local registry. With several addresses each node
// picks its own (sorted, then by a hash of its name), so nodes spread their
// calls. A name without an eligible endpoint is absent.
func ComputeClusterMap(endpointSlices []*discoveryv1.EndpointSlice, node string) (ClusterMap, MapProblems) {
	addrs := map[string]map[string]bool{}      // name -> set of host:port
	namespaces := map[string]map[string]bool{} // name -> namespaces seen
	invalid := map[string]bool{}
	for _, s := range endpointSlices {
		name, ok := s.Labels[names.LabelFunction]
		if !ok {
			continue
		}
		if !validFunctionName(name) {
			invalid[name] = true
			continue
		}
		if namespaces[name] == nil {
			namespaces[name] = map[string]bool{}
		}
		namespaces[name][s.Namespace] = true
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue // FQDN slices name no pod
		}
		port, ok := commPort(s)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if !eligible(ep, node) {
				continue
			}
			if addrs[name] == nil {
				addrs[name] = map[string]bool{}
			}
			// Addresses of one endpoint are fungible: the API lets
			// consumers use only the first.
			addrs[name][net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port)))] = true
		}
	}

	m := ClusterMap{Functions: map[string]string{}}
	for name, set := range addrs {
		list := make([]string, 0, len(set))
		for a := range set {
			list = append(list, a)
		}
		m.Functions[name] = chooseAddress(list, node)
	}

	var p MapProblems
	for name, nss := range namespaces {
		if len(nss) > 1 {
			if p.MultiNamespace == nil {
				p.MultiNamespace = map[string][]string{}
			}
			list := make([]string, 0, len(nss))
			for ns := range nss {
				list = append(list, ns)
			}
			sort.Strings(list)
			p.MultiNamespace[name] = list
		}
	}
	for name := range invalid {
		p.InvalidNames = append(p.InvalidNames, name)
	}
	sort.Strings(p.InvalidNames)
	return m, p
}

// commPort is the slice's TCP port named "comm".
func commPort(s *discoveryv1.EndpointSlice) (int32, bool) {
	for _, p := range s.Ports {
		if p.Name == nil || *p.Name != names.CommPortName || p.Port == nil {
			continue
		}
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			continue
		}
		return *p.Port, true
	}
	return 0, false
}

// eligible: ready (unset counts as ready, as the API says consumers should
// read it), has an address, and runs on another node.
func eligible(ep discoveryv1.Endpoint, node string) bool {
	if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
		return false
	}
	if len(ep.Addresses) == 0 {
		return false
	}
	return ep.NodeName == nil || *ep.NodeName != node
}

// chooseAddress picks addrs[fnv32(node) % n] of the sorted addresses, so one
// node keeps its choice while the set is stable, and nodes differ.
func chooseAddress(addrs []string, node string) string {
	slices.Sort(addrs)
	h := fnv.New32()
	h.Write([]byte(node))
	return addrs[h.Sum32()%uint32(len(addrs))]
}

// validFunctionName is the shim's validName (src/comm/frame.cc).
func validFunctionName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Encode renders the map as the shim reads it (keys sorted, one line).
func (m ClusterMap) Encode() []byte {
	if m.Functions == nil {
		m.Functions = map[string]string{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("encoding a map of strings cannot fail: %v", err))
	}
	return append(b, '\n')
}

// clusterMapPerm lets the shim (root, but maybe confined) and humans read it.
const clusterMapPerm fs.FileMode = 0o644

// WriteIfChanged replaces the file at path with data (atomically) unless it
// already holds exactly that, and reports whether it wrote. The shim reloads
// the map when its mtime changes, so an unchanged map is never rewritten.
func WriteIfChanged(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading the cluster map: %w", err)
	}
	var oldInfo fs.FileInfo
	if err == nil {
		oldInfo, _ = os.Stat(path)
	}
	if err := writeBytesAtomic(path, data, clusterMapPerm, nil); err != nil {
		return false, fmt.Errorf("writing the cluster map: %w", err)
	}
	// The shim compares mtimes for equality: on a file system with coarse
	// timestamps two writes could share one, and the second would go unseen.
	if oldInfo != nil {
		if fi, err := os.Stat(path); err == nil && !fi.ModTime().After(oldInfo.ModTime()) {
			t := oldInfo.ModTime().Add(1e6) // 1 ms
			os.Chtimes(path, t, t)
		}
	}
	return true, nil
}
