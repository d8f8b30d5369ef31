package controller

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// functionsIndex indexes Workflows by the Functions they call.
const functionsIndex = ".spec.functions"

// WorkflowReconciler runs a Workflow's entry point and the copies of its
// steps' functions, placed as the Workflow asks.
type WorkflowReconciler struct {
	client.Client
	Scheme        *runtime.Scheme
	Recorder      record.EventRecorder
	WorkflowImage string
}

// +kubebuilder:rbac:groups=cwasi.io,resources=workflows,verbs=get;list;watch
// +kubebuilder:rbac:groups=cwasi.io,resources=workflows/status,verbs=get;update;patch

// Reconcile brings one Workflow's objects to its spec.
func (r *WorkflowReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	wf := &cwasiv1.Workflow{}
	if err := r.Get(ctx, req.NamespacedName, wf); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if wf.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	plan, reason, err := r.plan(ctx, wf)
	if err != nil {
		if reason == "" {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.degraded(ctx, wf, reason, err.Error())
	}
	deps, svcs := plan.objects()
	keep := map[string]bool{}
	for _, d := range deps {
		if _, err := applyOwned(ctx, r.Client, r.Scheme, wf, d, &appsv1.Deployment{}, deploymentDiffers(wf)); err != nil {
			return r.applyFailed(ctx, wf, "Deployment "+d.Name, err)
		}
		keep["Deployment/"+d.Name] = true
	}
	for _, s := range svcs {
		if _, err := applyOwned(ctx, r.Client, r.Scheme, wf, s, &corev1.Service{}, serviceDiffers(wf)); err != nil {
			return r.applyFailed(ctx, wf, "Service "+s.Name, err)
		}
		keep["Service/"+s.Name] = true
	}
	live, err := r.prune(ctx, wf, keep)
	if err != nil {
		return ctrl.Result{}, err
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(wf.Namespace), client.MatchingLabels{names.LabelOwnerWorkflow: wf.Name}); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.updateStatus(ctx, wf, plan, live, pods.Items)
}

// plan reads the Functions a Workflow calls and resolves its placement. An
// error with a reason is the user's to fix (Degraded); without, a retry.
func (r *WorkflowReconciler) plan(ctx context.Context, wf *cwasiv1.Workflow) (*workflowPlan, string, error) {
	steps, err := workflowSteps(&wf.Spec)
	if err != nil {
		return nil, ReasonInvalid, err
	}
	if r.WorkflowImage == "" {
		return nil, ReasonInvalid, fmt.Errorf("the operator has no --workflow-image to run workflows with")
	}
	p := &workflowPlan{wf: wf, steps: steps, functions: distinctFunctions(steps),
		specs: map[string]*cwasiv1.FunctionSpec{}, image: r.WorkflowImage}
	domains := map[string]bool{}
	var missing []string
	for _, name := range p.functions {
		fn := &cwasiv1.Function{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: wf.Namespace, Name: name}, fn); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, "", err
			}
			missing = append(missing, name)
			continue
		}
		p.specs[name] = &fn.Spec
		domains[trustDomainOf(&fn.Spec)] = true
	}
	if len(missing) > 0 {
		return nil, ReasonNotFound, fmt.Errorf("no Function %v in namespace %s: create it (kubectl apply a Function) or fix the step", missing, wf.Namespace)
	}
	p.placement, err = choosePlacement(wf.Spec.Placement, domains)
	if err != nil {
		return nil, ReasonTrustDomains, err
	}
	p.domain = defaultTrustDomain
	if len(domains) == 1 {
		for d := range domains {
			p.domain = d
		}
	}
	return p, "", nil
}

// prune deletes what the Workflow owned under an earlier plan (placement
// changed) and returns its Deployments that stay.
func (r *WorkflowReconciler) prune(ctx context.Context, wf *cwasiv1.Workflow, keep map[string]bool) ([]appsv1.Deployment, error) {
	mine := client.MatchingLabels{names.LabelOwnerWorkflow: wf.Name}
	deps := &appsv1.DeploymentList{}
	if err := r.List(ctx, deps, client.InNamespace(wf.Namespace), mine); err != nil {
		return nil, err
	}
	var live []appsv1.Deployment
	for i := range deps.Items {
		d := &deps.Items[i]
		if !metav1.IsControlledBy(d, wf) {
			continue
		}
		if keep["Deployment/"+d.Name] {
			live = append(live, *d)
			continue
		}
		if err := r.Delete(ctx, d, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		r.Recorder.Eventf(wf, corev1.EventTypeNormal, "Pruned", "deleted Deployment %s (no longer in the plan)", d.Name)
	}
	svcs := &corev1.ServiceList{}
	if err := r.List(ctx, svcs, client.InNamespace(wf.Namespace), mine); err != nil {
		return nil, err
	}
	for i := range svcs.Items {
		s := &svcs.Items[i]
		if metav1.IsControlledBy(s, wf) && !keep["Service/"+s.Name] {
			if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
				return nil, err
			}
		}
	}
	return live, nil
}

