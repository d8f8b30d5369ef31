package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Placement says where a workflow's steps run relative to its entry point,
// and so which path their data takes.
// +kubebuilder:validation:Enum=pod;node;spread
type Placement string

const (
	// PlacementPod puts every step in the entry point's pod: embedded calls.
	PlacementPod Placement = "pod"
	// PlacementNode puts the steps' pods on the entry point's node: local calls (shared memory).
	PlacementNode Placement = "node"
	// PlacementSpread keeps the steps' pods off the entry point's node: remote calls (TCP).
	PlacementSpread Placement = "spread"
)

// WorkflowStep is one call of a DAG.
type WorkflowStep struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	ID string `json:"id"`
	// The name of a Function in the workflow's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=52
	Function string `json:"function"`
	// Steps whose outputs, concatenated in this order, are this step's
	// input; none: the workflow's input.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	After []string `json:"after,omitempty"`
}

// WorkflowSpec is cwasid's workflow language: a sequence, or steps with `after`.
// +kubebuilder:validation:XValidation:rule="has(self.sequence) != has(self.steps)",message="give either sequence or steps"
// +kubebuilder:validation:XValidation:rule="!has(self.steps) || self.steps.all(s, self.steps.exists_one(t, t.id == s.id))",message="step ids must be unique"
// +kubebuilder:validation:XValidation:rule="!has(self.steps) || self.steps.all(s, !has(s.after) || s.after.all(a, self.steps.exists(t, t.id == a)))",message="every `after` must name a step of this workflow"
type WorkflowSpec struct {
	// Functions called one after the other, each with the previous output.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=52
	Sequence []string `json:"sequence,omitempty"`
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Steps []WorkflowStep `json:"steps,omitempty"`
	// Where the steps run; default: pod when all the functions share a trust
	// domain (the shortest path), node otherwise.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Entry-point replicas.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`
}

// WorkflowEdge is one hop of data and the path it takes.
type WorkflowEdge struct {
	// A step id, or "input" for the workflow's entry point.
	From string `json:"from"`
	To   string `json:"to"`
	// embedded, local or remote.
	Mode string `json:"mode"`
}

// WorkflowStatus is what the operator observed.
type WorkflowStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// The placement in effect (the default resolved).
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Per edge, the mode its calls use.
	// +optional
	Edges []WorkflowEdge `json:"edges,omitempty"`
	// In-cluster URL: POST input, get the composition's output.
	// +optional
	URL string `json:"url,omitempty"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// Ready and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Workflow composes Functions and runs the composition in the cluster.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=wf,categories=cwasi
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Placement",type=string,JSONPath=`.status.placement`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 40",message="a Workflow's name must be at most 40 characters"
type Workflow struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkflowSpec   `json:"spec"`
	Status WorkflowStatus `json:"status,omitempty"`
}

// WorkflowList is a list of Workflows.
// +kubebuilder:object:root=true
type WorkflowList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Workflow `json:"items"`
}

func init() { SchemeBuilder.Register(&Workflow{}, &WorkflowList{}) }
