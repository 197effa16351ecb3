// Package leaktest fails a test binary whose tests leave goroutines
// running the module's code behind.
//
// A package's tests opt in from their TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(leaktest.Check(m)) }
//
// After the tests pass, [Check] gives stray goroutines a bounded time
// ([Timeout]) to exit, then reports the stacks of those still running
// code of this module and fails the run. Goroutines of the runtime, the
// standard library and other modules are not counted.
package leaktest
