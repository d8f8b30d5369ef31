package controller

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
	"cwasi.io/operator/internal/names"
)

func workflow(ns, name string, placement cwasiv1.Placement, sequence ...string) *cwasiv1.Workflow {
	return &cwasiv1.Workflow{ObjectMeta: objMeta(name, ns),
		Spec: cwasiv1.WorkflowSpec{Sequence: sequence, Placement: placement}}
}

func getWorkflow(c client.Client, ns, name string) (*cwasiv1.Workflow, error) {
	w := &cwasiv1.Workflow{}
	return w, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, w)
}

func workflowDegraded(c client.Client, ns, name, reason, text string) func() error {
	return func() error {
		w, err := getWorkflow(c, ns, name)
		if err != nil {
			return err
		}
		d := meta.FindStatusCondition(w.Status.Conditions, CondDegraded)
		return expect(d != nil && d.Status == "True" && d.Reason == reason && strings.Contains(d.Message, text), "%+v", d)
	}
}

func ownedDeployments(c client.Client, ns, wf string) (map[string]*appsv1.Deployment, error) {
	list := &appsv1.DeploymentList{}
	if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{names.LabelOwnerWorkflow: wf}); err != nil {
		return nil, err
	}
	out := map[string]*appsv1.Deployment{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

func workflowMissing(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	if err := c.Create(ctx, workflow(ns, "pipe", "", "upper", "reverse")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "FunctionNotFound", workflowDegraded(c, ns, "pipe", ReasonNotFound, "no Function [reverse upper]"))
	for _, f := range []string{"upper", "reverse"} {
		if err := c.Create(ctx, function(ns, f, "r/fn/"+f+":1")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the entry Deployment once the Functions exist", func() error {
		_, err := getDeployment(c, ns, "pipe-workflow")
		return err
	})
}

func workflowPlacements(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	for _, f := range []string{"upper", "reverse"} {
		if err := c.Create(ctx, function(ns, f, "r/fn/"+f+":1")); err != nil {
			t.Fatal(err)
		}
	}
	wf := &cwasiv1.Workflow{ObjectMeta: objMeta("dag", ns), Spec: cwasiv1.WorkflowSpec{Steps: []cwasiv1.WorkflowStep{
		{ID: "split", Function: "upper"},
		{ID: "a", Function: "reverse", After: []string{"split"}},
		{ID: "b", Function: "upper", After: []string{"split"}},
		{ID: "join", Function: "reverse", After: []string{"a", "b"}},
	}}}
	if err := c.Create(ctx, wf); err != nil {
		t.Fatal(err)
	}
	// Default: one trust domain, so pod: the steps share the entry point's pod.
	eventually(t, "placement pod", func() error {
		deps, err := ownedDeployments(c, ns, "dag")
		if err != nil {
			return err
		}
		d := deps["dag-workflow"]
		if len(deps) != 1 || d == nil {
			return fmt.Errorf("deployments %v", keys(deps))
		}
		cs := d.Spec.Template.Spec.Containers
		if len(cs) != 3 || cs[0].Image != testWorkflowImage || cs[1].Image != "r/fn/reverse:1" || cs[2].Image != "r/fn/upper:1" {
			return fmt.Errorf("containers %+v", cs)
		}
		want := "split dag.step1\na dag.step0 split\nb dag.step1 split\njoin dag.step0 a b\n"
		if got := envOf(cs[0])[names.EnvWorkflow]; got != want {
			return fmt.Errorf("CWASI_WORKFLOW %q, want %q", got, want)
		}
		return expect(envOf(cs[1])[names.EnvFunction] == "dag.step0" && envOf(cs[1])[names.EnvHTTPPort] == "",
			"step env %v", envOf(cs[1]))
	})
	eventually(t, "edges embedded", func() error {
		w, err := getWorkflow(c, ns, "dag")
		if err != nil {
			return err
		}
		return expect(w.Status.Placement == "pod" && len(w.Status.Edges) == 5 && w.Status.Edges[0] ==
			(cwasiv1.WorkflowEdge{From: "input", To: "split", Mode: "embedded"}) &&
			w.Status.URL == "http://dag-workflow."+ns+".svc.cluster.local", "status %+v", w.Status)
	})
	setPlacement := func(p cwasiv1.Placement) {
		eventually(t, "placement "+string(p), func() error {
			w, err := getWorkflow(c, ns, "dag")
			if err != nil {
				return err
			}
			w.Spec.Placement = p
			return c.Update(ctx, w)
		})
	}
	// spread: a Deployment per function, off the entry point's node, each
	// with a headless Service the node agent maps.
	setPlacement(cwasiv1.PlacementSpread)
	eventually(t, "placement spread", func() error {
		deps, err := ownedDeployments(c, ns, "dag")
		if err != nil {
			return err
		}
		if len(deps) != 3 || deps["dag-step0"] == nil || deps["dag-step1"] == nil || deps["dag-workflow"] == nil {
			return fmt.Errorf("deployments %v", keys(deps))
		}
		anti := deps["dag-workflow"].Spec.Template.Spec.Affinity
		if anti == nil || anti.PodAntiAffinity == nil || len(anti.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
			return fmt.Errorf("entry affinity %+v", anti)
		}
		svc := &corev1.Service{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dag-step1"}, svc); err != nil {
			return err
		}
		return expect(svc.Spec.ClusterIP == corev1.ClusterIPNone && svc.Labels[names.LabelFunction] == "dag.step1" &&
			svc.Spec.Ports[0].Name == "comm", "step service %+v %v", svc.Spec, svc.Labels)
	})
	eventually(t, "edges remote", func() error {
		w, err := getWorkflow(c, ns, "dag")
		if err != nil {
			return err
		}
		return expect(w.Status.Placement == "spread" && w.Status.Edges[4].Mode == "remote", "status %+v", w.Status)
	})
	// node: together on one node; the step Services of spread are gone.
	setPlacement(cwasiv1.PlacementNode)
	eventually(t, "placement node", func() error {
		deps, err := ownedDeployments(c, ns, "dag")
		if err != nil {
			return err
		}
		aff := deps["dag-step0"].Spec.Template.Spec.Affinity
		if aff == nil || aff.PodAffinity == nil || aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != hostnameTopo {
			return fmt.Errorf("step affinity %+v", aff)
		}
		err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dag-step1"}, &corev1.Service{})
		return expect(apierrors.IsNotFound(err), "the spread Service is still there: %v", err)
	})
	// A Function's new image reaches the workflow's copy of it.
	eventually(t, "new image", func() error {
		f, err := getFunction(c, ns, "upper")
		if err != nil {
			return err
		}
		f.Spec.Image = "r/fn/upper:2"
		return c.Update(ctx, f)
	})
	eventually(t, "the copy follows", func() error {
		d, err := getDeployment(c, ns, "dag-step1")
		if err != nil {
			return err
		}
		return expect(d.Spec.Template.Spec.Containers[0].Image == "r/fn/upper:2", "image %s", d.Spec.Template.Spec.Containers[0].Image)
	})
	// Ready once every Deployment has a ready pod.
	for _, d := range []string{"dag-workflow", "dag-step0", "dag-step1"} {
		markRolledOut(t, c, ns, d, 1)
	}
	eventually(t, "Ready", func() error {
		w, err := getWorkflow(c, ns, "dag")
		if err != nil {
			return err
		}
		return expect(condition(w.Status.Conditions, CondReady) == "True/MinimumReplicasAvailable", "%v", w.Status.Conditions)
	})
}

func workflowTrustDomains(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	a, b := function(ns, "a", "r/a:1"), function(ns, "b", "r/b:1")
	b.Spec.TrustDomain = "tenant-b"
	for _, f := range []*cwasiv1.Function{a, b} {
		if err := c.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Create(ctx, workflow(ns, "mixed", "", "a", "b")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "default node across trust domains", func() error {
		w, err := getWorkflow(c, ns, "mixed")
		if err != nil {
			return err
		}
		return expect(w.Status.Placement == "node" && len(w.Status.Edges) == 2 && w.Status.Edges[1].Mode == "local", "%+v", w.Status)
	})
	if err := c.Create(ctx, workflow(ns, "forced", cwasiv1.PlacementPod, "a", "b")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod refused", workflowDegraded(c, ns, "forced", ReasonTrustDomains, "default, tenant-b"))
}

func workflowValidation(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	cases := []struct {
		name string
		spec map[string]any
		says string
	}{
		{"both", map[string]any{"sequence": []any{"a"}, "steps": []any{map[string]any{"id": "x", "function": "a"}}}, "either sequence or steps"},
		{"neither", map[string]any{}, "either sequence or steps"},
		{"dup", map[string]any{"steps": []any{map[string]any{"id": "x", "function": "a"}, map[string]any{"id": "x", "function": "b"}}}, "unique"},
		{"unknown-after", map[string]any{"steps": []any{map[string]any{"id": "x", "function": "a", "after": []any{"y"}}}}, "must name a step"},
		{"bad-placement", map[string]any{"sequence": []any{"a"}, "placement": "moon"}, "spec.placement"},
	}
	for _, tc := range cases {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "cwasi.io/v1alpha1", "kind": "Workflow",
			"metadata": map[string]any{"name": tc.name, "namespace": ns}, "spec": tc.spec}}
		err := c.Create(ctx, u)
		if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: want Invalid saying %q, got %v", tc.name, tc.says, err)
		}
	}
	cyc := &cwasiv1.Workflow{ObjectMeta: objMeta("cycle", ns), Spec: cwasiv1.WorkflowSpec{Steps: []cwasiv1.WorkflowStep{
		{ID: "x", Function: "a", After: []string{"y"}}, {ID: "y", Function: "a", After: []string{"x"}}}}}
	if err := c.Create(ctx, cyc); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a cycle is Degraded", workflowDegraded(c, ns, "cycle", ReasonInvalid, "cycle"))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
