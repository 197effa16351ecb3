package main

import (
	"bytes"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	want := "Berlin: sunny in Berlin\n" +
		"Pyongyang: denied (code -2): Policy 'SYS_EXEC' blocked: This agent may only ask for European forecasts\n" +
		"3 audit events, chain verified\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
