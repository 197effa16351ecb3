package detect

import "errors"

// Errors of the detectors, checkable with errors.Is. Configuration errors
// of the injection detector are the typed [InjectionConfigError].
var (
	// ErrInputTooLarge is returned (wrapped) by a scan or redaction whose
	// input exceeds the detector's MaxInput. Callers fail closed.
	ErrInputTooLarge = errors.New("input too large to scan")
	// ErrInvalidJSON is returned (wrapped) by RedactJSON when its input is
	// not valid JSON.
	ErrInvalidJSON = errors.New("invalid JSON")
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
