//go:build darwin

package main

// On macOS the native backend refuses Debian's servers (see package
// native), so the docker engine is the one requirement.
var thisOS = osFacts{name: "macOS", native: notNative("macOS"), dockerOnly: true}
