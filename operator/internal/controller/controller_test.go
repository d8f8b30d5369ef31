package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
	"cwasi.io/operator/internal/names"
)

// The controllers against a real kube-apiserver and etcd. No controller
// manager runs there: Deployment status and pods are written by the tests
// where kube-controller-manager and kubelet would.
func TestControllers(t *testing.T) {
	c := startOperator(t)
	t.Run("FunctionCreatesItsDeploymentAndService", func(t *testing.T) { functionCreates(t, c) })
	t.Run("FunctionStatusFollowsItsDeployment", func(t *testing.T) { functionStatus(t, c) })
	t.Run("ScaleSubresource", func(t *testing.T) { scaleSubresource(t, c) })
	t.Run("DriftIsRepaired", func(t *testing.T) { driftRepaired(t, c) })
	t.Run("ImageUpdateRollsTheDeployment", func(t *testing.T) { imageUpdate(t, c) })
	t.Run("PodProblemsDegradeTheFunction", func(t *testing.T) { degradedByPods(t, c) })
	t.Run("ValidationRejectsBadFunctions", func(t *testing.T) { validation(t, c) })
	t.Run("WorkflowWaitsForItsFunctions", func(t *testing.T) { workflowMissing(t, c) })
	t.Run("WorkflowPlacements", func(t *testing.T) { workflowPlacements(t, c) })
	t.Run("WorkflowTrustDomains", func(t *testing.T) { workflowTrustDomains(t, c) })
	t.Run("WorkflowValidation", func(t *testing.T) { workflowValidation(t, c) })
}

var ctx = context.Background()

func function(ns, name, image string) *cwasiv1.Function {
	return &cwasiv1.Function{ObjectMeta: objMeta(name, ns), Spec: cwasiv1.FunctionSpec{Image: image}}
}

func getDeployment(c client.Client, ns, name string) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	return d, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)
}

func getFunction(c client.Client, ns, name string) (*cwasiv1.Function, error) {
	f := &cwasiv1.Function{}
	return f, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, f)
}

func envOf(ct corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range ct.Env {
		m[e.Name] = e.Value
	}
	return m
}

func condition(conds []metav1.Condition, t string) string {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return "absent"
	}
	return string(c.Status) + "/" + c.Reason
}

