package detect

import "errors"

// Errors of the MCP definition and response scanners, checkable with
// errors.Is.
var (
	// ErrMalformedTool means a tool definition could not be decoded or has
	// a field of the wrong type; the scan fails closed.
	ErrMalformedTool = errors.New("malformed MCP tool definition")
	// ErrRegistryFull means MCPScanner already holds MCPOptions.MaxTools
	// fingerprints and cannot pin another tool.
	ErrRegistryFull = errors.New("MCP tool registry full")
	// ErrInvalidMCPOptions means an options struct has a bad field; the
	// message names it.
	ErrInvalidMCPOptions = errors.New("invalid MCP scanner options")
)
