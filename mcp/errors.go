package mcp

import (
	"errors"
	"strconv"
)

// CodeDenied is the JSON-RPC error code of a gateway denial. It lies in the
// range -32000 to -32019 that MCP leaves to implementations.
const CodeDenied = -32000

// Denial stages: which part of the gateway refused.
const (
	// StagePin: the tool is not currently listed and pinned (new tool
	// awaiting approval, changed definition, never listed).
	StagePin = "pin"
	// StageScan: the tool's definition was flagged by the scanner.
	StageScan = "scan"
	// StagePolicy: the policy denied the call.
	StagePolicy = "policy"
	// StageApproval: the call needs a human approval that was not given.
	StageApproval = "approval"
	// StageRateLimit: a rate_limit rule refused the call.
	StageRateLimit = "rate_limit"
	// StageBudget: the agent's tool-call or token budget is exhausted.
	StageBudget = "budget"
	// StageAudit: the decision could not be recorded (fail closed).
	StageAudit = "audit"
	// StageKernel: the kernel refused or failed the call.
	StageKernel = "kernel"
	// StageUpstream: the server did not answer in time or went away.
	StageUpstream = "upstream"
	// StageResponse: the response was blocked by the response scanner.
	StageResponse = "response"
	// StageProtocol: the message broke the protocol (duplicate or reserved
	// request ID, too many requests in flight, undecodable message).
	StageProtocol = "protocol"
)

// Sentinel errors.
var (
	// ErrClosed is returned by Session.Run after the session ended because
	// one side closed its connection.
	ErrClosed = errors.New("mcp: connection closed")
	// ErrMessageTooLarge is returned by a StreamConn for a message longer
	// than its limit.
	ErrMessageTooLarge = errors.New("mcp: message too large")
	// ErrPinNotFound is returned by PinStore methods for a server and tool
	// without a pin.
	ErrPinNotFound = errors.New("mcp: no pin for that tool")
	// ErrNothingToApprove is returned by PinStore.Approve for a tool whose
	// pin has no pending definition.
	ErrNothingToApprove = errors.New("mcp: no pending definition to approve")
	// ErrRiskyCommand is the cause of StartChild's refusal to launch a
	// command rated critical (see RateCommand).
	ErrRiskyCommand = errors.New("mcp: command rated critical")
	// ErrInvalidPins is the cause of an error loading a pin file that is
	// not a pin file.
	ErrInvalidPins = errors.New("mcp: invalid pin file")
	// ErrUnauthenticated is the cause of an Authenticator's refusal: the
	// request carries no acceptable credential.
	ErrUnauthenticated = errors.New("mcp: unauthenticated")
	// ErrInsecureListen is returned for a proxy or server listening on a
	// non-loopback address without TLS.
	ErrInsecureListen = errors.New("mcp: refusing to listen on a non-loopback address without TLS")
)

// DenialError is a refusal by the gateway, carried to the client as
// JSON-RPC error CodeDenied with data {stage, reason, rule}.
type DenialError struct {
	// Stage names the part of the gateway that refused (Stage* constants).
	Stage string
	// Reason says why, in a sentence a person can act on.
	Reason string
	// Rule names the policy rule or detector rule that decided, if any.
	Rule string
	// Err is the underlying cause, if any; it is not sent to the client.
	Err error
}

// Error implements error.
func (e *DenialError) Error() string {
	s := "mcp: denied at " + e.Stage + ": " + e.Reason
	if e.Rule != "" {
		s += " (rule " + strconv.Quote(e.Rule) + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *DenialError) Unwrap() error { return e.Err }

// Code returns CodeDenied.
func (e *DenialError) Code() int { return CodeDenied }

// CommandRiskError is StartChild's refusal to launch a risky command. It
// matches ErrRiskyCommand.
type CommandRiskError struct {
	// Findings are the reasons, most severe first.
	Findings []CommandFinding
}

// Error implements error.
func (e *CommandRiskError) Error() string {
	s := "mcp: refusing to launch a command rated critical"
	if len(e.Findings) > 0 {
		s += ": " + e.Findings[0].Rule + ": " + e.Findings[0].Message
	}
	return s
}

// Unwrap returns ErrRiskyCommand.
func (e *CommandRiskError) Unwrap() error { return ErrRiskyCommand }

// ConfigError is a problem in a client configuration file, located by
// line and column (1-based, columns in bytes) and the dotted path of the
// member at fault.
type ConfigError struct {
	File      string
	Line, Col int
	// Field is the member at fault, e.g. "mcpServers.github"; "" for the
	// document itself.
	Field string
	Msg   string
}

// Error implements error: "file:line:col: field: message".
func (e *ConfigError) Error() string {
	s := e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}
