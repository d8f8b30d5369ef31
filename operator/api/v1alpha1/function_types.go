package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FunctionSpec is what a user declares: a Wasm image served over HTTP, with
// its scale, limits and environment.
// +kubebuilder:validation:XValidation:rule="!has(self.minScale) || !has(self.maxScale) || self.minScale <= self.maxScale",message="minScale must not exceed maxScale"
type FunctionSpec struct {
	// The Wasm OCI image (cwasi image build/push), e.g. registry:5000/fn/upper:1.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[^\s]+$`
	Image string `json:"image"`

	// Desired replicas (the scale subresource: kubectl scale, an HPA). Kept
	// within [minScale, maxScale]. Default: minScale, or 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinScale *int32 `json:"minScale,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxScale *int32 `json:"maxScale,omitempty"`
	// Concurrent requests per replica an autoscaler should aim for; also the
	// HTTP trigger's limit of requests in flight per pod.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	TargetConcurrency *int32 `json:"targetConcurrency,omitempty"`

	// Environment of the function (WASI environ).
	// +optional
	// +listType=map
	// +listMapKey=name
	Env []corev1.EnvVar `json:"env,omitempty"`

	// Memory limit of the function's pod (its linear memories included), e.g. 64Mi.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('1Mi')) || quantity(string(self)).compareTo(quantity('1Mi')) == 0",message="memory must be at least 1Mi"
	Memory *resource.Quantity `json:"memory,omitempty"`

	// Time limit of one invocation, e.g. 30s or 500ms.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// The HTTP trigger's port in the pod (the Service's port 80 leads to it).
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 7070",message="port 7070 is the function's comm port"
	Port int32 `json:"port,omitempty"`

	// The embedding boundary: functions of one trust domain may share a
	// process (embedded calls); others never do.
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	TrustDomain string `json:"trustDomain,omitempty"`

	// Reachable from outside the cluster: the Service is a NodePort.
	// +optional
	Public bool `json:"public,omitempty"`

	// How the trigger reads a command's output: raw (the body) or cgi
	// (Status: and headers, a blank line, the body). Reactors set their
	// status and headers through the guest ABI either way.
	// +optional
	// +kubebuilder:validation:Enum=raw;cgi
	ResponseMode string `json:"responseMode,omitempty"`

	// Destinations the function may reach with outbound HTTP, as Spin writes
	// them ("http://api.example.com", "http://*.example.com:8080"); none:
	// no outbound HTTP at all. The shim checks each pattern.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.all(h, !h.contains(','))",message="a pattern holds no comma"
	AllowedOutboundHosts []string `json:"allowedOutboundHosts,omitempty"`
}

// FunctionStatus is what the operator observed.
type FunctionStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Pods of the function (scale subresource).
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// The label selector of the pods, for the scale subresource (HPA).
	// +optional
	Selector string `json:"selector,omitempty"`
	// In-cluster URL of the function's Service.
	// +optional
	URL string `json:"url,omitempty"`
	// The image digest the ready pods run (from the kubelet's image ID).
	// +optional
	ImageDigest string `json:"imageDigest,omitempty"`
	// Ready, Progressing and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Function is a Wasm function served by cwasi's shim on Kubernetes.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=fn,categories=cwasi
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 52",message="a Function's name must be at most 52 characters (its Deployment's pods add a suffix)"
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FunctionSpec   `json:"spec"`
	Status FunctionStatus `json:"status,omitempty"`
}

// FunctionList is a list of Functions.
// +kubebuilder:object:root=true
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Function `json:"items"`
}

func init() { SchemeBuilder.Register(&Function{}, &FunctionList{}) }
