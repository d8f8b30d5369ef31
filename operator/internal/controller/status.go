package controller

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons (Kubernetes API conventions: CamelCase
// reasons a user can act on, a message saying what to do).
const (
	CondReady       = "Ready"
	CondProgressing = "Progressing"
	CondDegraded    = "Degraded"

	ReasonAvailable        = "MinimumReplicasAvailable"
	ReasonScaledToZero     = "ScaledToZero"
	ReasonWaitingForPods   = "WaitingForPods"
	ReasonRollingOut       = "RollingOut"
	ReasonComplete         = "Complete"
	ReasonAsExpected       = "AsExpected"
	ReasonImagePull        = "ImagePullFailed"
	ReasonCrashLoop        = "CrashLoopBackOff"
	ReasonContainerFailed  = "ContainerFailed"
	ReasonUnschedulable    = "Unschedulable"
	ReasonDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonNotFound         = "FunctionNotFound"
	ReasonInvalid          = "InvalidWorkflow"
	ReasonTrustDomains     = "TrustDomainMismatch"
	ReasonApplyFailed      = "ApplyFailed"
)

// podProblem is the first reason a pod of the workload cannot run, with the
// kubelet's or the scheduler's message.
type podProblem struct {
	Reason, Message string
}

// problemOf reads what is wrong with the pods (nothing: nil).
func problemOf(pods []corev1.Pod) *podProblem {
	sorted := append([]corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i := range sorted {
		p := &sorted[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return &podProblem{ReasonUnschedulable, "pod " + p.Name + " cannot be scheduled: " + c.Message}
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
					return &podProblem{ReasonImagePull, fmt.Sprintf("pod %s cannot pull image %s (check the image name and that the registry serves it): %s", p.Name, cs.Image, w.Message)}
				case "CrashLoopBackOff":
					return &podProblem{ReasonCrashLoop, fmt.Sprintf("container %s of pod %s keeps failing (kubectl logs %s -c %s): %s", cs.Name, p.Name, p.Name, cs.Name, lastTermination(cs))}
				case "CreateContainerError", "CreateContainerConfigError", "RunContainerError", "StartError":
					return &podProblem{ReasonContainerFailed, fmt.Sprintf("container %s of pod %s does not start: %s", cs.Name, p.Name, w.Message)}
				}
			}
		}
	}
	return nil
}

func lastTermination(cs corev1.ContainerStatus) string {
	if t := cs.LastTerminationState.Terminated; t != nil {
		msg := strings.TrimSpace(t.Message)
		if msg == "" {
			msg = t.Reason
		}
		return fmt.Sprintf("exit code %d: %s", t.ExitCode, msg)
	}
	return "restarting"
}

// workloadConditions derives Ready, Progressing and Degraded from a
// Deployment (nil: not there yet) and its pods.
func workloadConditions(dep *appsv1.Deployment, want int32, pods []corev1.Pod, generation int64) []metav1.Condition {
	cond := func(t string, ok bool, reason, msg string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: generation}
	}
	if dep == nil {
		return []metav1.Condition{
			cond(CondReady, false, ReasonWaitingForPods, "the Deployment is being created"),
			cond(CondProgressing, true, ReasonRollingOut, "the Deployment is being created"),
			cond(CondDegraded, false, ReasonAsExpected, ""),
		}
	}
	st := dep.Status
	rolledOut := dep.Generation <= st.ObservedGeneration && st.UpdatedReplicas >= want &&
		st.Replicas == st.UpdatedReplicas && st.AvailableReplicas >= want
	var out []metav1.Condition
	switch {
	case want == 0:
		out = append(out, cond(CondReady, true, ReasonScaledToZero, "scaled to zero replicas"))
	case st.ReadyReplicas >= want:
		out = append(out, cond(CondReady, true, ReasonAvailable, fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)))
	default:
		out = append(out, cond(CondReady, false, ReasonWaitingForPods, fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)))
	}
	if rolledOut {
		out = append(out, cond(CondProgressing, false, ReasonComplete, "all replicas run the current spec"))
	} else {
		out = append(out, cond(CondProgressing, true, ReasonRollingOut,
			fmt.Sprintf("%d of %d replicas updated, %d available", st.UpdatedReplicas, want, st.AvailableReplicas)))
	}
	degraded := problemOf(pods)
	if degraded == nil {
		for _, c := range st.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
				degraded = &podProblem{ReasonDeadlineExceeded, c.Message}
			}
		}
	}
	if degraded != nil {
		out = append(out, cond(CondDegraded, true, degraded.Reason, degraded.Message))
	} else {
		out = append(out, cond(CondDegraded, false, ReasonAsExpected, ""))
	}
	return out
}

// imageDigestOf is the digest a ready pod's container runs (kubelet's image ID).
func imageDigestOf(pods []corev1.Pod, container string) string {
	for i := range pods {
		for _, cs := range pods[i].Status.ContainerStatuses {
			if cs.Name != container || !cs.Ready {
				continue
			}
			if at := strings.LastIndex(cs.ImageID, "sha256:"); at >= 0 {
				return cs.ImageID[at:]
			}
		}
	}
	return ""
}
