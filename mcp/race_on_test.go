//go:build race

package mcp

// raceEnabled reports a -race build, under which the long differential
// tests check a sample of their corpus.
const raceEnabled = true
