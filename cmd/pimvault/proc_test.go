package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// processExited reports whether the child has already exited, without
// reaping it: the process is gone, or it is a zombie (state Z in
// /proc/PID/stat), which still accepts signal 0.
func processExited(cmd *exec.Cmd) bool {
	if cmd.Process.Signal(syscall.Signal(0)) != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return false // no /proc: only signal 0 tells
	}
	// The state follows the parenthesised command name, which may hold spaces.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'Z' || b[i+2] == 'X'
	}
	return false
}
