package server

import (
	"bufio"
	"net/http"
	"strconv"
	"time"
)

// handleEvents streams live events as Server-Sent Events: each as
// "id: N", "event: TYPE", "data: JSON". ?types=decision,approval keeps
// only those types. A comment line is sent every Options.Heartbeat; a
// subscriber that falls behind gets a final "dropped" event and the
// stream ends (reconnect to resume live).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	keep := map[string]bool{}
	if t := r.URL.Query().Get("types"); t != "" {
		for _, x := range splitComma(t) {
			switch x {
			case EventDecision, EventSignal, EventApproval, EventPolicyReload, EventLifecycle:
				keep[x] = true
			default:
				s.writeError(w, r, fieldErr("types", "unknown event type "+strconv.Quote(x)))
				return
			}
		}
	}
	sub := s.hub.Subscribe(s.opts.SubscriberQueue)
	defer sub.Cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The stream outlives any write deadline of the server.
	_ = rc.SetWriteDeadline(time.Time{})
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString("retry: 2000\n: connected\n\n")
	if bw.Flush() != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_, _ = bw.WriteString(": heartbeat\n\n")
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			if len(keep) > 0 && !keep[ev.Type] && ev.Type != EventDropped {
				continue
			}
			bw.WriteString("id: ")
			bw.WriteString(strconv.FormatUint(ev.ID, 10))
			bw.WriteString("\nevent: ")
			bw.WriteString(ev.Type)
			bw.WriteString("\ndata: ")
			bw.Write(ev.Data)
			bw.WriteString("\n\n")
			// Write what is queued in one flush.
			for n := len(sub.C()); n > 0; n-- {
				ev, ok = <-sub.C()
				if !ok {
					break
				}
				if len(keep) > 0 && !keep[ev.Type] && ev.Type != EventDropped {
					continue
				}
				bw.WriteString("id: " + strconv.FormatUint(ev.ID, 10) + "\nevent: " + ev.Type + "\ndata: ")
				bw.Write(ev.Data)
				bw.WriteString("\n\n")
			}
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}

// splitComma splits a comma list, dropping empty items.
func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
