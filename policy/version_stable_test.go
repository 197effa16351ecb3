package policy

import "testing"

// TestVersionStable pins the policy-set version of fixed inputs: the
// version is recorded with every audit event, so the same documents must
// keep the same version across releases (a change here is a format
// change, to be made on purpose).
func TestVersionStable(t *testing.T) {
	t.Parallel()
	def, err := DefaultDocuments()
	if err != nil {
		t.Fatal(err)
	}
	bench, err := Parse("bench.yaml", benchPolicy())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		docs []*Document
		want string
	}{
		{"default policy", def, "74d32072c742080b3bcc1e4bbdcf5c247f4109b1fa38cfc50dd40a3b8ee0357d"},
		{"ten rules", bench, "e903118e35d136acedc204ebf5098977a1d5a722b6537b6d61e8aae6a4f8e61e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile(tt.docs, CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Version(); got != tt.want {
				t.Errorf("Version() = %s, want %s", got, tt.want)
			}
		})
	}
}
