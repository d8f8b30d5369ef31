package controller

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
	"cwasi.io/operator/internal/names"
)

const (
	defaultPort        = 8080
	defaultTrustDomain = "default"
	containerName      = "function"
	// preStopSeconds keeps a terminating pod serving while kube-proxy takes
	// it out of the Service (a rolling update drops no request).
	preStopSeconds = 2
)

// desiredReplicas is spec.replicas (or minScale, or 1) kept within [minScale, maxScale].
func desiredReplicas(s *cwasiv1.FunctionSpec) int32 {
	r := int32(1)
	if s.MinScale != nil {
		r = *s.MinScale
	}
	if s.Replicas != nil {
		r = *s.Replicas
	}
	if s.MinScale != nil && r < *s.MinScale {
		r = *s.MinScale
	}
	if s.MaxScale != nil && r > *s.MaxScale {
		r = *s.MaxScale
	}
	return r
}

func portOf(s *cwasiv1.FunctionSpec) int32 {
	if s.Port == 0 {
		return defaultPort
	}
	return s.Port
}

func trustDomainOf(s *cwasiv1.FunctionSpec) string {
	if s.TrustDomain == "" {
		return defaultTrustDomain
	}
	return s.TrustDomain
}

// functionLabels select a Function's pods; commName is what others call them by.
func functionLabels(fn string, commName string) map[string]string {
	return map[string]string{
		names.LabelOwnerFunction: fn,
		names.LabelFunction:      commName,
		names.LabelManagedBy:     names.ManagedBy,
	}
}

// functionContainer is the container that runs a Function's module in the
// cwasi shim, registered for calls under commName, its trigger on httpPort
// (0: no HTTP trigger).
func functionContainer(name string, s *cwasiv1.FunctionSpec, commName string, httpPort int32) corev1.Container {
	env := append([]corev1.EnvVar(nil), s.Env...)
	env = append(env,
		corev1.EnvVar{Name: names.EnvFunction, Value: commName},
		corev1.EnvVar{Name: names.EnvCommPort, Value: strconv.Itoa(names.CommPort)},
		corev1.EnvVar{Name: names.EnvTrustDomain, Value: trustDomainOf(s)})
	if s.ResponseMode != "" {
		env = append(env, corev1.EnvVar{Name: names.EnvResponse, Value: s.ResponseMode})
	}
	if len(s.AllowedOutboundHosts) > 0 {
		env = append(env, corev1.EnvVar{Name: names.EnvOutbound, Value: strings.Join(s.AllowedOutboundHosts, ",")})
	}
	c := corev1.Container{
		Name:  name,
		Image: s.Image,
		Ports: []corev1.ContainerPort{{Name: names.CommPortName, ContainerPort: names.CommPort, Protocol: corev1.ProtocolTCP}},
	}
	if httpPort != 0 {
		env = append(env, corev1.EnvVar{Name: names.EnvHTTPPort, Value: strconv.Itoa(int(httpPort))})
		c.Ports = append([]corev1.ContainerPort{{Name: names.HTTPPortName, ContainerPort: httpPort, Protocol: corev1.ProtocolTCP}}, c.Ports...)
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: names.HealthPath, Port: intstr.FromString(names.HTTPPortName)}},
			PeriodSeconds:    1,
			TimeoutSeconds:   1,
			FailureThreshold: 3,
			SuccessThreshold: 1,
		}
		if s.TargetConcurrency != nil {
			env = append(env, corev1.EnvVar{Name: names.EnvMaxInflight, Value: strconv.Itoa(int(*s.TargetConcurrency))})
		}
	}
	if s.Timeout != nil {
		env = append(env, corev1.EnvVar{Name: names.EnvHTTPTimeout, Value: strconv.FormatInt(s.Timeout.Duration.Milliseconds(), 10) + "ms"})
	}
	c.Env = env
	if s.Memory != nil {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: s.Memory.DeepCopy()}
	}
	return c
}

// podSpecFor runs containers in the cwasi runtime class. A function gets no
// service account token (it has no use for the API server, and the token's
// projected volume holds every start up by ~0.2 s: the kubelet's volume
// manager mounts it first) and no service links (an environment variable
// per Service in the namespace: thousands with as many Functions).
func podSpecFor(containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		RuntimeClassName:              ptr.To(names.RuntimeClass),
		Containers:                    containers,
		TerminationGracePeriodSeconds: ptr.To(int64(10)),
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
	}
}

func withPreStop(c corev1.Container) corev1.Container {
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Sleep: &corev1.SleepAction{Seconds: preStopSeconds}}}
	return c
}

// deploymentFor is the Deployment a Function owns.
func deploymentFor(fn *cwasiv1.Function) *appsv1.Deployment {
	s := &fn.Spec
	labels := functionLabels(fn.Name, fn.Name)
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       podSpecFor(withPreStop(functionContainer(containerName, s, fn.Name, portOf(s)))),
	}
	if s.TargetConcurrency != nil {
		tmpl.Annotations = map[string]string{names.AnnotationTargetConcurrency: strconv.Itoa(int(*s.TargetConcurrency))}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: fn.Name, Namespace: fn.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(desiredReplicas(s)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{names.LabelOwnerFunction: fn.Name}},
			Template: tmpl,
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			ProgressDeadlineSeconds: ptr.To(int32(120)),
		},
	}
}

// serviceFor is the Service a Function owns: port 80 to the HTTP trigger,
// 7070 to the comm port (the node agent maps the function's name to it).
func serviceFor(fn *cwasiv1.Function) *corev1.Service {
	svcType := corev1.ServiceTypeClusterIP
	if fn.Spec.Public {
		svcType = corev1.ServiceTypeNodePort
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: fn.Name, Namespace: fn.Namespace, Labels: functionLabels(fn.Name, fn.Name)},
		Spec: corev1.ServiceSpec{
			Type:     svcType,
			Selector: map[string]string{names.LabelOwnerFunction: fn.Name},
			Ports: []corev1.ServicePort{
				{Name: names.HTTPPortName, Port: 80, TargetPort: intstr.FromString(names.HTTPPortName), Protocol: corev1.ProtocolTCP},
				{Name: names.CommPortName, Port: names.CommPort, TargetPort: intstr.FromString(names.CommPortName), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

func serviceURL(name, namespace string) string {
	return "http://" + name + "." + namespace + ".svc.cluster.local"
}