func (r *WorkflowReconciler) degraded(ctx context.Context, wf *cwasiv1.Workflow, reason, msg string) error {
	before := wf.DeepCopy()
	if c := meta.FindStatusCondition(wf.Status.Conditions, CondDegraded); c == nil || c.Reason != reason || c.Message != msg {
		r.Recorder.Event(wf, corev1.EventTypeWarning, reason, msg)
	}
	wf.Status.ObservedGeneration = wf.Generation
	meta.SetStatusCondition(&wf.Status.Conditions, metav1.Condition{Type: CondDegraded, Status: metav1.ConditionTrue,
		Reason: reason, Message: msg, ObservedGeneration: wf.Generation})
	meta.SetStatusCondition(&wf.Status.Conditions, metav1.Condition{Type: CondReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: msg, ObservedGeneration: wf.Generation})
	if equality.Semantic.DeepEqual(before.Status, wf.Status) {
		return nil
	}
	return r.Status().Patch(ctx, wf, client.MergeFrom(before))
}

func (r *WorkflowReconciler) applyFailed(ctx context.Context, wf *cwasiv1.Workflow, what string, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{Requeue: true}, nil
	}
	if serr := r.degraded(ctx, wf, ReasonApplyFailed, fmt.Sprintf("cannot apply %s: %v", what, err)); serr != nil {
		return ctrl.Result{}, serr
	}
	return ctrl.Result{}, err
}

func (r *WorkflowReconciler) updateStatus(ctx context.Context, wf *cwasiv1.Workflow, p *workflowPlan,
	deps []appsv1.Deployment, pods []corev1.Pod) error {
	before := wf.DeepCopy()
	st := &wf.Status
	st.ObservedGeneration = wf.Generation
	st.Placement = p.placement
	st.Edges = workflowEdges(p.steps, modeOf(p.placement))
	st.URL = serviceURL(entryObjectName(wf.Name), wf.Namespace)
	want := p.replicas()
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	var entry *appsv1.Deployment
	waiting := ""
	for i := range deps {
		d := &deps[i]
		if d.Name == entryObjectName(wf.Name) {
			entry = d
		}
		if want > 0 && d.Status.ReadyReplicas < 1 && waiting == "" {
			waiting = "Deployment " + d.Name + " has no ready pod yet"
		}
	}
	st.ReadyReplicas = 0
	conds := workloadConditions(entry, want, pods, wf.Generation)
	if entry != nil {
		st.ReadyReplicas = entry.Status.ReadyReplicas
	}
	for _, c := range conds {
		if c.Type == CondReady && c.Status == metav1.ConditionTrue && waiting != "" {
			c.Status, c.Reason, c.Message = metav1.ConditionFalse, ReasonWaitingForPods, waiting
		}
		if c.Type == CondProgressing {
			continue
		}
		meta.SetStatusCondition(&st.Conditions, c)
	}
	announce(r.Recorder, wf, before.Status.Conditions, st.Conditions, func(*metav1.Condition) string {
		return fmt.Sprintf("placement %s (%s calls) at %s", p.placement, modeOf(p.placement), st.URL)
	})
	if equality.Semantic.DeepEqual(before.Status, wf.Status) {
		return nil
	}
	return r.Status().Patch(ctx, wf, client.MergeFrom(before))
}

// SetupWithManager watches Workflows, what they own, their pods, and the
// Functions they call (a new image reaches the workflow's copies).
func (r *WorkflowReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &cwasiv1.Workflow{}, functionsIndex,
		func(o client.Object) []string {
			steps, err := workflowSteps(&o.(*cwasiv1.Workflow).Spec)
			if err != nil {
				return nil
			}
			return distinctFunctions(steps)
		})
	if err != nil {
		return err
	}
	byFunction := func(ctx context.Context, o client.Object) []reconcile.Request {
		list := &cwasiv1.WorkflowList{}
		if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{functionsIndex: o.GetName()}); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, w := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&w)})
		}
		return out
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&cwasiv1.Workflow{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podOwner(names.LabelOwnerWorkflow))).
		Watches(&cwasiv1.Function{}, handler.EnqueueRequestsFromMapFunc(byFunction),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deletedOrCreated()))).
		WithOptions(controllerOptions(workers)).
		Complete(r)
}
