package controller

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	cwasiv1 "cwasi.io/operator/api/v1alpha1"
)

// planStep is a workflow step with the name its function is called by.
type planStep struct {
	ID, Function string
	After        []string
}

// workflowSteps turns a sequence into steps the way cwasid does ("1-fn",
// each after the previous) and checks the graph: unique ids, known `after`s,
// no cycle (the API server checks the first two; the cycle is ours).
func workflowSteps(spec *cwasiv1.WorkflowSpec) ([]planStep, error) {
	var steps []planStep
	for i, fn := range spec.Sequence {
		s := planStep{ID: strconv.Itoa(i+1) + "-" + fn, Function: fn}
		if i > 0 {
			s.After = []string{steps[i-1].ID}
		}
		steps = append(steps, s)
	}
	for _, s := range spec.Steps {
		steps = append(steps, planStep{ID: s.ID, Function: s.Function, After: append([]string(nil), s.After...)})
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("the workflow has no steps")
	}
	index := map[string]int{}
	for i, s := range steps {
		if _, dup := index[s.ID]; dup {
			return nil, fmt.Errorf("step id %q is used twice", s.ID)
		}
		index[s.ID] = i
	}
	for _, s := range steps {
		for _, a := range s.After {
			if _, ok := index[a]; !ok {
				return nil, fmt.Errorf("step %q runs after %q, which is not a step", s.ID, a)
			}
		}
	}
	// Depth-first search for a cycle.
	const (
		unseen = iota
		open
		done
	)
	state := make([]int, len(steps))
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case open:
			return fmt.Errorf("the steps form a cycle: %s", strings.Join(append(path, steps[i].ID), " -> "))
		case done:
			return nil
		}
		state[i] = open
		for _, a := range steps[i].After {
			if err := visit(index[a], append(path, steps[i].ID)); err != nil {
				return err
			}
		}
		state[i] = done
		return nil
	}
	for i := range steps {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// distinctFunctions lists the functions of the steps once each, sorted.
func distinctFunctions(steps []planStep) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range steps {
		if !seen[s.Function] {
			seen[s.Function] = true
			out = append(out, s.Function)
		}
	}
	sort.Strings(out)
	return out
}

// stepCommName is the name a workflow's copy of a function is called by:
// scoped to the workflow, so it never shares a node-registry entry with the
// Function's own pods, and short enough for a label value.
func stepCommName(workflow string, i int) string {
	return workflow + ".step" + strconv.Itoa(i)
}

// choosePlacement resolves the placement: the one asked for, or the shortest
// path the trust domains allow (one domain: pod; several: node). Asking for
// pod across trust domains is an error.
func choosePlacement(asked cwasiv1.Placement, domains map[string]bool) (cwasiv1.Placement, error) {
	if asked == "" {
		if len(domains) <= 1 {
			return cwasiv1.PlacementPod, nil
		}
		return cwasiv1.PlacementNode, nil
	}
	if asked == cwasiv1.PlacementPod && len(domains) > 1 {
		var ds []string
		for d := range domains {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		return "", fmt.Errorf("placement pod embeds the steps in one process, which only one trust domain allows; the functions are in %s: use placement node or spread",
			strings.Join(ds, ", "))
	}
	return asked, nil
}

// modeOf is the comm mode calls take under a placement.
func modeOf(p cwasiv1.Placement) string {
	switch p {
	case cwasiv1.PlacementPod:
		return "embedded"
	case cwasiv1.PlacementNode:
		return "local"
	default:
		return "remote"
	}
}

// workflowEdges lists every hop of data with the mode its call takes: from
// the entry point's input to each first step, and from each step to those
// that run after it.
func workflowEdges(steps []planStep, mode string) []cwasiv1.WorkflowEdge {
	var edges []cwasiv1.WorkflowEdge
	for _, s := range steps {
		if len(s.After) == 0 {
			edges = append(edges, cwasiv1.WorkflowEdge{From: "input", To: s.ID, Mode: mode})
		}
		for _, a := range s.After {
			edges = append(edges, cwasiv1.WorkflowEdge{From: a, To: s.ID, Mode: mode})
		}
	}
	return edges
}

// encodeWorkflow is CWASI_WORKFLOW for the entry point's guest: a line per
// step, "ID TARGET [AFTER...]".
func encodeWorkflow(steps []planStep, target func(function string) string) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.ID + " " + target(s.Function))
		for _, a := range s.After {
			b.WriteString(" " + a)
		}
		b.WriteString("\n")
	}
	return b.String()
}