func functionCreates(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	fn := function(ns, "upper", "127.0.0.1:5000/fn/upper:1")
	mem := resource.MustParse("64Mi")
	fn.Spec.Memory = &mem
	fn.Spec.Timeout = &metav1.Duration{Duration: 1500_000_000}
	fn.Spec.Env = []corev1.EnvVar{{Name: "GREETING", Value: "hi"}}
	fn.Spec.TargetConcurrency = ptr.To(int32(7))
	fn.Spec.ResponseMode = "cgi"
	fn.Spec.AllowedOutboundHosts = []string{"http://api.example.com", "http://127.0.0.1:8080"}
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	var dep *appsv1.Deployment
	eventually(t, "the Deployment", func() (err error) { dep, err = getDeployment(c, ns, "upper"); return })
	pod := dep.Spec.Template.Spec
	if err := expect(ptr.Deref(pod.RuntimeClassName, "") == "cwasi", "runtimeClassName %v", pod.RuntimeClassName); err != nil {
		t.Error(err)
	}
	if err := expect(!ptr.Deref(pod.AutomountServiceAccountToken, true) && !ptr.Deref(pod.EnableServiceLinks, true),
		"automountServiceAccountToken %v, enableServiceLinks %v", pod.AutomountServiceAccountToken, pod.EnableServiceLinks); err != nil {
		t.Error(err)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("containers: %d", len(pod.Containers))
	}
	ct := pod.Containers[0]
	env := envOf(ct)
	want := map[string]string{"GREETING": "hi", "CWASI_FUNCTION": "upper", "CWASI_HTTP_PORT": "8080", "CWASI_COMM_PORT": "7070",
		"CWASI_TRUST_DOMAIN": "default", "CWASI_HTTP_TIMEOUT": "1500ms", "CWASI_MAX_INFLIGHT": "7",
		"CWASI_RESPONSE": "cgi", "CWASI_ALLOWED_OUTBOUND_HOSTS": "http://api.example.com,http://127.0.0.1:8080"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if ct.Image != fn.Spec.Image || ct.ReadinessProbe == nil || ct.ReadinessProbe.HTTPGet.Path != names.HealthPath {
		t.Errorf("container: image %s, probe %+v", ct.Image, ct.ReadinessProbe)
	}
	if got := ct.Resources.Limits.Memory().String(); got != "64Mi" {
		t.Errorf("memory limit %s", got)
	}
	if !metav1.IsControlledBy(dep, fn) && dep.OwnerReferences[0].Kind != "Function" {
		t.Errorf("owner references %+v", dep.OwnerReferences)
	}
	if ref := metav1.GetControllerOf(dep); ref == nil || ref.Kind != "Function" || ref.Name != "upper" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("controller reference %+v", ref)
	}
	svc := &corev1.Service{}
	eventually(t, "the Service", func() error { return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "upper"}, svc) })
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 80 ||
		svc.Spec.Ports[1].Name != "comm" || svc.Labels[names.LabelFunction] != "upper" {
		t.Errorf("service %+v labels %v", svc.Spec, svc.Labels)
	}
	if ref := metav1.GetControllerOf(svc); ref == nil || ref.Name != "upper" {
		t.Errorf("service controller reference %+v", ref)
	}
	eventually(t, "the status", func() error {
		f, err := getFunction(c, ns, "upper")
		if err != nil {
			return err
		}
		return expect(f.Status.ObservedGeneration == f.Generation && f.Status.URL == "http://upper."+ns+".svc.cluster.local" &&
			f.Status.Selector == "functions.cwasi.io/name=upper" &&
			condition(f.Status.Conditions, CondReady) == "False/WaitingForPods" &&
			condition(f.Status.Conditions, CondProgressing) == "True/RollingOut",
			"status %+v", f.Status)
	})

	// public: the Service becomes a NodePort.
	eventually(t, "public", func() error {
		f, err := getFunction(c, ns, "upper")
		if err != nil {
			return err
		}
		f.Spec.Public = true
		return c.Update(ctx, f)
	})
	eventually(t, "a NodePort Service", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "upper"}, svc); err != nil {
			return err
		}
		return expect(svc.Spec.Type == corev1.ServiceTypeNodePort, "type %s", svc.Spec.Type)
	})
}

// markRolledOut writes what the deployment controller would once the pods run.
func markRolledOut(t *testing.T, c client.Client, ns, name string, ready int32) {
	t.Helper()
	eventually(t, "deployment status", func() error {
		d, err := getDeployment(c, ns, name)
		if err != nil {
			return err
		}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: ready, UpdatedReplicas: ready,
			ReadyReplicas: ready, AvailableReplicas: ready}
		return c.Status().Update(ctx, d)
	})
}

func functionStatus(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	if err := c.Create(ctx, function(ns, "hello", "r/fn/hello:1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Deployment", func() error { _, err := getDeployment(c, ns, "hello"); return err })
	markRolledOut(t, c, ns, "hello", 1)
	eventually(t, "Ready", func() error {
		f, err := getFunction(c, ns, "hello")
		if err != nil {
			return err
		}
		return expect(condition(f.Status.Conditions, CondReady) == "True/MinimumReplicasAvailable" &&
			condition(f.Status.Conditions, CondProgressing) == "False/Complete" &&
			condition(f.Status.Conditions, CondDegraded) == "False/AsExpected" &&
			f.Status.ReadyReplicas == 1 && f.Status.Replicas == 1, "status %+v", f.Status)
	})
	// A ready pod's image ID becomes the Function's digest.
	digest := "sha256:" + strings.Repeat("ab", 32)
	p := testPod(ns, "hello-1", map[string]string{names.LabelOwnerFunction: "hello", names.LabelManagedBy: names.ManagedBy})
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Ready: true, Image: "r/fn/hello:1",
		ImageID: "r/fn/hello@" + digest, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the digest", func() error {
		f, err := getFunction(c, ns, "hello")
		if err != nil {
			return err
		}
		return expect(f.Status.ImageDigest == digest, "digest %q", f.Status.ImageDigest)
	})
	eventually(t, "a Ready event", func() error { return eventSays(c, ns, "hello", "Ready", "1 of 1 replicas ready") })
}

func testPod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: containerName, Image: "r/x:1"}}}}
}

func eventSays(c client.Client, ns, object, reason, text string) error {
	list := &corev1.EventList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return err
	}
	var seen []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == object && e.Reason == reason && strings.Contains(e.Message, text) {
			return nil
		}
		seen = append(seen, e.Reason+": "+e.Message)
	}
	return fmt.Errorf("no %s event saying %q among %q", reason, text, seen)
}

