//go:build !linux && !darwin

package native

import "runtime"

func newHost() host { return unsupported{goos: runtime.GOOS} }
