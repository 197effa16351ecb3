//go:build !unix

package cli

import "io"

// pollableInput leaves r as it is: see the Unix version.
func pollableInput(r io.Reader) (io.Reader, func()) { return r, func() {} }
