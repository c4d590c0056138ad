//go:build !linux

package exampleapp

import "syscall"

// procAttr is nil where the kernel has no parent-death signal: Stop, and
// the harness's own exit, end the app.
func procAttr() *syscall.SysProcAttr { return nil }
