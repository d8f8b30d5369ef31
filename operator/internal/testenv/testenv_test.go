package testenv

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestStartServesTheAPIAndTheCRDs(t *testing.T) {
	_, c := Start(t)
	ctx := context.Background()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "testenv-smoke"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}

	// The CRDs from deploy/crds are served (listing works before any exists).
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("apiextensions.k8s.io/v1")
	list.SetKind("CustomResourceDefinitionList")
	if err := c.List(ctx, list); err != nil {
		t.Fatalf("listing CRDs: %v", err)
	}
	want := map[string]bool{"functions.cwasi.io": false, "workflows.cwasi.io": false}
	for _, item := range list.Items {
		if _, ok := want[item.GetName()]; ok {
			want[item.GetName()] = true
		}
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("CRD %s not installed from deploy/crds", name)
		}
	}
}