func scaleSubresource(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	fn := function(ns, "wc", "r/fn/wc:1")
	fn.Spec.MaxScale = ptr.To(int32(4))
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	replicas := func(want int32) func() error {
		return func() error {
			d, err := getDeployment(c, ns, "wc")
			if err != nil {
				return err
			}
			return expect(ptr.Deref(d.Spec.Replicas, -1) == want, "replicas %v, want %d", ptr.Deref(d.Spec.Replicas, -1), want)
		}
	}
	eventually(t, "1 replica", replicas(1))
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
	if err := c.SubResource("scale").Update(ctx, fn, client.WithSubResourceBody(scale)); err != nil {
		t.Fatalf("kubectl scale: %v", err)
	}
	eventually(t, "3 replicas", replicas(3))
	got := &autoscalingv1.Scale{}
	if err := c.SubResource("scale").Get(ctx, fn, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Replicas != 3 || got.Status.Selector != "functions.cwasi.io/name=wc" {
		t.Errorf("scale %+v", got)
	}
	// Above maxScale: held at maxScale.
	if err := c.SubResource("scale").Update(ctx, fn, client.WithSubResourceBody(&autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 9}})); err != nil {
		t.Fatal(err)
	}
	eventually(t, "maxScale", replicas(4))
	// Zero: Ready, scaled to zero.
	if err := c.SubResource("scale").Update(ctx, fn, client.WithSubResourceBody(&autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 0}})); err != nil {
		t.Fatal(err)
	}
	eventually(t, "zero", replicas(0))
	eventually(t, "scaled to zero", func() error {
		f, err := getFunction(c, ns, "wc")
		if err != nil {
			return err
		}
		return expect(condition(f.Status.Conditions, CondReady) == "True/ScaledToZero", "%v", f.Status.Conditions)
	})
}

func driftRepaired(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	if err := c.Create(ctx, function(ns, "echo", "r/fn/echo:1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "observed", func() error {
		f, err := getFunction(c, ns, "echo")
		if err != nil {
			return err
		}
		return expect(f.Status.ObservedGeneration == f.Generation, "not observed yet")
	})
	// Someone edits the Deployment's image and replicas.
	eventually(t, "edit", func() error {
		d, err := getDeployment(c, ns, "echo")
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "evil/image:1"
		d.Spec.Replicas = ptr.To(int32(5))
		return c.Update(ctx, d)
	})
	eventually(t, "the edit undone", func() error {
		d, err := getDeployment(c, ns, "echo")
		if err != nil {
			return err
		}
		return expect(d.Spec.Template.Spec.Containers[0].Image == "r/fn/echo:1" && *d.Spec.Replicas == 1,
			"image %s replicas %d", d.Spec.Template.Spec.Containers[0].Image, *d.Spec.Replicas)
	})
	eventually(t, "a drift event", func() error { return eventSays(c, ns, "echo", "DriftRepaired", "changed by someone else") })
	// Someone deletes the Deployment and the Service.
	d, _ := getDeployment(c, ns, "echo")
	if err := c.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &corev1.Service{ObjectMeta: objMeta("echo", ns)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "recreated", func() error {
		nd, err := getDeployment(c, ns, "echo")
		if err != nil {
			return err
		}
		if nd.UID == d.UID {
			return fmt.Errorf("still the old Deployment")
		}
		return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "echo"}, &corev1.Service{})
	})
	eventually(t, "a recreation event", func() error { return eventSays(c, ns, "echo", "DriftRepaired", "was deleted; recreated") })
}

