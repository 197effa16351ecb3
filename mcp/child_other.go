//go:build !unix

package mcp

import (
	"os"
	"os/exec"
)

type signal int

const (
	sigTerm signal = iota
	sigKill
)

func setProcessGroup(*exec.Cmd) {}

// signalGroup kills the child: without process groups there is no
// polite termination signal.
func signalGroup(cmd *exec.Cmd, _ signal) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 1
	}
	return ps.ExitCode()
}
