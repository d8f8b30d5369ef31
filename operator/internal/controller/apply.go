package controller

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// FieldOwner is the operator's field manager for server-side apply.
const FieldOwner = "cwasi-operator"

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
