// Package paritytest loads the reference parity vectors kept in the
// module's testdata/parity directory, for table tests.
package paritytest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the absolute path of the module's testdata/parity directory.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "parity")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "parity")
}

// Load decodes the named vector file (for example "policy-evaluator.json")
// into v, keeping numbers as json.Number so that 1 and 1.0 and integers
// beyond int64 stay distinct. It fails the test if the file is missing or
// malformed.
func Load(tb testing.TB, name string, v any) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		tb.Fatalf("read parity vectors: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decode parity vectors %s: %v", name, err)
	}
}
