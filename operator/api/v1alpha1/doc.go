// Package v1alpha1 holds cwasi's Kubernetes API: Function and Workflow.
// +kubebuilder:object:generate=true
// +groupName=cwasi.io
package v1alpha1
