package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Defaults of the shutdown ladder.
const (
	DefaultCloseGrace = 2 * time.Second
	DefaultTermGrace  = 3 * time.Second
)

// ChildOptions configure StartChild.
type ChildOptions struct {
	// Argv is the server's program and arguments. Required.
	Argv []string
	// Env is the child's environment. nil: this process's.
	Env []string
	// Dir is the child's working directory. "": this process's.
	Dir string
	// Stderr receives the child's stderr. nil: discarded.
	Stderr io.Writer
	// AllowRisky launches a command RateCommand rates critical. false:
	// such a command is refused with a *CommandRiskError.
	AllowRisky bool
	// CloseGrace is how long Stop waits after closing the child's stdin
	// before sending SIGTERM. 0: DefaultCloseGrace.
	CloseGrace time.Duration
	// TermGrace is how long Stop waits after SIGTERM before SIGKILL. 0:
	// DefaultTermGrace.
	TermGrace time.Duration
	// MaxMessageBytes bounds one message from the child. 0:
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
	// Logger receives the child's lifecycle logs. nil: discard.
	Logger *slog.Logger
}

// Child is an MCP server running as a child process in its own process
// group, speaking newline-delimited JSON-RPC on its stdin and stdout.
type Child struct {
	cmd        *exec.Cmd
	conn       *StreamConn
	stdin      *os.File
	closeGrace time.Duration
	termGrace  time.Duration
	log        *slog.Logger

	done     chan struct{}
	exitCode int   // valid after done
	waitErr  error // valid after done

	stopOnce sync.Once
	stopErr  error
}

// StartChild rates and launches the server command. A command rated
// critical is refused (an error wrapping ErrRiskyCommand) unless
// opts.AllowRisky is set.
func StartChild(opts ChildOptions) (*Child, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, errors.New("mcp: ChildOptions.Argv is required")
	}
	if fs := RateCommand(opts.Argv, nil); Critical(fs) && !opts.AllowRisky {
		return nil, &CommandRiskError{Findings: fs}
	}
	c := &Child{closeGrace: opts.CloseGrace, termGrace: opts.TermGrace, log: opts.Logger, done: make(chan struct{})}
	if c.closeGrace <= 0 {
		c.closeGrace = DefaultCloseGrace
	}
	if c.termGrace <= 0 {
		c.termGrace = DefaultTermGrace
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Argv[0], err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Argv[0], err)
	}
	cmd := exec.Command(opts.Argv[0], opts.Argv[1:]...)
	cmd.Env, cmd.Dir = opts.Env, opts.Dir
	cmd.Stdin, cmd.Stdout = inR, outW
	cmd.Stderr = opts.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Argv[0], err)
	}
	inR.Close()
	outW.Close()
	c.cmd, c.stdin = cmd, inW
	c.conn = NewStreamConn(outR, inW, StreamOptions{MaxMessageBytes: opts.MaxMessageBytes})
	go func() {
		c.waitErr = cmd.Wait()
		c.exitCode = exitCode(cmd.ProcessState)
		close(c.done)
	}()
	c.log.Info("server started", slog.Int("pid", cmd.Process.Pid))
	return c, nil
}

// Conn returns the connection to the child's stdin and stdout.
func (c *Child) Conn() Conn { return c.conn }

// Pid returns the child's process ID.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// ExitCode returns the child's exit code once Done is closed: its status,
// or 128 plus the signal number when a signal ended it.
func (c *Child) ExitCode() int {
	<-c.done
	return c.exitCode
}

// Stop ends the child with the shutdown ladder: close its stdin and wait
// CloseGrace, then SIGTERM its process group and wait TermGrace, then
// SIGKILL. It returns when the child has exited, or ctx's error if ctx ends
// first (the child is then killed). It is idempotent.
func (c *Child) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Child) stop(ctx context.Context) error {
	c.stdin.Close()
	if c.waitFor(ctx, c.closeGrace) {
		return nil
	}
	c.log.Info("server did not exit after its stdin closed: SIGTERM")
	signalGroup(c.cmd, sigTerm)
	if c.waitFor(ctx, c.termGrace) {
		return nil
	}
	c.log.Warn("server did not exit after SIGTERM: SIGKILL")
	signalGroup(c.cmd, sigKill)
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor waits up to d for the child to exit; it reports whether it did.
// When ctx ends first it kills the group and reports false.
func (c *Child) waitFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		signalGroup(c.cmd, sigKill)
		return false
	}
}
