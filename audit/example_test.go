package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentos/agentos/audit"
)

func ExampleMemory() {
	log, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: 1000})
	if err != nil {
		panic(err)
	}
	e := audit.Event{
		Time:     time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		AgentID:  "agent-1",
		Kind:     audit.KindToolCall,
		Tool:     "database_query",
		Args:     json.RawMessage(`{"query": "DROP TABLE users"}`),
		Decision: audit.Decision{Action: "deny", Rule: "block-destructive-sql", Reason: "Destructive SQL is not allowed"},
		Outcome:  audit.Outcome{Code: -2},
	}
	// An append error must deny the action (fail closed).
	if err := log.Append(context.Background(), &e); err != nil {
		panic(err)
	}
	fmt.Println(e.Seq, e.PrevHash == audit.GenesisHash, len(e.Hash))
	fmt.Println(log.Verify())

	canon, _ := audit.Canonical(&e)
	fmt.Println(string(canon))
	// Output:
	// 0 true 64
	// <nil>
	// {"agent_id":"agent-1","args":{"query":"DROP TABLE users"},"decision":{"action":"deny","allowed":false,"policy":"","policy_version":"","reason":"Destructive SQL is not allowed","rule":"block-destructive-sql"},"kind":"tool_call","latency_us":0,"outcome":{"code":-2,"error":"","result_hash":"","result_summary":""},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":0,"session_id":"","time":"2025-01-02T03:04:05.000000000Z","tool":"database_query","trace_id":""}
}

func ExampleCanonicalJSON() {
	out, err := audit.CanonicalJSON([]byte(`{"b": 2.50, "a": [1E30, "\u20ac"]}`))
	fmt.Println(string(out), err)
	// Output: {"a":[1e+30,"€"],"b":2.5} <nil>
}
