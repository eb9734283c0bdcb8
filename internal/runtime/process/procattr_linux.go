package process

import "syscall"

// sysProcAttr puts the child in its own process group, so that stopping it
// reaches its children too, and asks the kernel to SIGKILL it when the
// thread that forked it ends (see spawner for why that thread is locked).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