func imageUpdate(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	if err := c.Create(ctx, function(ns, "rev", "r/fn/reverse:1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Deployment", func() error { _, err := getDeployment(c, ns, "rev"); return err })
	markRolledOut(t, c, ns, "rev", 1)
	eventually(t, "new image", func() error {
		f, err := getFunction(c, ns, "rev")
		if err != nil {
			return err
		}
		f.Spec.Image = "r/fn/reverse:2"
		return c.Update(ctx, f)
	})
	eventually(t, "the template follows", func() error {
		d, err := getDeployment(c, ns, "rev")
		if err != nil {
			return err
		}
		return expect(d.Spec.Template.Spec.Containers[0].Image == "r/fn/reverse:2", "image %s", d.Spec.Template.Spec.Containers[0].Image)
	})
	eventually(t, "Progressing while it rolls", func() error {
		f, err := getFunction(c, ns, "rev")
		if err != nil {
			return err
		}
		return expect(condition(f.Status.Conditions, CondProgressing) == "True/RollingOut", "%v", f.Status.Conditions)
	})
	eventually(t, "an update event", func() error { return eventSays(c, ns, "rev", "Updated", "generation 2") })
}

func degradedByPods(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	if err := c.Create(ctx, function(ns, "missing", "r/fn/missing:1")); err != nil {
		t.Fatal(err)
	}
	// Not degraded first: the warning must come on the transition, not only
	// when the condition first appears.
	eventually(t, "not Degraded", func() error {
		f, err := getFunction(c, ns, "missing")
		if err != nil {
			return err
		}
		return expect(condition(f.Status.Conditions, CondDegraded) == "False/AsExpected", "%v", f.Status.Conditions)
	})
	p := testPod(ns, "missing-1", map[string]string{names.LabelOwnerFunction: "missing", names.LabelManagedBy: names.ManagedBy})
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: "r/fn/missing:1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "manifest unknown"}}}}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Degraded", func() error {
		f, err := getFunction(c, ns, "missing")
		if err != nil {
			return err
		}
		d := meta.FindStatusCondition(f.Status.Conditions, CondDegraded)
		return expect(d != nil && d.Status == metav1.ConditionTrue && d.Reason == ReasonImagePull &&
			strings.Contains(d.Message, "manifest unknown") && strings.Contains(d.Message, "r/fn/missing:1"), "%+v", d)
	})
	eventually(t, "a warning event", func() error { return eventSays(c, ns, "missing", ReasonImagePull, "cannot pull image") })
	// The pod recovers: no longer Degraded.
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, "recovered", func() error {
		f, err := getFunction(c, ns, "missing")
		if err != nil {
			return err
		}
		return expect(condition(f.Status.Conditions, CondDegraded) == "False/AsExpected", "%v", f.Status.Conditions)
	})
}

// validation sends raw objects, as kubectl apply would.
func validation(t *testing.T, c client.Client) {
	ns := newNamespace(t, c)
	cases := []struct {
		name string
		spec map[string]any
		says string
	}{
		{"bad-memory", map[string]any{"image": "x", "memory": "12XB"}, "spec.memory"},
		{"tiny-memory", map[string]any{"image": "x", "memory": "100Ki"}, "memory must be at least 1Mi"},
		{"negative", map[string]any{"image": "x", "replicas": -1}, "spec.replicas"},
		{"neg-min", map[string]any{"image": "x", "minScale": -2}, "spec.minScale"},
		{"min-max", map[string]any{"image": "x", "minScale": 5, "maxScale": 2}, "minScale must not exceed maxScale"},
		{"no-image", map[string]any{}, "spec.image"},
		{"bad-port", map[string]any{"image": "x", "port": 70000}, "spec.port"},
		{"comm-port", map[string]any{"image": "x", "port": 7070}, "comm port"},
		{"bad-timeout", map[string]any{"image": "x", "timeout": "soon"}, "spec.timeout"},
		{"bad-domain", map[string]any{"image": "x", "trustDomain": "Not_A_Label"}, "spec.trustDomain"},
		{"bad-response", map[string]any{"image": "x", "responseMode": "wagi"}, "spec.responseMode"},
		{"comma-host", map[string]any{"image": "x", "allowedOutboundHosts": []any{"http://a,http://b"}}, "a pattern holds no comma"},
		{"a-name-that-is-far-too-long-for-a-function-because-pods", map[string]any{"image": "x"}, "at most 52 characters"},
	}
	for _, tc := range cases {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "cwasi.io/v1alpha1", "kind": "Function",
			"metadata": map[string]any{"name": tc.name, "namespace": ns}, "spec": tc.spec}}
		err := c.Create(ctx, u)
		if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: want Invalid saying %q, got %v", tc.name, tc.says, err)
		}
	}
	// The defaults the schema fills in.
	ok := function(ns, "defaults", "x")
	if err := c.Create(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if ok.Spec.Port != 8080 || ok.Spec.TrustDomain != "default" {
		t.Errorf("defaults: port %d trust domain %q", ok.Spec.Port, ok.Spec.TrustDomain)
	}
}
