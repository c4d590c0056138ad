package exampleapp

import "syscall"

// procAttr makes the app die with the harness (SIGKILL when the harness's
// thread that started it exits), so that no app outlives a run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
