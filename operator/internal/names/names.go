// Package names holds the contract between the operator, the node agent and
// the shim: labels, ports and the environment variables the shim reads.
package names

const (
	// LabelFunction is the name other functions call (cwasi.call) on a pod,
	// on the Service in front of it and so on its EndpointSlices: the node
	// agent maps these names to pod addresses.
	LabelFunction = "cwasi.io/function"
	// LabelOwnerFunction marks what a Function owns (its pods' selector).
	LabelOwnerFunction = "functions.cwasi.io/name"
	// LabelOwnerWorkflow marks what a Workflow owns.
	LabelOwnerWorkflow = "workflows.cwasi.io/name"
	// LabelWorkflowRole is "entry" (the workflow's endpoint) or "step".
	LabelWorkflowRole = "workflows.cwasi.io/role"
	// LabelManagedBy is the recommended app.kubernetes.io/managed-by.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is its value.
	ManagedBy = "cwasi-operator"

	// AnnotationTargetConcurrency tells autoscalers the per-pod target.
	AnnotationTargetConcurrency = "cwasi.io/target-concurrency"

	// CommPort is where a function's shim accepts calls from other nodes.
	CommPort = 7070
	// CommPortName names it on Services, so EndpointSlices carry it.
	CommPortName = "comm"
	// HTTPPortName names the HTTP trigger's port.
	HTTPPortName = "http"

	// The shim's environment (per container).
	EnvFunction    = "CWASI_FUNCTION"
	EnvHTTPPort    = "CWASI_HTTP_PORT"
	EnvHTTPTimeout = "CWASI_HTTP_TIMEOUT"
	EnvCommPort    = "CWASI_COMM_PORT"
	EnvTrustDomain = "CWASI_TRUST_DOMAIN"
	EnvMaxInflight = "CWASI_MAX_INFLIGHT"
	EnvResponse    = "CWASI_RESPONSE"
	EnvOutbound    = "CWASI_ALLOWED_OUTBOUND_HOSTS"
	// EnvWorkflow carries a workflow to the entry point's guest: one line
	// per step, "ID TARGET [AFTER...]", space-separated, in declaration order.
	EnvWorkflow = "CWASI_WORKFLOW"

	// HealthPath is the HTTP trigger's health endpoint (readiness probe).
	HealthPath = "/_/health"

	// RuntimeClass is the RuntimeClass (and containerd handler) of the shim.
	RuntimeClass = "cwasi"
)
