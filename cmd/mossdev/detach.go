package main

import "syscall"

// detached puts a child in a session of its own: a Ctrl-C in the
// terminal, or the end of this command, does not stop it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
