package audit

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrNotCovered is returned by Prove when no checkpoint covers the event
// yet (it was appended after the latest checkpoint).
var ErrNotCovered = errors.New("no checkpoint covers the event yet")

// Proof is an inclusion proof: the event, the Merkle audit path from its
// leaf to the root of a signed checkpoint, and that checkpoint. Anyone
// with the log's public key checks it with VerifyProof; nothing else is
// needed. Its JSON form is what `agentos audit prove` prints.
type Proof struct {
	// Event is the proven event, hash included.
	Event Event `json:"event"`
	// TreeSize is the checkpoint's tree size.
	TreeSize uint64 `json:"tree_size"`
	// Path is the RFC 6962 audit path (tlog.RecordProof), base64 hashes.
	Path []tlog.Hash `json:"path"`
	// Checkpoint is the signed checkpoint note.
	Checkpoint string `json:"checkpoint"`
}

// Prove returns an inclusion proof of event seq against the latest stored
// checkpoint. It fails with ErrNotCovered when that checkpoint is older
// than the event.
func Prove(ctx context.Context, s Store, seq uint64) (*Proof, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	if seq < head.Start || seq >= head.Size {
		return nil, fmt.Errorf("prove: no event %d (the log holds [%d, %d))", seq, head.Start, head.Size)
	}
	var latest Checkpoint
	err = s.Checkpoints(ctx, seq+1, func(c Checkpoint) error {
		if c.Size >= latest.Size {
			latest = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	if latest.Size <= seq {
		return nil, fmt.Errorf("prove: event %d: %w", seq, ErrNotCovered)
	}
	var ev Event
	found := false
	err = s.Scan(ctx, seq, seq+1, func(r *Record) error {
		found = true
		ev, err = DecodeRecord(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("prove: event %d is missing from the store", seq)
	}
	path, err := tlog.ProveRecord(int64(latest.Size), int64(seq), storeHashReader{ctx, s})
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	return &Proof{Event: ev, TreeSize: latest.Size, Path: path, Checkpoint: string(latest.Note)}, nil
}

// VerifyProof checks p with only the log's verifier: the checkpoint's
// signature, that the event's hash is the hash of its content, and that
// its leaf is in the signed tree at position Event.Seq. Errors wrap
// ErrProof (and ErrCheckpoint for the checkpoint).
func VerifyProof(p *Proof, v note.Verifier) error {
	if p == nil {
		return fmt.Errorf("%w: no proof", ErrProof)
	}
	c, err := OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	if c.Size != p.TreeSize {
		return fmt.Errorf("%w: tree_size %d, but the checkpoint is signed at %d", ErrProof, p.TreeSize, c.Size)
	}
	if p.Event.Seq >= c.Size {
		return fmt.Errorf("%w: event seq %d is not below the tree size %d", ErrProof, p.Event.Seq, c.Size)
	}
	h, err := Hash(&p.Event)
	if err != nil {
		return fmt.Errorf("%w: event: %w", ErrProof, err)
	}
	if h != p.Event.Hash {
		return fmt.Errorf("%w: event %d: its hash does not match its content", ErrProof, p.Event.Seq)
	}
	raw, _ := decodeHash(h)
	if p.Event.Seq == c.Size-1 && raw != c.Chain {
		return fmt.Errorf("%w: event %d is the checkpoint's last but its hash is not the signed chain hash", ErrProof, p.Event.Seq)
	}
	if err := tlog.CheckRecord(p.Path, int64(c.Size), c.Root, int64(p.Event.Seq), LeafHash(raw)); err != nil {
		return fmt.Errorf("%w: event %d is not in the signed tree: %w", ErrProof, p.Event.Seq, err)
	}
	return nil
}
