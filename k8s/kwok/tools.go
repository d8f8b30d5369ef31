//go:build tools

// Package tools pins the kwok command scripts/kwok-build.sh builds, so that
// `go mod tidy` records every module it needs in go.sum.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
