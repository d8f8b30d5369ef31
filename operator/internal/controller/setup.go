package controller

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"cwasi.io/operator/internal/names"
	ctrl "sigs.k8s.io/controller-runtime"
)

func controllerOptions(workers int) controller.Options {
	if workers < 1 {
		workers = 1
	}
	return controller.Options{
		MaxConcurrentReconciles: workers,
		// Retries back off from 100 ms to 30 s: a refused object is retried
		// soon, a persistent failure does not spin.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](100*time.Millisecond, 30*time.Second),
	}
}

// CacheOptions keeps only what the operator manages in memory: its
// Deployments, Services and their pods, not every pod of the cluster.
func CacheOptions() cache.Options {
	mine := labels.SelectorFromSet(labels.Set{names.LabelManagedBy: names.ManagedBy})
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&appsv1.Deployment{}: {Label: mine},
		&corev1.Service{}:    {Label: mine},
		&corev1.Pod{}:        {Label: mine},
	}}
}

// Config is what the operator's flags decide.
type Config struct {
	Workers       int
	WorkflowImage string
}

// Setup registers the Function and Workflow controllers with a manager.
func Setup(mgr ctrl.Manager, c Config) error {
	fr := &FunctionReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorderFor("cwasi-operator")}
	if err := fr.SetupWithManager(mgr, c.Workers); err != nil {
		return err
	}
	wr := &WorkflowReconciler{Client: mgr.GetClient(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorderFor("cwasi-operator"), WorkflowImage: c.WorkflowImage}
	return wr.SetupWithManager(mgr, c.Workers)
}

// deletedOrCreated passes creations and deletions (a Function a Workflow
// waited for, or lost).
func deletedOrCreated() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
