package agent

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"cwasi.io/operator/internal/names"
)

func ptr[T any](v T) *T { return &v }

// ep is an endpoint: ready is "true", "false" or "" (unset).
func ep(ip, node, ready string) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{ip}}
	if node != "" {
		e.NodeName = ptr(node)
	}
	if ready != "" {
		e.Conditions.Ready = ptr(ready == "true")
	}
	return e
}

func port(name string, n int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr(name), Port: ptr(n), Protocol: ptr(corev1.ProtocolTCP)}
}

func slice(ns, name, function string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       ports,
		Endpoints:   eps,
	}
	if function != "" {
		s.Labels[names.LabelFunction] = function
	}
	return s
}

var commOnly = []discoveryv1.EndpointPort{port("comm", 7070)}

// pickFor restates the rule: sorted, then fnv32(node) % n.
func pickFor(node string, addrs ...string) string {
	addrs = slices.Sorted(slices.Values(addrs))
	h := fnv.New32()
	h.Write([]byte(node))
	return addrs[h.Sum32()%uint32(len(addrs))]
}

func TestComputeClusterMap(t *testing.T) {
	const me = "node-a"
	tests := []struct {
		name   string
		slices []*discoveryv1.EndpointSlice
		want   map[string]string
	}{
		{name: "nothing", want: map[string]string{}},
		{
			name:   "a ready endpoint on another node",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo", commOnly, ep("10.0.0.1", "node-b", "true"))},
			want:   map[string]string{"echo": "10.0.0.1:7070"},
		},
		{
			name:   "not ready is left out",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo", commOnly, ep("10.0.0.1", "node-b", "false"))},
			want:   map[string]string{},
		},
		{
			name:   "unset ready counts as ready",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo", commOnly, ep("10.0.0.1", "node-b", ""))},
			want:   map[string]string{"echo": "10.0.0.1:7070"},
		},
		{
			name: "own node is left out",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "s1", "echo", commOnly, ep("10.0.0.1", me, "true"), ep("10.0.0.2", "node-b", "false")),
				slice("ns", "s2", "local-only", commOnly, ep("10.0.0.3", me, "true")),
			},
			want: map[string]string{},
		},
		{
			name:   "no node name is another node",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo", commOnly, ep("10.0.0.1", "", "true"))},
			want:   map[string]string{"echo": "10.0.0.1:7070"},
		},
		{
			name: "the port named comm",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo",
				[]discoveryv1.EndpointPort{port("http", 8080), port("comm", 9000)}, ep("10.0.0.1", "node-b", "true"))},
			want: map[string]string{"echo": "10.0.0.1:9000"},
		},
		{
			name: "no comm port leaves the name out",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo",
				[]discoveryv1.EndpointPort{port("http", 8080)}, ep("10.0.0.1", "node-b", "true"))},
			want: map[string]string{},
		},
		{
			name: "a UDP comm port does not count",
			slices: []*discoveryv1.EndpointSlice{slice("ns", "s1", "echo",
				[]discoveryv1.EndpointPort{{Name: ptr("comm"), Port: ptr(int32(7070)), Protocol: ptr(corev1.ProtocolUDP)}}, ep("10.0.0.1", "node-b", "true"))},
			want: map[string]string{},
		},
		{
			name: "several slices of one service pool their endpoints",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "echo-1", "echo", commOnly, ep("10.0.0.9", "node-b", "true"), ep("10.0.0.1", "node-c", "false")),
				slice("ns", "echo-2", "echo", commOnly, ep("10.0.0.5", "node-c", "true"), ep("10.0.0.7", "node-d", "true")),
			},
			want: map[string]string{"echo": pickFor(me, "10.0.0.9:7070", "10.0.0.5:7070", "10.0.0.7:7070")},
		},
		{
			name: "one name in two namespaces pools their endpoints",
			slices: []*discoveryv1.EndpointSlice{
				slice("team-a", "echo-1", "echo", commOnly, ep("10.0.1.1", "node-b", "true")),
				slice("team-b", "echo-1", "echo", commOnly, ep("10.0.2.1", "node-b", "true")),
			},
			want: map[string]string{"echo": pickFor(me, "10.0.1.1:7070", "10.0.2.1:7070")},
		},
		{
			name: "a slice without the label is ignored",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "other", "", commOnly, ep("10.0.0.1", "node-b", "true")),
			},
			want: map[string]string{},
		},
		{
			name: "a name the shim would reject is left out",
			slices: []*discoveryv1.EndpointSlice{
				slice("ns", "bad", "no spaces", commOnly, ep("10.0.0.1", "node-b", "true")),
				slice("ns", "good", "fine.name_1-x", commOnly, ep("10.0.0.2", "node-b", "true")),
			},
			want: map[string]string{"fine.name_1-x": "10.0.0.2:7070"},
		},
		{
			name: "IPv6 is bracketed",
			slices: []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
				s := slice("ns", "v6", "echo", commOnly, ep("fd00::1", "node-b", "true"))
				s.AddressType = discoveryv1.AddressTypeIPv6
				return s
			}()},
			want: map[string]string{"echo": "[fd00::1]:7070"},
		},
		{
			name: "FQDN slices are ignored",
			slices: []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
				s := slice("ns", "dns", "echo", commOnly, ep("echo.example.com", "node-b", "true"))
				s.AddressType = discoveryv1.AddressTypeFQDN
				return s
			}()},
			want: map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := ComputeClusterMap(tc.slices, me)
			if !reflect.DeepEqual(got.Functions, tc.want) {
				t.Errorf("got %v, want %v", got.Functions, tc.want)
			}
		})
	}
}

