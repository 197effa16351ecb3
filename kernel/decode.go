package kernel

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agentos/agentos/signals"
)

// Bounds on decoded requests.
const (
	// MaxRecvTimeout bounds Recv.Timeout from the JSON API.
	MaxRecvTimeout = 10 * time.Minute
	maxArgsBytes   = 1 << 20
)

// ParseSyscall parses a syscall name or number: "SYS_EXEC", "sys_exec",
// "EXEC", "exec" or "4". It returns ErrUnknownSyscall for anything else.
func ParseSyscall(name string) (Syscall, error) {
	s := strings.TrimSpace(name)
	if n, err := strconv.Atoi(s); err == nil {
		if n >= int(SysFork) && n <= int(SysCheckPolicy) {
			return Syscall(n), nil
		}
		return 0, refine(ErrUnknownSyscall, "Unknown syscall: "+quoteBounded(name))
	}
	u := strings.ToUpper(s)
	if !strings.HasPrefix(u, "SYS_") {
		u = "SYS_" + u
	}
	for i := SysFork; i <= SysCheckPolicy; i++ {
		if sysNames[i] == u {
			return i, nil
		}
	}
	return 0, refine(ErrUnknownSyscall, "Unknown syscall: "+quoteBounded(name))
}

// argKeys lists the argument names each syscall accepts, as the reference
// spells them. Unknown keys are rejected.
var argKeys = [...][]string{
	SysExit:        {"code"},
	SysExec:        {"tool", "args", "input_prompt", "tokens", "confidence", "content", "context"},
	SysOpen:        {"path", "mode"},
	SysClose:       {"fd"},
	SysRead:        {"path"},
	SysWrite:       {"path", "data"},
	SysStat:        {"path"},
	SysSend:        {"to", "message"},
	SysRecv:        {"timeout"},
	SysSignal:      {"target", "signal", "reason"},
	SysSigprocmask: {"block", "unblock"},
	SysGetPolicy:   {},
	SysCheckPolicy: {"action", "target", "args"},
}

// DecodeRequest builds a typed Request from a syscall name (see
// ParseSyscall) and reference-style arguments, as decoded from JSON
// (numbers may be float64 or json.Number). A bad name is ErrUnknownSyscall;
// every other error wraps ErrBadArgs and names the offending argument.
// Unimplemented syscalls decode to Unimplemented whatever their arguments.
func DecodeRequest(name string, args map[string]any) (Request, error) {
	sys, err := ParseSyscall(name)
	if err != nil {
		return nil, err
	}
	if int(sys) >= len(argKeys) || argKeys[sys] == nil {
		return Unimplemented{Sys: sys}, nil
	}
	if err := checkKeys(sys, args); err != nil {
		return nil, err
	}
	d := decoder{args: args}
	var req Request
	switch sys {
	case SysExit:
		req = Exit{Code: d.int("code", 0)}
	case SysExec:
		e := Exec{Tool: d.str("tool", true, "No tool specified")}
		e.Args = d.object("args")
		_ = d.str("input_prompt", false, "")
		e.Tokens = int64(d.int("tokens", 0))
		if e.Tokens < 0 {
			d.fail("tokens: must not be negative")
		}
		e.Confidence = d.float("confidence")
		e.Content = d.str("content", false, "")
		e.Context = d.mapArg("context")
		req = e
	case SysOpen:
		req = Open{Path: d.str("path", true, "No path specified"), Mode: d.str("mode", false, "")}
	case SysClose:
		req = Close{FD: d.int("fd", -1)}
	case SysRead:
		req = Read{Path: d.str("path", true, "No path specified")}
	case SysWrite:
		req = Write{Path: d.str("path", true, "Missing path or data"), Data: d.data("data")}
	case SysStat:
		req = Stat{Path: d.str("path", true, "No path specified")}
	case SysSend:
		req = Send{To: d.str("to", true, "No recipient specified"), Message: d.raw("message")}
	case SysRecv:
		secs := d.float("timeout")
		if secs < 0 || secs > MaxRecvTimeout.Seconds() {
			d.fail("timeout: must be between 0 and " + strconv.Itoa(int(MaxRecvTimeout.Seconds())) + " seconds")
		}
		req = Recv{Timeout: time.Duration(secs * float64(time.Second))}
	case SysSignal:
		req = Signal{
			Target: d.str("target", false, ""),
			Signal: d.signal("signal", true),
			Reason: d.str("reason", false, ""),
		}
	case SysSigprocmask:
		req = SigProcMask{Block: d.signals("block"), Unblock: d.signals("unblock")}
	case SysGetPolicy:
		req = GetPolicy{}
	case SysCheckPolicy:
		req = CheckPolicy{
			Action: d.str("action", true, "No action specified"),
			Target: d.str("target", false, ""),
			Args:   d.mapArg("args"),
		}
	default:
		return Unimplemented{Sys: sys}, nil
	}
	if d.err != nil {
		return nil, d.err
	}
	return req, nil
}

