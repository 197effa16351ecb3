//go:build !linux

package cli

import "errors"

// pageOutExecutable is a Linux facility (MADV_PAGEOUT); elsewhere the
// executable's pages are left to the kernel.
func pageOutExecutable() (int64, error) {
	return 0, errors.New("releasing executable pages is supported on Linux only")
}
