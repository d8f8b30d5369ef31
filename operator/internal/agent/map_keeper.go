package agent

import (
	"context"
	"log/slog"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"cwasi.io/operator/internal/names"
)

// DefaultMapInterval is the least time between two recomputations of the
// map: a rollout of many functions then costs a few writes, not one each.
const DefaultMapInterval = 200 * time.Millisecond

// MapKeeper keeps the cluster map file current from the EndpointSlices
// labelled cwasi.io/function in all namespaces. It caches only those
// slices, stripped of what the map does not need.
type MapKeeper struct {
	Slices   discoveryclient.EndpointSlicesGetter
	Node     string        // this node's name: its endpoints are left out
	Path     string        // the cluster map file
	Interval time.Duration // 0 means DefaultMapInterval
	Log      *slog.Logger  // nil means slog.Default()
	// OnFirstMap, when set, is called once: when the map computed from the
	// first complete list of slices is on disk.
	OnFirstMap func()

	// Names reported as served from several namespaces, or invalid, with
	// what was said, so each is logged once (touched by Run's goroutine only).
	reported map[string]string
}

// Run watches until ctx ends. Write failures are logged and retried with
// backoff; Run returns only when ctx is done.
func (k *MapKeeper) Run(ctx context.Context) error {
	if k.Log == nil {
		k.Log = slog.Default()
	}
	interval := k.Interval
	if interval <= 0 {
		interval = DefaultMapInterval
	}
	dirty := make(chan struct{}, 1)
	poke := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	store, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: k.listWatch(),
		ObjectType:    &discoveryv1.EndpointSlice{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { poke() },
			UpdateFunc: func(any, any) { poke() },
			DeleteFunc: func(any) { poke() },
		},
		Transform: slimEndpointSlice,
	})
	go informer.RunWithContext(ctx)
	k.Log.Info("watching EndpointSlices", "selector", names.LabelFunction, "node", k.Node, "map", k.Path)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return ctx.Err()
	}

	first := true
	backoff := time.Duration(0)
	for {
		select { // what arrives from now on is in this sync or pokes again
		case <-dirty:
		default:
		}
		err := k.sync(store)
		var retry <-chan time.Time
		if err != nil {
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			k.Log.Error("cannot write the cluster map; retrying", "err", err, "in", backoff)
			retry = time.After(backoff)
		} else {
			backoff = 0
			if first {
				first = false
				if k.OnFirstMap != nil {
					k.OnFirstMap()
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-dirty:
		case <-retry:
		}
		// Let a burst of changes settle into one recomputation.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func (k *MapKeeper) listWatch() cache.ListerWatcher {
	c := k.Slices.EndpointSlices(metav1.NamespaceAll)
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = names.LabelFunction // the label exists
			return c.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = names.LabelFunction
			return c.Watch(ctx, o)
		},
	}
}

// sync recomputes the map from the cache and writes it if it changed.
func (k *MapKeeper) sync(store cache.Store) error {
	objs := store.List()
	list := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			list = append(list, s)
		}
	}
	m, problems := ComputeClusterMap(list, k.Node)
	k.report(problems)
	wrote, err := WriteIfChanged(k.Path, m.Encode())
	if err != nil {
		return err
	}
	if wrote {
		k.Log.Info("cluster map updated", "functions", len(m.Functions), "slices", len(list))
	}
	return nil
}

// report logs each problem once, and again only if it changes.
func (k *MapKeeper) report(p MapProblems) {
	now := map[string]string{}
	for name, nss := range p.MultiNamespace {
		now["ns/"+name] = strings.Join(nss, ",")
	}
	for _, name := range p.InvalidNames {
		now["invalid/"+name] = ""
	}
	for key, what := range now {
		if said, ok := k.reported[key]; ok && said == what {
			continue
		}
		kind, name, _ := strings.Cut(key, "/")
		if kind == "ns" {
			k.Log.Warn("function served from several namespaces; using the endpoints of all", "function", name, "namespaces", what)
		} else {
			k.Log.Warn("label value is not a valid function name; left out of the cluster map", "label", names.LabelFunction, "value", name)
		}
	}
	k.reported = now
}

// slimEndpointSlice drops what the map never reads before a slice is cached.
func slimEndpointSlice(obj any) (any, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	s.ManagedFields = nil
	s.Annotations = nil
	s.OwnerReferences = nil
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		e.TargetRef = nil
		e.Hints = nil
		e.Zone = nil
		e.Hostname = nil
		e.DeprecatedTopology = nil
	}
	return s, nil
}
