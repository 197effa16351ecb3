//go:build !race

package detect

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = false
