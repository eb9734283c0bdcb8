//go:build unix && !linux

package process

import "syscall"

// sysProcAttr puts the child in its own process group, so that stopping it
// reaches its children too. Outside Linux there is no parent-death signal:
// children are stopped when Run returns, but not if sluice is killed.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
