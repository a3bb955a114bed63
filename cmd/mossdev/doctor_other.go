//go:build !linux && !darwin

package main

import "runtime"

var thisOS = osFacts{name: runtime.GOOS, native: notNative(runtime.GOOS), dockerOnly: true}
