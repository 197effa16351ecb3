package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Defaults for Options.
const (
	// DefaultCheckpointEvery is Options.CheckpointEvery when 0.
	DefaultCheckpointEvery = 10000
	// DefaultCheckpointInterval is Options.CheckpointInterval when 0.
	DefaultCheckpointInterval = time.Minute
	// DefaultMaxBatch is Options.MaxBatch when 0.
	DefaultMaxBatch = 1024
)

// Options configure a Log.
type Options struct {
	// Store keeps the events. Required.
	Store Store
	// Dir is the data directory holding the checkpoint signing key
	// (KeyFile, created on first start, and PublicKeyFile). Required
	// unless Key is set.
	Dir string
	// Key signs checkpoints. Zero: LoadOrCreateKey(Dir, KeyName).
	Key Key
	// KeyName names a newly created key. "": DefaultKeyName.
	KeyName string
	// Clock stamps events whose Time is zero, and checkpoints, and times
	// CheckpointInterval. nil: the wall clock.
	Clock Clock
	// Logger receives the log's diagnostics. nil: discard.
	Logger *slog.Logger
	// CheckpointEvery writes a checkpoint once this many events were
	// appended since the last one. 0: DefaultCheckpointEvery; negative:
	// never by count.
	CheckpointEvery int
	// CheckpointInterval writes a checkpoint when events were appended
	// and this long has passed since the last one. 0:
	// DefaultCheckpointInterval; negative: never by time.
	CheckpointInterval time.Duration
	// Publishers receive every checkpoint after it is stored, e.g. a
	// FilePublisher. A publishing error is logged, and returned by
	// Checkpoint. nil: none.
	Publishers []Publisher
	// MaxBatch bounds how many queued appends share one transaction. 0:
	// DefaultMaxBatch.
	MaxBatch int
}

// Log is a durable, tamper-evident audit log: events hash-chained and
// leaves of a Merkle tree, with signed checkpoints, over a Store.
// Appends are committed in groups (one transaction and one flush per
// group), two transactions in flight at a time. An Append that finds one
// of the two free runs its transaction itself, on its own goroutine, with
// whatever else is queued; otherwise it queues its event for a committer
// goroutine. So a caller appending one event at a time pays no goroutine
// hand-off, and concurrent callers still share transactions. All methods
// are safe for concurrent use.
type Log struct {
	store    Store
	key      Key
	verifier note.Verifier
	clock    Clock
	log      *slog.Logger
	every    int
	interval time.Duration
	pubs     []Publisher
	maxBatch int

	ctx    context.Context // the log's lifetime; cancelled by Close
	cancel context.CancelFunc

	// mu guards closed and the sends on reqs and ops; an Append that
	// commits on its own goroutine holds it (read) until it is done.
	mu     sync.RWMutex
	closed bool
	reqs   chan *request
	slots  chan *committer // the free transaction slots, with their state
	ops    chan func()
	stop   chan struct{}  // closed by Close once the committers have exited
	done   chan struct{}  // closed when the control goroutine exits
	cwg    sync.WaitGroup // the committers
	pool   sync.Pool      // *request

	// treeMu guards the cached tree. Seal, which runs under the store's
	// write lock, updates it to the state after its batch; a head that
	// does not match it (a failed transaction, another process's writes)
	// makes the next seal reload the frontier from the store.
	treeMu   sync.Mutex
	tree     frontier // valid when treeOK; matches treeHash
	treeOK   bool
	treeHash [32]byte

	// cpMu serializes writing checkpoints and pruning, and guards lastCP.
	cpMu       sync.Mutex
	lastCP     Checkpoint    // the latest checkpoint (largest size)
	lastCPSize atomic.Uint64 // lastCP.Size, readable without cpMu
}

// committers is how many transactions a Log keeps in flight: while one
// waits for its flush to disk, the next is sealed and written.
const committers = 2

// committer is the state of one transaction slot, used by whichever
// goroutine holds the slot: a committer goroutine or an Append.
type committer struct {
	sha     hash.Hash
	batch   []*request
	records []Record
	arena   []byte   // the records' Data and TreeHashes
	tree    frontier // the frontier while sealing
}

