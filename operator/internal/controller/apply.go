package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// FieldOwner is the operator's field manager for server-side apply.
const FieldOwner = "cwasi-operator"

// strays says whether a live object left what the owner declares: another
// controller, or labels or a spec (the part `spec` picks) that differ where
// the declaration sets them (fields the API server defaulted are not a
// difference).
func strays[T client.Object](owner client.Object, spec func(T) any) func(live, want T) bool {
	return func(live, want T) bool {
		return !metav1.IsControlledBy(live, owner) ||
			!equality.Semantic.DeepDerivative(want.GetLabels(), live.GetLabels()) ||
			!equality.Semantic.DeepDerivative(spec(want), spec(live))
	}
}

// announce records the transitions worth an event between two sets of
// conditions: Degraded turning true or changing reason (a warning with its
// message), Ready turning true (readyMessage says what is ready).
func announce(rec record.EventRecorder, obj runtime.Object, before, after []metav1.Condition,
	readyMessage func(ready *metav1.Condition) string) {
	if d := meta.FindStatusCondition(after, CondDegraded); d != nil && d.Status == metav1.ConditionTrue {
		if old := meta.FindStatusCondition(before, CondDegraded); old == nil || old.Status != metav1.ConditionTrue || old.Reason != d.Reason {
			rec.Event(obj, corev1.EventTypeWarning, d.Reason, d.Message)
		}
	}
	if ready := meta.FindStatusCondition(after, CondReady); ready != nil && ready.Status == metav1.ConditionTrue &&
		!meta.IsStatusConditionTrue(before, CondReady) {
		rec.Event(obj, corev1.EventTypeNormal, "Ready", readyMessage(ready))
	}
}

// applyResult says what applying an owned object did.
type applyResult int

const (
	unchanged applyResult = iota
	created
	changed
)

// applyOwned makes `want` (TypeMeta set) exist as declared, owned by `owner`,
// with server-side apply: fields the operator declares win over anyone's
// edits, others are left alone. `existing` is an empty object of the same
// type; `differs` says whether the live object strays from `want`.
func applyOwned[T client.Object](ctx context.Context, c client.Client, scheme *runtime.Scheme,
	owner client.Object, want T, existing T, differs func(live, want T) bool) (applyResult, error) {
	if err := controllerutil.SetControllerReference(owner, want, scheme); err != nil {
		return unchanged, err
	}
	result := changed
	err := c.Get(ctx, client.ObjectKeyFromObject(want), existing)
	switch {
	case apierrors.IsNotFound(err):
		result = created
	case err != nil:
		return unchanged, err
	case !differs(existing, want):
		result = unchanged
	}
	if result == unchanged {
		return unchanged, nil
	}
	//nolint:staticcheck // typed server-side apply: the object is the whole intent.
	if err := c.Patch(ctx, want, client.Apply, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return unchanged, err
	}
	return result, nil
}
