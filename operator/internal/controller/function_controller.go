package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
	"cwasi.io/operator/internal/names"
)

// FunctionReconciler keeps a Function's Deployment and Service as declared
// and reports their state in the Function's status.
type FunctionReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder record.EventRecorder
}

// +kubebuilder:rbac:groups=cwasi.io,resources=functions,verbs=get;list;watch
// +kubebuilder:rbac:groups=cwasi.io,resources=functions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one Function's objects to its spec.
func (r *FunctionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	fn := &cwasiv1.Function{}
	if err := r.Get(ctx, req.NamespacedName, fn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if fn.DeletionTimestamp != nil {
		return ctrl.Result{}, nil // owner references let the garbage collector remove the rest
	}
	specSeen := fn.Status.ObservedGeneration == fn.Generation

	dep := deploymentFor(fn)
	res, err := applyOwned(ctx, r.Client, r.Scheme, fn, dep, &appsv1.Deployment{}, deploymentDiffers(fn))
	if err != nil {
		return r.failed(ctx, fn, "Deployment", err)
	}
	r.report(fn, "Deployment", dep.Name, res, specSeen)

	svc := serviceFor(fn)
	res, err = applyOwned(ctx, r.Client, r.Scheme, fn, svc, &corev1.Service{}, serviceDiffers(fn))
	if err != nil {
		return r.failed(ctx, fn, "Service", err)
	}
	r.report(fn, "Service", svc.Name, res, specSeen)

	live := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(dep), live); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		live = nil
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(fn.Namespace),
		client.MatchingLabels{names.LabelOwnerFunction: fn.Name}); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.updateStatus(ctx, fn, live, pods.Items)
}

// report records an event for an object created or brought back to its spec.
func (r *FunctionReconciler) report(fn *cwasiv1.Function, kind, name string, res applyResult, specSeen bool) {
	switch {
	case res == created && fn.Status.ObservedGeneration == 0:
		r.Recorder.Eventf(fn, corev1.EventTypeNormal, "Created", "created %s %s", kind, name)
	case res == created:
		r.Recorder.Eventf(fn, corev1.EventTypeWarning, "DriftRepaired", "%s %s was deleted; recreated it", kind, name)
	case res == changed && specSeen:
		r.Recorder.Eventf(fn, corev1.EventTypeWarning, "DriftRepaired", "%s %s was changed by someone else; restored the Function's spec", kind, name)
	case res == changed:
		r.Recorder.Eventf(fn, corev1.EventTypeNormal, "Updated", "updated %s %s to generation %d of the Function", kind, name, fn.Generation)
	}
}

// failed reports an object the API server refused (Degraded) and retries.
func (r *FunctionReconciler) failed(ctx context.Context, fn *cwasiv1.Function, kind string, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{Requeue: true}, nil
	}
	msg := fmt.Sprintf("cannot apply the %s: %v", kind, err)
	r.Recorder.Event(fn, corev1.EventTypeWarning, ReasonApplyFailed, msg)
	patch := client.MergeFrom(fn.DeepCopy())
	meta.SetStatusCondition(&fn.Status.Conditions, metav1.Condition{Type: CondDegraded, Status: metav1.ConditionTrue,
		Reason: ReasonApplyFailed, Message: msg, ObservedGeneration: fn.Generation})
	if perr := r.Status().Patch(ctx, fn, patch); perr != nil {
		return ctrl.Result{}, perr
	}
	return ctrl.Result{}, err
}

func (r *FunctionReconciler) updateStatus(ctx context.Context, fn *cwasiv1.Function, dep *appsv1.Deployment, pods []corev1.Pod) error {
	before := fn.DeepCopy()
	want := desiredReplicas(&fn.Spec)
	st := &fn.Status
	st.ObservedGeneration = fn.Generation
	st.Selector = labels.SelectorFromSet(labels.Set{names.LabelOwnerFunction: fn.Name}).String()
	st.URL = serviceURL(fn.Name, fn.Namespace)
	st.Replicas, st.ReadyReplicas, st.UpdatedReplicas = 0, 0, 0
	if dep != nil {
		st.Replicas, st.ReadyReplicas, st.UpdatedReplicas = dep.Status.Replicas, dep.Status.ReadyReplicas, dep.Status.UpdatedReplicas
	}
	if d := imageDigestOf(pods, containerName); d != "" {
		st.ImageDigest = d
	}
	for _, c := range workloadConditions(dep, want, pods, fn.Generation) {
		meta.SetStatusCondition(&st.Conditions, c)
	}
	announce(r.Recorder, fn, before.Status.Conditions, st.Conditions, func(ready *metav1.Condition) string {
		return ready.Message + " at " + st.URL
	})
	if equality.Semantic.DeepEqual(before.Status, fn.Status) {
		return nil
	}
	return r.Status().Patch(ctx, fn, client.MergeFrom(before))
}

func deploymentDiffers(owner client.Object) func(live, want *appsv1.Deployment) bool {
	return strays(owner, func(d *appsv1.Deployment) any { return d.Spec })
}

func serviceDiffers(owner client.Object) func(live, want *corev1.Service) bool {
	return strays(owner, func(s *corev1.Service) any { return s.Spec })
}

// SetupWithManager watches Functions, what they own, and their pods (a pod
// that cannot pull its image says so before its Deployment does).
func (r *FunctionReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&cwasiv1.Function{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podOwner(names.LabelOwnerFunction))).
		WithOptions(controllerOptions(workers)).
		Complete(r)
}

// podOwner maps a pod to the object named by its label.
func podOwner(label string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[label]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
	}
}
