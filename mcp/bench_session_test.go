package mcp

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// memConn is one end of an in-memory Conn pair: each message is handed
// over as is, without framing.
type memConn struct {
	in   <-chan []byte
	out  chan<- []byte
	done chan struct{}
	once *sync.Once
}

// memPipe returns two joined in-memory Conns.
func memPipe() (*memConn, *memConn) {
	ab, ba := make(chan []byte, 1), make(chan []byte, 1)
	done, once := make(chan struct{}), new(sync.Once)
	return &memConn{in: ba, out: ab, done: done, once: once}, &memConn{in: ab, out: ba, done: done, once: once}
}

func (c *memConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *memConn) Write(ctx context.Context, msg []byte) error {
	select {
	case c.out <- msg:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// BenchmarkSessionToolsCall measures the gateway's own work for one
// tools/call: a Session between in-memory Conns decodes the client's
// request, governs it (kernel pipeline with the test policy, in-memory
// audit), forwards it, decodes and scans the server's response and
// answers the client. The peers only copy prepared bytes (the server
// writes one fresh response per call: one allocation of the harness).
func BenchmarkSessionToolsCall(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: 1 << 22})
	if err != nil {
		b.Fatal(err)
	}
	docs, err := policy.Parse("bench.yaml", []byte(testPolicy))
	if err != nil {
		b.Fatal(err)
	}
	set, err := policy.Compile(docs, policy.CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	k, err := kernel.New(kernel.Options{Auditor: log, Policy: set})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := k.Spawn(ctx, kernel.AgentSpec{ID: testAgent}); err != nil {
		b.Fatal(err)
	}
	g, err := New(Options{Kernel: k, AgentID: testAgent, Auditor: log, Policy: set})
	if err != nil {
		b.Fatal(err)
	}
	s, err := g.NewSession(SessionOptions{Server: "bench", ID: "bench-1"})
	if err != nil {
		b.Fatal(err)
	}
	client, gwClient := memPipe()
	server, gwServer := memPipe()
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx, gwClient, gwServer) }()
	defer func() {
		client.Close()
		server.Close()
		<-runErr
	}()
	// The server: lists one tool, answers every call with the same text.
	go func() {
		list := `,"result":{"tools":[{"name":"echo","description":"Echoes its message back.","inputSchema":{"type":"object","properties":{"msg":{"type":"string"}}}}]}}`
		result := `,"result":{"content":[{"type":"text","text":"hello"}]}}`
		for {
			m, err := server.Read(ctx)
			if err != nil {
				return
			}
			i := bytes.Index(m, []byte(`"id":`))
			j := i + 5 + bytes.IndexAny(m[i+5:], ",}")
			body := result
			if bytes.Contains(m, []byte(`"tools/list"`)) {
				body = list
			}
			out := make([]byte, 0, 64+len(body))
			out = append(append(append(out, `{"jsonrpc":"2.0","id":`...), m[i+5:j]...), body...)
			if server.Write(ctx, out) != nil {
				return
			}
		}
	}()
	reqs := make([][]byte, 1024)
	for i := range reqs {
		reqs[i] = []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i+1) + `,"method":"tools/call","params":{"name":"echo","arguments":{"msg":"hello"}}}`)
	}
	call := func(i int) {
		if err := client.Write(ctx, reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
		r, err := client.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.Contains(r, []byte(`"text":"hello"`)) {
			b.Fatalf("response %s", r)
		}
	}
	call(0) // the first call lists the tools
	b.ReportAllocs()
	i := 1
	for b.Loop() {
		call(i)
		i++
	}
}
