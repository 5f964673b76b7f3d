package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"laned/store"
)

// msgID is an entry's Nats-Msg-Id: <box>/<seq>.
func msgID(box string, seq uint64) string { return box + "/" + strconv.FormatUint(seq, 10) }

// parseMsgID reads a Nats-Msg-Id of box's stream.
func parseMsgID(box, id string) (uint64, error) {
	b, s, ok := strings.Cut(id, "/")
	if !ok || b != box {
		return 0, fmt.Errorf("msg id %q: not of box %s", id, box)
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || seq == 0 || strconv.FormatUint(seq, 10) != s {
		// Only the canonical form msgID writes: "b/01" is not entry 1.
		return 0, fmt.Errorf("msg id %q: bad sequence", id)
	}
	return seq, nil
}

// publishLoop sends the box's own log to its stream, oldest first,
// advancing the published cursor on the stream's acks. It first
// reconciles the cursor with the stream, then wakes on each logged commit
// and on a fallback poll.
func (n *Node) publishLoop() {
	defer n.wg.Done()
	reconciled := false
	for {
		if !reconciled {
			if err := n.reconcile(n.ctx); err != nil {
				n.log.Warn("site: publisher: reconcile", "err", err)
			} else {
				reconciled = true
			}
		}
		if reconciled {
			sent, err := n.publishSome(n.ctx)
			if err != nil && n.ctx.Err() == nil {
				n.log.Warn("site: publisher", "err", err)
			}
			if sent > 0 && err == nil {
				continue
			}
		}
		t := n.cfg.Clock.NewTimer(pollEvery)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-n.st.ReplWake():
		case <-t.C():
		}
		t.Stop()
	}
}

// reconcile compares the stream's last entry with the published cursor.
// A stream behind the cursor lost acknowledged data (a power cut before
// NATS synced, a deleted store): the cursor goes back so that the rest is
// published again. A stream ahead of it (a crash between the ack and the
// cursor's write) moves the cursor forward.
func (n *Node) reconcile(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	info, err := n.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	_, published, err := n.st.ReplHead()
	if err != nil {
		return fmt.Errorf("head: %w", err)
	}
	var last uint64
	if info.State.LastSeq > 0 {
		m, err := n.stream.GetLastMsgForSubject(ctx, replSubject(n.cfg.Box))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			// Every entry aged out: the stream kept its sequence, so
			// nothing was lost.
			return nil
		case err != nil:
			return fmt.Errorf("last entry: %w", err)
		}
		if last, err = parseMsgID(n.cfg.Box, m.Header.Get(jetstream.MsgIDHeader)); err != nil {
			return fmt.Errorf("last entry: %w", err)
		}
	}
	switch {
	case last < published:
		n.log.Warn("site: stream lost entries; publishing them again",
			"stream", StreamName(n.cfg.Box), "stream_last", last, "published", published)
		return n.st.ResetReplPublished(last)
	case last > published:
		return n.st.SetReplPublished(last)
	}
	return nil
}

// publishSome publishes up to batchMax entries after the published
// cursor; it returns how many the stream acknowledged.
func (n *Node) publishSome(ctx context.Context) (int, error) {
	head, published, err := n.st.ReplHead()
	if err != nil || head <= published {
		return 0, err
	}
	es, err := n.st.ReplOwn(published, batchMax)
	if err != nil {
		return 0, fmt.Errorf("own log: %w", err)
	}
	sent := 0
	var acked uint64
	for _, e := range es {
		if err = n.publish(ctx, e); err != nil {
			break
		}
		sent++
		acked = e.Seq
	}
	if sent > 0 {
		if serr := n.st.SetReplPublished(acked); serr != nil {
			return sent, fmt.Errorf("published cursor: %w", serr)
		}
	}
	return sent, err
}

func (n *Node) publish(ctx context.Context, e store.ReplEntry) error {
	if e.Origin != n.cfg.Box {
		return fmt.Errorf("entry %d of %q in the log of %s", e.Seq, e.Origin, n.cfg.Box)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("entry %d: %w", e.Seq, err)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	id := msgID(n.cfg.Box, e.Seq)
	_, err = n.js.PublishMsg(ctx, &nats.Msg{Subject: replSubject(n.cfg.Box), Data: b},
		jetstream.WithMsgID(id), jetstream.WithExpectStream(StreamName(n.cfg.Box)))
	if err != nil {
		return fmt.Errorf("publish %s: %w", id, err)
	}
	return nil
}
