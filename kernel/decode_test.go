package kernel_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/signals"
)

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sys  string
		args map[string]any
		want kernel.Request
		err  error
	}{
		{"read", "SYS_READ", map[string]any{"path": "/a"}, kernel.Read{Path: "/a"}, nil},
		{"by number", "7", map[string]any{"path": "/a"}, kernel.Read{Path: "/a"}, nil},
		{"short name", "read", map[string]any{"path": "/a"}, kernel.Read{Path: "/a"}, nil},
		{"signal by name", "SYS_SIGNAL", map[string]any{"target": "b", "signal": "SIGSTOP"}, kernel.Signal{Target: "b", Signal: signals.SIGSTOP}, nil},
		{"signal by float", "SYS_SIGNAL", map[string]any{"signal": 4.0}, kernel.Signal{Signal: signals.SIGKILL}, nil},
		{"signal by json.Number", "SYS_SIGNAL", map[string]any{"signal": json.Number("2")}, kernel.Signal{Signal: signals.SIGCONT}, nil},
		{"exit default", "SYS_EXIT", nil, kernel.Exit{}, nil},
		{"fork", "SYS_FORK", map[string]any{"anything": 1}, kernel.Unimplemented{Sys: kernel.SysFork}, nil},
		{"unknown name", "SYS_NOPE", nil, nil, kernel.ErrUnknownSyscall},
		{"number out of range", "21", nil, nil, kernel.ErrUnknownSyscall},
		{"unknown key", "SYS_READ", map[string]any{"path": "/a", "evil": 1}, nil, kernel.ErrBadArgs},
		{"path not string", "SYS_READ", map[string]any{"path": 1}, nil, kernel.ErrBadArgs},
		{"fd fraction", "SYS_CLOSE", map[string]any{"fd": 1.5}, nil, kernel.ErrBadArgs},
		{"bad signal", "SYS_SIGNAL", map[string]any{"signal": 99}, nil, kernel.ErrBadArgs},
		{"write missing data", "SYS_WRITE", map[string]any{"path": "/a"}, nil, kernel.ErrBadArgs},
		{"exec args not object", "SYS_EXEC", map[string]any{"tool": "t", "args": []any{1}}, nil, kernel.ErrBadArgs},
		{"recv negative", "SYS_RECV", map[string]any{"timeout": -1}, nil, kernel.ErrBadArgs},
		{"recv too long", "SYS_RECV", map[string]any{"timeout": 1e9}, nil, kernel.ErrBadArgs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kernel.DecodeRequest(tt.sys, tt.args)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("DecodeRequest(%q, %v) = %v, want %v", tt.sys, tt.args, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeRequest(%q, %v) = %v", tt.sys, tt.args, err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tt.want)
			if string(g) != string(w) || got.Syscall() != tt.want.Syscall() {
				t.Fatalf("DecodeRequest(%q) = %#v, want %#v", tt.sys, got, tt.want)
			}
		})
	}
	req, err := kernel.DecodeRequest("SYS_EXEC", map[string]any{"tool": "t", "args": map[string]any{"b": 2, "a": 1}})
	if err != nil || string(req.(kernel.Exec).Args) != `{"a":1,"b":2}` {
		t.Errorf("exec args = %v, %v", req, err)
	}
}

// FuzzDecodeRequest: arbitrary JSON arguments never panic; every error is
// ErrBadArgs (or ErrUnknownSyscall for the name), and every request names a
// valid syscall.
func FuzzDecodeRequest(f *testing.F) {
	seeds := []struct{ name, args string }{
		{"SYS_READ", `{"path":"/mem/working/x.txt"}`},
		{"SYS_WRITE", `{"path":"/mem/working/x.txt","data":"hello"}`},
		{"SYS_EXEC", `{"tool":"add","args":{"a":1,"b":2}}`},
		{"SYS_SIGNAL", `{"target":"a2","signal":4}`},
		{"SYS_SIGNAL", `{"signal":"kill"}`},
		{"SYS_CHECKPOLICY", `{"action":"read_file","target":"/etc/passwd"}`},
		{"SYS_OPEN", `{"path":"/policy/x","mode":"w"}`},
		{"SYS_CLOSE", `{"fd":99}`},
		{"SYS_EXIT", `{"code":3}`},
		{"SYS_SEND", `{"to":"b","message":{"x":[1,2]}}`},
		{"SYS_RECV", `{"timeout":0.5}`},
		{"SYS_SIGPROCMASK", `{"block":["SIGUSR1",7]}`},
		{"SYS_FORK", `{}`},
		{"20", `{"action":"x","args":{"k":null}}`},
	}
	for _, s := range seeds {
		f.Add(s.name, s.args)
	}
	f.Fuzz(func(t *testing.T, name, raw string) {
		var args map[string]any
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			return
		}
		req, err := kernel.DecodeRequest(name, args)
		if err != nil {
			if req != nil {
				t.Fatalf("error %v with request %#v", err, req)
			}
			if !errors.Is(err, kernel.ErrBadArgs) && !errors.Is(err, kernel.ErrUnknownSyscall) {
				t.Fatalf("error %v is neither ErrBadArgs nor ErrUnknownSyscall", err)
			}
			return
		}
		if !req.Syscall().Valid() {
			t.Fatalf("request %#v has invalid syscall", req)
		}
	})
}
