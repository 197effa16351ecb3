package policy

import "testing"

// FuzzJSONLocation checks the incremental line/column conversion of the
// JSON loader against the table search for every ascending sequence of
// offsets the fuzzer picks, over any bytes (invalid UTF-8 included).
func FuzzJSONLocation(f *testing.F) {
	f.Add([]byte("{\n  \"name\": \"é\",\n\t\"rules\": []\n}"), []byte{0, 3, 4, 9, 17, 20})
	f.Add([]byte("\xe2\x28\xa1\n\xff{\"a\":1}"), []byte{1, 1, 2, 5, 6, 30})
	f.Fuzz(func(t *testing.T, data, steps []byte) {
		inc := &jsonBuilder{data: data, r: &rawDoc{file: "f.json"}}
		ref := &jsonBuilder{data: data, r: &rawDoc{file: "f.json"}}
		off := 0
		for _, st := range steps {
			off += int(st % 16)
			if st >= 240 {
				off = int(st) - 250 // out of range or backwards: the search path
			}
			got, want := inc.locAt(off), ref.locSearch(off)
			if got != want {
				t.Fatalf("locAt(%d) = %+v, want %+v (data %q)", off, got, want, data)
			}
		}
	})
}