func checkKeys(sys Syscall, args map[string]any) error {
	var unknown []string
	for k := range args {
		found := false
		for _, a := range argKeys[sys] {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, quoteBounded(k))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return refine(ErrBadArgs, sys.String()+": unknown argument "+strings.Join(unknown, ", "))
}

// decoder reads typed arguments, keeping the first problem.
type decoder struct {
	args map[string]any
	err  error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = refine(ErrBadArgs, msg)
	}
}

func (d *decoder) str(key string, required bool, missing string) string {
	v, ok := d.args[key]
	if !ok || v == nil {
		if required {
			d.fail(missing)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(key + ": want a string, got " + typeName(v))
		return ""
	}
	if required && s == "" {
		d.fail(missing)
	}
	return s
}

func (d *decoder) int(key string, def int) int {
	v, ok := d.args[key]
	if !ok || v == nil {
		return def
	}
	n, ok := toInt(v)
	if !ok {
		d.fail(key + ": want an integer, got " + typeName(v))
		return def
	}
	return n
}

func (d *decoder) float(key string) float64 {
	v, ok := d.args[key]
	if !ok || v == nil {
		return 0
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			d.fail(key + ": want a number")
			return 0
		}
	default:
		d.fail(key + ": want a number, got " + typeName(v))
		return 0
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(key + ": want a finite number")
		return 0
	}
	return f
}

func (d *decoder) data(key string) []byte {
	v, ok := d.args[key]
	if !ok || v == nil {
		d.fail("Missing path or data")
		return nil
	}
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return x
	}
	d.fail(key + ": want a string, got " + typeName(v))
	return nil
}

func (d *decoder) mapArg(key string) map[string]any {
	v, ok := d.args[key]
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(key + ": want an object, got " + typeName(v))
		return nil
	}
	return m
}

// object returns the JSON encoding of an object argument; nil if absent.
func (d *decoder) object(key string) json.RawMessage {
	m := d.mapArg(key)
	if m == nil || d.err != nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		d.fail(key + ": not representable as JSON: " + err.Error())
		return nil
	}
	if len(b) > maxArgsBytes {
		d.fail(key + ": larger than " + strconv.Itoa(maxArgsBytes) + " bytes")
		return nil
	}
	return b
}

// raw returns the JSON encoding of any present value.
func (d *decoder) raw(key string) json.RawMessage {
	v, ok := d.args[key]
	if !ok {
		d.fail("No message specified")
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		d.fail(key + ": not representable as JSON: " + err.Error())
		return nil
	}
	if len(b) > maxArgsBytes {
		d.fail(key + ": larger than " + strconv.Itoa(maxArgsBytes) + " bytes")
		return nil
	}
	return b
}

func (d *decoder) signal(key string, required bool) signals.Signal {
	v, ok := d.args[key]
	if !ok || v == nil {
		if required {
			d.fail("No signal specified")
		}
		return 0
	}
	s, err := parseSignal(v)
	if err != nil {
		d.fail(err.Error())
	}
	return s
}

func (d *decoder) signals(key string) []signals.Signal {
	v, ok := d.args[key]
	if !ok || v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(key + ": want a list of signals, got " + typeName(v))
		return nil
	}
	out := make([]signals.Signal, 0, len(list))
	for _, e := range list {
		s, err := parseSignal(e)
		if err != nil {
			d.fail(key + ": " + err.Error())
			return nil
		}
		out = append(out, s)
	}
	return out
}

// parseSignal accepts a signal number or name.
func parseSignal(v any) (signals.Signal, error) {
	if n, ok := toInt(v); ok {
		if n < 1 || n > 255 || !signals.Signal(n).Valid() {
			return 0, refine(ErrBadArgs, strconv.Itoa(n)+" is not a valid AgentSignal")
		}
		return signals.Signal(n), nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, refine(ErrBadArgs, "signal: want a number or a name, got "+typeName(v))
	}
	sig, err := signals.Parse(s)
	if err != nil {
		return 0, refine(ErrBadArgs, quoteBounded(s)+" is not a valid AgentSignal")
	}
	return sig, nil
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case float64:
		if x != math.Trunc(x) || x < math.MinInt32 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 32)
		if err != nil {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64, int, int64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "an unsupported value"
}

// quoteBounded quotes s for an error message, cut to 64 bytes.
func quoteBounded(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strconv.Quote(s)
}
