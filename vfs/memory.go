package vfs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Paths of the helper areas.
const (
	checkpointDir = "/state/checkpoints"
	episodicDir   = "/mem/episodic"
	workingDir    = "/mem/working"
)

type checkpoint struct {
	CheckpointID string          `json:"checkpoint_id"`
	Timestamp    string          `json:"timestamp"`
	AgentID      string          `json:"agent_id"`
	State        json.RawMessage `json:"state"`
}

func checkID(op, id string) error {
	if !validID(id) {
		return newError(op, id, ErrInvalidID, fmt.Sprintf("Invalid id %q: want 1 to 128 of A-Z a-z 0-9 . _ -, starting with a letter or digit", id))
	}
	return nil
}

// SaveCheckpoint writes /state/checkpoints/<id>.json holding {checkpoint_id,
// timestamp, agent_id, state} and returns its path. id must be a single
// safe path component (ErrInvalidID otherwise).
func (v *VFS) SaveCheckpoint(ctx context.Context, id string, state any) (string, error) {
	if err := checkID("checkpoint", id); err != nil {
		return "", err
	}
	raw, err := json.Marshal(state)
	if err != nil {
		return "", fmt.Errorf("encode checkpoint %s: %w", id, err)
	}
	p := checkpointDir + "/" + id + ".json"
	cp := checkpoint{CheckpointID: id, Timestamp: v.clock.Now().UTC().Format(isoLayout), AgentID: v.agentID, State: raw}
	if _, err := v.WriteJSON(ctx, p, cp); err != nil {
		return "", err
	}
	return p, nil
}

// LoadCheckpoint decodes the state saved under id into out.
func (v *VFS) LoadCheckpoint(ctx context.Context, id string, out any) error {
	if err := checkID("checkpoint", id); err != nil {
		return err
	}
	var cp checkpoint
	if err := v.ReadJSON(ctx, checkpointDir+"/"+id+".json", &cp); err != nil {
		return err
	}
	if err := json.Unmarshal(cp.State, out); err != nil {
		return fmt.Errorf("decode checkpoint %s state: %w", id, err)
	}
	return nil
}

// LogEpisodic writes /mem/episodic/<id>.json holding {event_id, timestamp,
// event} and returns its path. An empty id is the UTC time as
// 20060102-150405-000000 (the reference's format); if that file exists a
// suffix "-2", "-3", ... is added rather than overwriting it.
func (v *VFS) LogEpisodic(ctx context.Context, event any, id string) (string, error) {
	now := v.clock.Now().UTC()
	if id == "" {
		id = now.Format("20060102-150405") + "-" + fmt.Sprintf("%06d", now.Nanosecond()/1000)
		unique := id
		for n := 2; ; n++ {
			ok, err := v.Exists(ctx, episodicDir+"/"+unique+".json")
			if err != nil {
				return "", err
			}
			if !ok {
				break
			}
			if n > 1000 {
				return "", newError("log_episodic", id, ErrNoSpace, "Too many events with id "+id)
			}
			unique = id + "-" + strconv.Itoa(n)
		}
		id = unique
	}
	if err := checkID("log_episodic", id); err != nil {
		return "", err
	}
	p := episodicDir + "/" + id + ".json"
	doc := struct {
		EventID   string `json:"event_id"`
		Timestamp string `json:"timestamp"`
		Event     any    `json:"event"`
	}{id, now.Format(isoLayout), event}
	if _, err := v.WriteJSON(ctx, p, doc); err != nil {
		return "", err
	}
	return p, nil
}

// WorkingMemory returns the direct children of /mem/working by name: a
// *.json file decoded, any other valid UTF-8 file as a string, anything
// else as "<binary: N bytes>", and a subdirectory as "<directory>" (the
// reference reported "<binary: …>" for those too, with no meaningful size).
func (v *VFS) WorkingMemory(ctx context.Context) (map[string]any, error) {
	names, err := v.List(ctx, workingDir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(names))
	for _, name := range names {
		p := workingDir + "/" + name
		st, err := v.Stat(ctx, p)
		if err != nil {
			return nil, err
		}
		if st.Type == DIRECTORY {
			out[name] = "<directory>"
			continue
		}
		data, err := v.Read(ctx, p)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(name, ".json") {
			var val any
			if json.Unmarshal(data, &val) == nil {
				out[name] = val
				continue
			}
		}
		if utf8.Valid(data) {
			out[name] = string(data)
			continue
		}
		out[name] = "<binary: " + strconv.Itoa(len(data)) + " bytes>"
	}
	return out, nil
}

// ClearWorkingMemory deletes the files directly in /mem/working and returns
// how many; subdirectories are left alone, as in the reference.
func (v *VFS) ClearWorkingMemory(ctx context.Context) (int, error) {
	names, err := v.List(ctx, workingDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		p := workingDir + "/" + name
		st, err := v.Stat(ctx, p)
		if err != nil {
			return n, err
		}
		if st.Type == DIRECTORY {
			continue
		}
		ok, err := v.Delete(ctx, p)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}