// request is one queued append.
type request struct {
	ev     Event
	buf    []byte // canonical JSON with seq 0 and a zero prev_hash
	prefix int    // buf[:prefix] precedes the prev_hash hex digits
	state  atomic.Int32
	done   chan error
}

// Request states.
const (
	queued int32 = iota
	claimed
	abandoned
)

// Open starts a Log over opts.Store, loading or creating the signing key
// and reading the latest checkpoint. Close it to stop its goroutines.
func Open(ctx context.Context, opts Options) (*Log, error) {
	if opts.Store == nil {
		return nil, errors.New("audit log: Options.Store is required")
	}
	if opts.MaxBatch < 0 {
		return nil, fmt.Errorf("audit log: Options.MaxBatch %d: must be 0 (default) or positive", opts.MaxBatch)
	}
	key := opts.Key
	if key.Signer == nil {
		if opts.Dir == "" {
			return nil, errors.New("audit log: Options.Dir is required to keep the signing key (or set Options.Key)")
		}
		var err error
		if key, err = LoadOrCreateKey(opts.Dir, opts.KeyName); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
	}
	v, err := key.Verifier()
	if err != nil {
		return nil, fmt.Errorf("audit log: verifier key: %w", err)
	}
	l := &Log{
		store: opts.Store, key: key, verifier: v, clock: opts.Clock, log: opts.Logger,
		every: opts.CheckpointEvery, interval: opts.CheckpointInterval, pubs: opts.Publishers,
		maxBatch: opts.MaxBatch,
		done:     make(chan struct{}), ops: make(chan func()), stop: make(chan struct{}),
	}
	if l.clock == nil {
		l.clock = realClock{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "audit")
	if l.every == 0 {
		l.every = DefaultCheckpointEvery
	}
	if l.interval == 0 {
		l.interval = DefaultCheckpointInterval
	}
	if l.maxBatch == 0 {
		l.maxBatch = DefaultMaxBatch
	}
	l.reqs = make(chan *request, l.maxBatch)
	l.pool.New = func() any { return &request{done: make(chan error, 1), buf: make([]byte, 0, 1024)} }
	err = opts.Store.Checkpoints(ctx, 0, func(c Checkpoint) error {
		if c.Size >= l.lastCP.Size {
			l.setLastCP(c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: read checkpoints: %w", err)
	}
	if l.lastCP.Note == nil {
		l.lastCP.Time = l.clock.Now() // the interval runs from the start
	}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.slots = make(chan *committer, committers)
	for range committers {
		l.slots <- &committer{sha: sha256.New()}
		l.cwg.Go(l.commitLoop)
	}
	go l.run()
	return l, nil
}

// VerifierKey returns the public key that checks this log's checkpoints
// and proofs ("name+hash+base64").
func (l *Log) VerifierKey() string { return l.key.VerifierKey }

// Verifier returns the verifier of this log's checkpoints.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Append records e and returns once it is durable. It assigns e.Seq,
// e.PrevHash and e.Hash, and e.Time when zero (always converted to UTC);
// the other fields are recorded as given, Args in canonical form (redact
// them first, see Redact). On any error nothing is recorded and e is
// unchanged, and the action e describes must be denied: an invalid event
// (ErrInvalidEvent), a closed log (ErrClosed), ctx done before a committer
// took the event, or a store failure. Once a committer has taken the event,
// Append waits for the outcome of its transaction even if ctx ends, so
// that an event is never recorded for an Append that reported failure.
func (l *Log) Append(ctx context.Context, e *Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	if e == nil {
		return fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("%w: kind: unknown kind %q", ErrInvalidEvent, e.Kind)
	}
	r := l.pool.Get().(*request)
	r.ev = *e
	if r.ev.Time.IsZero() {
		r.ev.Time = l.clock.Now()
	}
	r.ev.Time = r.ev.Time.UTC()
	r.ev.Seq, r.ev.PrevHash, r.ev.Hash = 0, GenesisHash, ""
	buf, _, err := appendEvent(r.buf[:0], &r.ev, false)
	if err != nil {
		l.pool.Put(r)
		return fmt.Errorf("audit append: %w", err)
	}
	r.buf = buf
	// The members after prev_hash (seq, session_id, time, tool, trace_id)
	// are numbers and JCS strings, which cannot contain this text.
	r.prefix = bytes.LastIndex(buf, prevHashMember) + len(prevHashMember)
	r.state.Store(queued)

	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		l.pool.Put(r)
		return fmt.Errorf("audit append: %w", ErrClosed)
	}
	var werr error
	select {
	case c := <-l.slots:
		// A transaction slot is free: commit here, with whatever else is
		// queued, rather than hand the event to a committer goroutine and
		// wait to be woken. Close waits for this (it takes mu).
		r.state.Store(claimed)
		c.batch = append(c.batch[:0], r)
		l.commit(c)
		l.slots <- c
		l.mu.RUnlock()
		werr = <-r.done // buffered: commit has answered
	default:
		l.reqs <- r
		l.mu.RUnlock()
		select {
		case werr = <-r.done:
		case <-ctx.Done():
			if r.state.CompareAndSwap(queued, abandoned) {
				// The writer will skip it and drop it; it is not reused.
				return fmt.Errorf("audit append: %w", ctx.Err())
			}
			werr = <-r.done
		}
	}
	if werr == nil {
		e.Seq, e.Time, e.PrevHash, e.Hash = r.ev.Seq, r.ev.Time, r.ev.PrevHash, r.ev.Hash
	}
	r.ev = Event{}
	l.pool.Put(r)
	if werr != nil {
		return fmt.Errorf("audit append: %w", werr)
	}
	return nil
}

var prevHashMember = []byte(`,"prev_hash":"`)

// seqMember follows the prev_hash digits.
const seqMember = `","seq":`

// run is the control goroutine: it runs ops, and writes checkpoints when
// they are due and on Close.
func (l *Log) run() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.interval > 0 {
		t := time.NewTicker(l.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.stop:
			l.cpMu.Lock()
			if _, err := l.checkpoint(l.ctx, false); err != nil {
				l.log.LogAttrs(l.ctx, slog.LevelError, "final checkpoint", slog.String("error", err.Error()))
			}
			l.cpMu.Unlock()
			return
		case op := <-l.ops:
			l.cpMu.Lock()
			op()
			l.cpMu.Unlock()
		case <-tick:
			l.cpMu.Lock()
			l.maybeCheckpoint()
			l.cpMu.Unlock()
		}
	}
}

// commitLoop is a committer goroutine. It waits for a queued append and,
// once it holds a transaction slot, commits it in one store transaction
// together with every append queued by the time the transaction holds the
// store's write lock (see seal). Two slots pipeline: while one
// transaction waits for its flush, the next one writes.
func (l *Log) commitLoop() {
	for r := range l.reqs {
		if !r.state.CompareAndSwap(queued, claimed) {
			continue // abandoned by its caller
		}
		c := <-l.slots
		c.batch = append(c.batch[:0], r)
		l.commit(c)
		l.slots <- c
	}
}

// commit runs one store transaction for c.batch, which seal extends, and
// answers each request.
func (l *Log) commit(c *committer) {
	var end [32]byte // the chain hash after the batch
	err := l.store.Append(l.ctx, func(head Head, hr tlog.HashReader) ([]Record, error) {
		l.drain(c)
		var err error
		end, err = l.seal(c, head, hr)
		return c.records, err
	})
	if err != nil {
		l.log.LogAttrs(l.ctx, slog.LevelError, "append batch", slog.Int("events", len(c.batch)), slog.String("error", err.Error()))
	} else if l.every > 0 && c.tree.size >= l.lastCPSize.Load()+uint64(l.every) {
		l.countCheckpoint(c, end)
	}
	for _, r := range c.batch {
		r.done <- err
	}
	clear(c.batch)
	c.batch = c.batch[:0]
	clear(c.records)
	c.records = c.records[:0]
}

// countCheckpoint writes the checkpoint due by CheckpointEvery at the end
// of c's batch, which is durable, before its appends are answered (so a
// sequential appender sees checkpoints at exact multiples). The tree and
// chain hash are the batch's own, so no store read is needed. When a
// checkpoint or prune is running already it leaves the checkpoint to the
// next batch rather than delay this one.
func (l *Log) countCheckpoint(c *committer, end [32]byte) {
	if !l.cpMu.TryLock() {
		return
	}
	defer l.cpMu.Unlock()
	if c.tree.size < l.lastCP.Size+uint64(l.every) {
		return
	}
	cp := Checkpoint{Size: c.tree.size, Root: c.tree.root(), Chain: end, Time: l.clock.Now().UTC()}
	if err := l.storeCheckpoint(l.ctx, &cp); err != nil {
		l.log.LogAttrs(l.ctx, slog.LevelError, "periodic checkpoint", slog.String("error", err.Error()))
	}
}

// drain adds to c.batch the appends queued now, up to MaxBatch.
func (l *Log) drain(c *committer) {
	for len(c.batch) < l.maxBatch {
		select {
		case r, ok := <-l.reqs:
			if !ok {
				return
			}
			if r.state.CompareAndSwap(queued, claimed) {
				c.batch = append(c.batch, r)
			}
		default:
			return
		}
	}
}

// seal assigns sequence numbers, hashes and tree hashes to c.batch after
// head, filling c.records, and caches the tree after them. It runs under
// the store's write lock.
func (l *Log) seal(c *committer, head Head, hr tlog.HashReader) ([32]byte, error) {
	c.records = c.records[:0]
	if head.Size+uint64(len(c.batch)) > maxSafeInt {
		return [32]byte{}, errors.New("sequence numbers exhausted")
	}
	l.treeMu.Lock()
	cached := l.treeOK && l.tree.size == head.Size && l.treeHash == head.Hash
	if cached {
		c.tree.size = l.tree.size
		c.tree.hashes = append(c.tree.hashes[:0], l.tree.hashes...)
	}
	l.treeOK = false // until this batch is sealed
	l.treeMu.Unlock()
	if !cached {
		f, err := loadFrontier(head.Size, hr)
		if err != nil {
			return [32]byte{}, err
		}
		c.tree.size = f.size
		c.tree.hashes = append(c.tree.hashes[:0], f.hashes...)
	}
	// One arena for every record's Data and TreeHashes, sized up front
	// so that slices into it stay valid: a leaf adds at most 64 hashes.
	need := 0
	for _, r := range c.batch {
		need += len(r.buf) + 20 + 65*32
	}
	if cap(c.arena) < need {
		c.arena = make([]byte, 0, need+need/4)
	}
	arena := c.arena[:0]
	prev := head.Hash
	var hx [128]byte // an event's PrevHash and Hash digits
	for i, r := range c.batch {
		seq := head.Size + uint64(i)
		encodeHashTo(hx[:64], prev)
		suffix := r.buf[r.prefix+64+len(seqMember)+1:] // after `seq":0`
		start := len(arena)
		arena = append(arena, r.buf[:r.prefix]...)
		arena = append(arena, hx[:64]...)
		arena = append(arena, seqMember...)
		arena = strconv.AppendUint(arena, seq, 10)
		arena = append(arena, suffix...)
		data := arena[start:len(arena):len(arena)]
		c.sha.Reset()
		c.sha.Write(prev[:])
		c.sha.Write(data)
		var h [32]byte
		c.sha.Sum(h[:0])
		encodeHashTo(hx[64:], h)
		start = len(arena)
		arena = c.tree.push(arena, LeafHash(h))
		c.records = append(c.records, Record{Seq: seq, Data: data, Hash: h, TreeHashes: arena[start:len(arena):len(arena)], Event: &r.ev})
		hexes := string(hx[:]) // one allocation for both strings
		r.ev.Seq, r.ev.PrevHash, r.ev.Hash = seq, hexes[:64], hexes[64:]
		prev = h
	}
	c.arena = arena[:0]
	l.treeMu.Lock()
	l.tree.size = c.tree.size
	l.tree.hashes = append(l.tree.hashes[:0], c.tree.hashes...)
	l.treeHash, l.treeOK = prev, true
	l.treeMu.Unlock()
	return prev, nil
}

// encodeHashTo writes h as 64 hex digits to dst.
func encodeHashTo(dst []byte, h [32]byte) {
	for i, b := range h {
		dst[2*i] = hexDigits[b>>4]
		dst[2*i+1] = hexDigits[b&0xf]
	}
}

// maybeCheckpoint writes a checkpoint when CheckpointEvery events were
// appended or CheckpointInterval passed since the last one.
func (l *Log) maybeCheckpoint() {
	l.treeMu.Lock()
	size, ok := l.tree.size, l.treeOK
	l.treeMu.Unlock()
	if !ok || size <= l.lastCP.Size {
		return // nothing appended since the last checkpoint
	}
	due := l.every > 0 && size-l.lastCP.Size >= uint64(l.every)
	if !due && l.interval > 0 {
		due = l.clock.Now().Sub(l.lastCP.Time) >= l.interval
	}
	if !due {
		return
	}
	if _, err := l.checkpoint(l.ctx, false); err != nil {
		l.log.LogAttrs(l.ctx, slog.LevelError, "periodic checkpoint", slog.String("error", err.Error()))
	}
}

// checkpoint signs, stores and publishes a checkpoint of the committed
// head. Unless force, it writes none when the last one has the same size.
func (l *Log) checkpoint(ctx context.Context, force bool) (Checkpoint, error) {
	head, err := l.store.Head(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	if !force && head.Size == l.lastCP.Size && l.lastCP.Note != nil {
		return l.lastCP, nil
	}
	c := Checkpoint{Size: head.Size, Chain: head.Hash, Time: l.clock.Now().UTC()}
	l.treeMu.Lock()
	cached := l.treeOK && l.tree.size == head.Size && l.treeHash == head.Hash
	if cached {
		c.Root = l.tree.root()
	}
	l.treeMu.Unlock()
	if !cached {
		f, err := loadFrontier(head.Size, storeHashReader{ctx, l.store})
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
		}
		c.Root = f.root()
	}
	err = l.storeCheckpoint(ctx, &c)
	if c.Note == nil {
		return Checkpoint{}, err
	}
	return c, err // stored; err, if any, is a publishing failure
}

// storeCheckpoint signs, stores and publishes c. It sets c.Note only once
// c is stored, so an error with c.Note set is a publishing failure. It
// runs under cpMu.
func (l *Log) storeCheckpoint(ctx context.Context, c *Checkpoint) error {
	sc := *c
	if err := signCheckpoint(l.key.Signer, &sc); err != nil {
		return err
	}
	if err := l.store.AddCheckpoint(ctx, sc); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	*c = sc
	if c.Size >= l.lastCP.Size {
		l.setLastCP(sc)
	}
	l.log.LogAttrs(ctx, slog.LevelDebug, "checkpoint", slog.Uint64("size", c.Size))
	return l.publish(ctx, sc)
}

// setLastCP records c as the latest checkpoint.
func (l *Log) setLastCP(c Checkpoint) {
	l.lastCP = c
	l.lastCPSize.Store(c.Size)
}

// publish sends c to every publisher, joining their errors.
func (l *Log) publish(ctx context.Context, c Checkpoint) error {
	var errs []error
	for _, p := range l.pubs {
		if err := p.Publish(ctx, c); err != nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "publish checkpoint", slog.Uint64("size", c.Size), slog.String("error", err.Error()))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// do runs op on the control goroutine, under cpMu, and waits for it.
func (l *Log) do(ctx context.Context, op func()) error {
	done := make(chan struct{})
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.ops <- func() { defer close(done); op() }:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	<-done
	return nil
}

// Checkpoint writes, signs, stores and publishes a checkpoint of the log
// as it is now, and returns it.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	var c Checkpoint
	var err error
	if derr := l.do(ctx, func() { c, err = l.checkpoint(ctx, true) }); derr != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint: %w", derr)
	}
	return c, err
}

// Prove returns an inclusion proof of event seq against the latest
// checkpoint, writing a checkpoint first if none covers seq yet.
func (l *Log) Prove(ctx context.Context, seq uint64) (*Proof, error) {
	p, err := Prove(ctx, l.store, seq)
	if errors.Is(err, ErrNotCovered) {
		if _, err := l.Checkpoint(ctx); err != nil {
			return nil, err
		}
		p, err = Prove(ctx, l.store, seq)
	}
	return p, err
}

// Verify checks the whole log with this log's key; see the function Verify.
func (l *Log) Verify(ctx context.Context, opts VerifyOptions) (VerifyResult, error) {
	return Verify(ctx, l.store, l.verifier, opts)
}

// Query calls fn for each event matching q; see Store.Query.
func (l *Log) Query(ctx context.Context, q Query, fn func(*Event) error) error {
	return l.store.Query(ctx, q, fn)
}

// Prune deletes the events before seq before, keeping a signed anchor so
// that what remains still verifies. It first verifies the whole log and
// refuses to prune one that fails (pruning must not bless tampering). The
// anchor holds the hash of event before-1 (where the chain resumes), the
// roots of the complete Merkle subtrees covering [0, before) (from which
// the tree, its later roots and every later proof are computed) and a
// checkpoint signed at size before that binds both; it is also published.
// Checkpoints smaller than before are deleted with the events.
func (l *Log) Prune(ctx context.Context, before uint64) (Anchor, error) {
	var a Anchor
	var err error
	if derr := l.do(ctx, func() { a, err = l.prune(ctx, before) }); derr != nil {
		return Anchor{}, fmt.Errorf("audit prune: %w", derr)
	}
	return a, err
}

func (l *Log) prune(ctx context.Context, before uint64) (Anchor, error) {
	head, err := l.store.Head(ctx)
	if err != nil {
		return Anchor{}, fmt.Errorf("audit prune: %w", err)
	}
	if before > head.Size {
		return Anchor{}, fmt.Errorf("audit prune: before %d is beyond the log's end (%d events)", before, head.Size)
	}
	if before <= head.Start {
		return Anchor{}, fmt.Errorf("audit prune: events before %d are already pruned (first retained: %d)", before, head.Start)
	}
	if _, err := Verify(ctx, l.store, l.verifier, VerifyOptions{}); err != nil {
		return Anchor{}, fmt.Errorf("audit prune: refusing to prune a log that fails verification: %w", err)
	}
	hr := storeHashReader{ctx, l.store}
	f, err := loadFrontier(before, hr)
	if err != nil {
		return Anchor{}, fmt.Errorf("audit prune: %w", err)
	}
	a := Anchor{Size: before, Frontier: f.indexed()}
	err = l.store.Scan(ctx, before-1, before, func(r *Record) error {
		a.Hash = r.Hash
		return nil
	})
	if err != nil {
		return Anchor{}, fmt.Errorf("audit prune: %w", err)
	}
	a.Checkpoint = Checkpoint{Size: before, Root: f.root(), Chain: a.Hash, Time: l.clock.Now().UTC()}
	if err := signCheckpoint(l.key.Signer, &a.Checkpoint); err != nil {
		return Anchor{}, err
	}
	if err := l.store.Prune(ctx, a); err != nil {
		return Anchor{}, fmt.Errorf("audit prune: %w", err)
	}
	if before >= l.lastCP.Size {
		l.setLastCP(a.Checkpoint)
	}
	l.log.LogAttrs(ctx, slog.LevelInfo, "pruned", slog.Uint64("before", before))
	return a, l.publish(ctx, a.Checkpoint)
}

// Close stops accepting appends, commits those queued, writes a final
// checkpoint if events were appended since the last one, and stops the
// writer. It does not close the Store. Calling it again returns nil.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.mu.Unlock()
	l.cwg.Wait() // the queued appends are committed
	close(l.stop)
	<-l.done
	l.cancel()
	return nil
}

// storeHashReader reads tree hashes from a store under a context.
type storeHashReader struct {
	ctx context.Context
	s   Store
}

func (r storeHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return r.s.ReadHashes(r.ctx, indexes)
}
