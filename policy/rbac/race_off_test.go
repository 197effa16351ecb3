//go:build !race

package rbac

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
