package policy

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
)

func TestEngineNoPolicy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	in := map[string]any{"tool_name": "x"}
	e := NewEngine(EngineOptions{})
	if d := e.Evaluate(ctx, in); d.Allowed || d.Action != ActionDeny || d.Reason != NoPolicyReason || !d.Error {
		t.Errorf("no policy: Evaluate = %+v, want the no-policy deny", d)
	}
	empty, err := Compile(nil, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.Swap(empty)
	if d := e.Evaluate(ctx, in); d.Allowed || d.Reason != NoPolicyReason {
		t.Errorf("empty set: Evaluate = %+v, want the no-policy deny", d)
	}
	p := NewEngine(EngineOptions{Permissive: true})
	if d := p.Evaluate(ctx, in); !d.Allowed || d.Action != ActionAllow || d.Error {
		t.Errorf("permissive: Evaluate = %+v, want allow", d)
	}
	var nilSet *Set
	if d := nilSet.Evaluate(ctx, in); d.Allowed || !d.Error {
		t.Errorf("nil set: Evaluate = %+v, want deny", d)
	}
}

func TestEngineReload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var mu sync.Mutex
	docs := []*Document{{Name: "v1", Rules: []Rule{{Name: "deny-x", Action: ActionDeny, Condition: &Condition{Field: "tool_name", Operator: OpEq, Value: "x"}}}}}
	var loadErr error
	e := NewEngine(EngineOptions{Load: func(context.Context) ([]*Document, error) {
		mu.Lock()
		defer mu.Unlock()
		return docs, loadErr
	}})
	if err := e.Reload(ctx); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	first := e.Current()
	if d := e.Evaluate(ctx, map[string]any{"tool_name": "x"}); d.Rule != "deny-x" || d.Version != first.Version() {
		t.Fatalf("Evaluate = %+v", d)
	}

	mu.Lock()
	docs = []*Document{{Name: "v2", Rules: []Rule{{Name: "bad", Action: ActionDeny, Condition: &Condition{Field: "s", Operator: OpMatches, Value: "(?<=x)"}}}}}
	mu.Unlock()
	err := e.Reload(ctx)
	if len(AsErrors(err)) != 1 {
		t.Errorf("Reload of a bad policy = %v, want its located error", err)
	}
	if e.Current() != first {
		t.Errorf("a failed compile replaced the set")
	}

	mu.Lock()
	loadErr = errors.New("disk on fire")
	mu.Unlock()
	if err := e.Reload(ctx); err == nil || e.Current() != first {
		t.Errorf("a failed load: err %v, set replaced %v", err, e.Current() != first)
	}

	if err := NewEngine(EngineOptions{}).Reload(ctx); !errors.Is(err, ErrNoLoader) {
		t.Errorf("Reload without a loader = %v, want ErrNoLoader", err)
	}
}

func TestEngineConcurrentSwap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := mustCompile(t, &Document{Name: "a", Defaults: Defaults{Action: ActionDeny}})
	b := mustCompile(t, &Document{Name: "b", Defaults: Defaults{Action: ActionAllow}})
	e := NewEngine(EngineOptions{})
	e.Swap(a)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				d := e.Evaluate(ctx, map[string]any{})
				if d.Policy != "a" && d.Policy != "b" {
					t.Errorf("Evaluate during swaps = %+v", d)
					return
				}
				if (d.Policy == "a") == d.Allowed {
					t.Errorf("decision mixes sets: %+v", d)
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		if i%2 == 0 {
			e.Swap(b)
		} else {
			e.Swap(a)
		}
	}
	wg.Wait()
}

func TestEngineReloadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := dir + "/p.yaml"
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("version: \"1.0\"\nname: files\nrules:\n  - name: deny-exec\n    condition: {field: tool_name, operator: eq, value: exec}\n    action: deny\n")
	e := NewEngine(EngineOptions{Files: []string{path}})
	if err := e.Reload(t.Context()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if d := e.Evaluate(t.Context(), map[string]any{"tool_name": "exec"}); d.Rule != "deny-exec" || d.Policy != "files" {
		t.Fatalf("Evaluate = %+v", d)
	}
	good := e.Current()
	write("version: \"1.0\"\nname: files\nrules:\n  - name: bad\n    condition: {field: s, operator: matches, value: \"(?=x)\"}\n    action: deny\n")
	err := e.Reload(t.Context())
	if es := AsErrors(err); len(es) == 0 || es[0].Loc.File == "" || es[0].Loc.Line == 0 {
		t.Errorf("Reload of a bad regexp = %v, want an error located in the file", err)
	}
	if e.Current() != good {
		t.Errorf("a bad file replaced the good set")
	}
}