func TestComputeClusterMapReportsProblems(t *testing.T) {
	_, p := ComputeClusterMap([]*discoveryv1.EndpointSlice{
		slice("team-b", "e", "echo", commOnly, ep("10.0.2.1", "node-b", "true")),
		slice("team-a", "e", "echo", commOnly),
		slice("ns", "x", "bad name", commOnly),
		slice("ns", "y", "solo", commOnly),
	}, "node-a")
	if want := map[string][]string{"echo": {"team-a", "team-b"}}; !reflect.DeepEqual(p.MultiNamespace, want) {
		t.Errorf("MultiNamespace = %v, want %v", p.MultiNamespace, want)
	}
	if want := []string{"bad name"}; !reflect.DeepEqual(p.InvalidNames, want) {
		t.Errorf("InvalidNames = %v, want %v", p.InvalidNames, want)
	}
}

func TestChoiceIsStablePerNodeAndSpreadsAcrossNodes(t *testing.T) {
	var eps []discoveryv1.Endpoint
	var all []string
	for i := range 5 {
		ip := fmt.Sprintf("10.0.0.%d", i+1)
		eps = append(eps, ep(ip, "node-x", "true"))
		all = append(all, ip+":7070")
	}
	reversed := slices.Clone(eps)
	slices.Reverse(reversed)

	chosen := map[string]bool{}
	for i := range 20 {
		node := fmt.Sprintf("node-%d", i)
		a, _ := ComputeClusterMap([]*discoveryv1.EndpointSlice{slice("ns", "s", "echo", commOnly, eps...)}, node)
		b, _ := ComputeClusterMap([]*discoveryv1.EndpointSlice{
			slice("ns", "s2", "echo", commOnly, reversed[:2]...),
			slice("ns", "s1", "echo", commOnly, reversed[2:]...),
		}, node)
		if a.Functions["echo"] != b.Functions["echo"] {
			t.Errorf("%s: choice depends on order: %s vs %s", node, a.Functions["echo"], b.Functions["echo"])
		}
		if want := pickFor(node, all...); a.Functions["echo"] != want {
			t.Errorf("%s: chose %s, want %s", node, a.Functions["echo"], want)
		}
		chosen[a.Functions["echo"]] = true
	}
	if len(chosen) < 3 {
		t.Errorf("20 nodes chose only %v among 5 addresses", chosen)
	}
}

func TestClusterMapEncoding(t *testing.T) {
	for _, tc := range []struct {
		m    ClusterMap
		want string
	}{
		{ClusterMap{}, `{"functions":{}}` + "\n"},
		{ClusterMap{Functions: map[string]string{"b": "10.0.0.2:7070", "a": "[fd00::1]:7070"}},
			`{"functions":{"a":"[fd00::1]:7070","b":"10.0.0.2:7070"}}` + "\n"},
	} {
		if got := string(tc.m.Encode()); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestWriteIfChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster.json")

	wrote, err := WriteIfChanged(path, []byte("one\n"))
	if err != nil || !wrote {
		t.Fatalf("first write: wrote=%v err=%v", wrote, err)
	}
	if mode := stat(t, path).Mode().Perm(); mode != 0o644 {
		t.Errorf("mode %v, want 0644", mode)
	}

	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(path, old, old)
	before := stat(t, path)
	wrote, err = WriteIfChanged(path, []byte("one\n"))
	if err != nil || wrote {
		t.Fatalf("same content: wrote=%v err=%v", wrote, err)
	}
	if after := stat(t, path); !after.ModTime().Equal(before.ModTime()) || inode(after) != inode(before) {
		t.Error("unchanged content was rewritten")
	}

	wrote, err = WriteIfChanged(path, []byte("two\n"))
	if err != nil || !wrote {
		t.Fatalf("new content: wrote=%v err=%v", wrote, err)
	}
	after := stat(t, path)
	if readFile(t, path) != "two\n" || inode(after) == inode(before) || !after.ModTime().After(before.ModTime()) {
		t.Error("not replaced by a new file with a newer mtime")
	}
	assertNoTempFiles(t, dir)
}

func TestWriteIfChangedAdvancesACoarseMtime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.json")
	writeFile(t, path, "one\n", 0o644)
	// The old file's mtime is in the future, as a coarse clock could make it
	// look: the new one must still differ, or the shim would not reload.
	future := time.Now().Add(time.Hour)
	os.Chtimes(path, future, future)
	if _, err := WriteIfChanged(path, []byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if mt := stat(t, path).ModTime(); !mt.After(future) {
		t.Errorf("mtime %v not after the old %v", mt, future)
	}
}
