package controller

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
	"cwasi.io/operator/internal/names"
)

const (
	roleEntry     = "entry"
	roleStep      = "step"
	entryPort     = 8080
	hostnameTopo  = "kubernetes.io/hostname"
	entryName     = "entry"
	workflowLabel = "-workflow"
)

// workflowPlan is everything a Workflow's objects are made from.
type workflowPlan struct {
	wf        *cwasiv1.Workflow
	placement cwasiv1.Placement
	steps     []planStep
	functions []string                         // distinct, sorted: index i is step copy i
	specs     map[string]*cwasiv1.FunctionSpec // by function name
	domain    string                           // the entry point's trust domain
	image     string                           // the entry point's Wasm image
}

func entryObjectName(wf string) string       { return wf + workflowLabel }
func stepObjectName(wf string, i int) string { return wf + "-step" + strconv.Itoa(i) }

func (p *workflowPlan) commName(function string) string {
	for i, f := range p.functions {
		if f == function {
			return stepCommName(p.wf.Name, i)
		}
	}
	return function
}

func (p *workflowPlan) replicas() int32 {
	if p.wf.Spec.Replicas == nil {
		return 1
	}
	return *p.wf.Spec.Replicas
}

func (p *workflowPlan) labels(role string, commName string) map[string]string {
	l := map[string]string{
		names.LabelOwnerWorkflow: p.wf.Name,
		names.LabelWorkflowRole:  role,
		names.LabelManagedBy:     names.ManagedBy,
	}
	if commName != "" {
		l[names.LabelFunction] = commName
	}
	return l
}

func (p *workflowPlan) entryContainer() corev1.Container {
	spec := &cwasiv1.FunctionSpec{
		Image:       p.image,
		TrustDomain: p.domain,
		Env:         []corev1.EnvVar{{Name: names.EnvWorkflow, Value: encodeWorkflow(p.steps, p.commName)}},
	}
	return withPreStop(functionContainer(entryName, spec, p.wf.Name+".entry", entryPort))
}

func (p *workflowPlan) deployment(name string, labels map[string]string, affinity *corev1.Affinity, containers ...corev1.Container) *appsv1.Deployment {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpecFor(containers...)}
	tmpl.Spec.Affinity = affinity
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.wf.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(p.replicas()),
			Selector: &metav1.LabelSelector{MatchLabels: selectorOf(labels)},
			Template: tmpl,
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))},
			},
		},
	}
}

// selectorOf is labels without managed-by: what tells one Deployment's pods
// from another's.
func selectorOf(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if k != names.LabelManagedBy {
			out[k] = v
		}
	}
	return out
}

// objects are the Deployments and Services of the plan.
func (p *workflowPlan) objects() ([]*appsv1.Deployment, []*corev1.Service) {
	wf := p.wf.Name
	inWorkflow := func(role string) *metav1.LabelSelector {
		m := map[string]string{names.LabelOwnerWorkflow: wf}
		if role != "" {
			m[names.LabelWorkflowRole] = role
		}
		return &metav1.LabelSelector{MatchLabels: m}
	}
	var deps []*appsv1.Deployment
	var svcs []*corev1.Service
	entryLabels := p.labels(roleEntry, "")
	switch p.placement {
	case cwasiv1.PlacementPod:
		containers := []corev1.Container{p.entryContainer()}
		for i, f := range p.functions {
			containers = append(containers, functionContainer("step"+strconv.Itoa(i), p.specs[f], stepCommName(wf, i), 0))
		}
		deps = append(deps, p.deployment(entryObjectName(wf), entryLabels, nil, containers...))
	case cwasiv1.PlacementNode:
		together := &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: inWorkflow(""), TopologyKey: hostnameTopo}}}}
		deps = append(deps, p.deployment(entryObjectName(wf), entryLabels, together, p.entryContainer()))
		for i, f := range p.functions {
			c := functionContainer(containerName, p.specs[f], stepCommName(wf, i), 0)
			deps = append(deps, p.deployment(stepObjectName(wf, i), p.labels(roleStep, stepCommName(wf, i)), together, c))
		}
	case cwasiv1.PlacementSpread:
		apart := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: inWorkflow(roleStep), TopologyKey: hostnameTopo}}}}
		deps = append(deps, p.deployment(entryObjectName(wf), entryLabels, apart, p.entryContainer()))
		for i, f := range p.functions {
			name, comm := stepObjectName(wf, i), stepCommName(wf, i)
			c := functionContainer(containerName, p.specs[f], comm, 0)
			labels := p.labels(roleStep, comm)
			deps = append(deps, p.deployment(name, labels, nil, c))
			// Headless: its EndpointSlices carry the comm port for the node agent's map.
			svcs = append(svcs, &corev1.Service{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.wf.Namespace, Labels: labels},
				Spec: corev1.ServiceSpec{
					ClusterIP: corev1.ClusterIPNone,
					Selector:  deps[len(deps)-1].Spec.Selector.MatchLabels,
					Ports: []corev1.ServicePort{{Name: names.CommPortName, Port: names.CommPort,
						TargetPort: intstr.FromString(names.CommPortName), Protocol: corev1.ProtocolTCP}},
				},
			})
		}
	}
	svcs = append(svcs, &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: entryObjectName(wf), Namespace: p.wf.Namespace, Labels: entryLabels},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{names.LabelOwnerWorkflow: wf, names.LabelWorkflowRole: roleEntry},
			Ports: []corev1.ServicePort{{Name: names.HTTPPortName, Port: 80,
				TargetPort: intstr.FromString(names.HTTPPortName), Protocol: corev1.ProtocolTCP}},
		},
	})
	return deps, svcs
}
