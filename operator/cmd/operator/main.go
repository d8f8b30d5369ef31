// The cwasi operator: reconciles Functions and Workflows into Deployments
// and Services that run in the cwasi runtime class.
package main

import (
	"flag"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
	"cwasi.io/operator/internal/controller"
)

func main() {
	var (
		metricsAddr, probeAddr, workflowImage string
		leaderElect                           bool
		workers                               int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "where /metrics is served (0 turns it off)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "where /healthz and /readyz are served")
	flag.BoolVar(&leaderElect, "leader-elect", false, "one active operator among replicas (a Lease in the operator's namespace)")
	flag.IntVar(&workers, "workers", 4, "Functions (and Workflows) reconciled at once")
	flag.StringVar(&workflowImage, "workflow-image", "", "the Wasm image of the workflow entry point (functions/workflow)")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		log.Error(err, "scheme")
		os.Exit(1)
	}
	if err := cwasiv1.AddToScheme(scheme); err != nil {
		log.Error(err, "scheme")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              "cwasi-operator.cwasi.io",
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controller.CacheOptions(),
	})
	if err != nil {
		log.Error(err, "cannot start the manager")
		os.Exit(1)
	}
	if err := controller.Setup(mgr, controller.Config{Workers: workers, WorkflowImage: workflowImage}); err != nil {
		log.Error(err, "cannot set up the controllers")
		os.Exit(1)
	}
	_ = mgr.AddHealthzCheck("healthz", healthz.Ping)
	_ = mgr.AddReadyzCheck("readyz", healthz.Ping)
	log.Info("starting", "workers", workers, "leaderElect", leaderElect)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "stopped")
		os.Exit(1)
	}
}
