package kernel

import "testing"

// TestSysNameValues: the boxed syscall names used in policy inputs are the
// syscall names, for every number including out-of-range ones.
func TestSysNameValues(t *testing.T) {
	t.Parallel()
	if len(sysNameValues) != len(sysNames) {
		t.Fatalf("%d boxed names for %d syscall names", len(sysNameValues), len(sysNames))
	}
	for i := range 256 {
		s := Syscall(i)
		if got := s.nameValue(); got != s.String() {
			t.Errorf("Syscall(%d).nameValue() = %v, want %q", i, got, s.String())
		}
	}
}
