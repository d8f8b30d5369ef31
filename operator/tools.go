//go:build tools

// The generators the module pins (go run ... from the module cache, no
// downloads of binaries): controller-gen writes the CRDs, the RBAC role and
// the deepcopy functions (make -C operator generate).
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
