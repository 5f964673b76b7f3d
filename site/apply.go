package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"laned/store"
)

// applier follows one other member's stream and applies its entries.
type applier struct {
	n      *Node
	origin string
	// idleSeq is the cursor seen at the last catch-up check, to tell an
	// idle consumer from a busy one.
	idleSeq uint64
	// last is the cursor after the last apply, to tell OnApplied only
	// of batches that moved it.
	last uint64
}

var (
	// errRestart asks run to follow again from the store's cursor.
	errRestart = errors.New("site: restart consumer")
	// errStore marks the store's refusals (an entry it finds invalid, a
	// disk error): replication from that origin stops there, loudly,
	// and is tried again.
	errStore = errors.New("site: apply")
)

func (a *applier) run() {
	defer a.n.wg.Done()
	refused := 0 // the store's refusals in a row: retried less and less often
	for {
		err := a.follow()
		if a.n.ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRestart) {
			continue
		}
		wait := retryEvery
		if errors.Is(err, errStore) {
			a.n.log.Error("site: applier", "origin", a.origin, "err", err)
			wait <<= min(refused, 6)
			refused++
		} else {
			a.n.log.Debug("site: applier", "origin", a.origin, "err", err)
			refused = 0
		}
		if !a.n.wait(wait) {
			return
		}
	}
}

func (a *applier) cursor() (store.ReplCursor, error) {
	cs, err := a.n.st.ReplCursors()
	if err != nil {
		return store.ReplCursor{}, err
	}
	for _, c := range cs {
		if c.Origin == a.origin {
			return c, nil
		}
	}
	return store.ReplCursor{Origin: a.origin}, nil
}

// follow consumes the origin's stream, in the origin's domain, from the
// stream sequence after the cursor (the whole stream when the cursor's
// last entry came from a fetch), until an error or Close. The ordered
// consumer re-creates itself after a partition.
func (a *applier) follow() error {
	ctx := a.n.ctx
	cur, err := a.cursor()
	if err != nil {
		return fmt.Errorf("cursor: %w", err)
	}
	js, err := jetstream.NewWithDomain(a.n.nc, a.origin)
	if err != nil {
		return err
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{replSubject(a.origin)},
		InactiveThreshold: time.Minute,
	}
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	start, err := a.startSeq(cctx, js, cur)
	if err != nil {
		return err
	}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	cons, err := js.OrderedConsumer(cctx, StreamName(a.origin), cfg)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	msgs := make(chan jetstream.Msg, batchMax)
	stop := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-stop:
		}
	}, jetstream.PullMaxMessages(batchMax), jetstream.PullExpiry(5*time.Second),
		// A missed heartbeat or two tells the consumer its origin's
		// server restarted or the link went: it re-creates itself.
		jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			a.n.log.Debug("site: consumer", "origin", a.origin, "err", err)
		}))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer func() {
		close(stop)
		cc.Stop()
		<-cc.Closed()
	}()
	a.n.log.Debug("site: following", "origin", a.origin, "cursor", cur.Seq, "stream", cur.Stream)
	a.idleSeq, a.last = 0, cur.Seq
	for {
		t := a.n.cfg.Clock.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case m := <-msgs:
			t.Stop()
			batch := []jetstream.Msg{m}
		drain:
			for len(batch) < batchMax {
				select {
				case m := <-msgs:
					batch = append(batch, m)
				default:
					break drain
				}
			}
			es, err := a.decode(batch)
			if err != nil {
				return err
			}
			if err := a.apply(ctx, es); err != nil {
				return err
			}
		case <-t.C():
			if err := a.catchUp(ctx); err != nil {
				return err
			}
		}
	}
}

// startSeq is the stream sequence to follow from: after the cursor's
// stream sequence (that of the last entry that came by the stream) while
// the stream still reaches it. When the cursor has none, or the stream is
// now shorter (the origin's stream was lost and began again), it is
// estimated from the stream's last entry (one message per entry): too
// early costs a few skipped entries, too late a gap, which is fetched.
func (a *applier) startSeq(ctx context.Context, js jetstream.JetStream, cur store.ReplCursor) (uint64, error) {
	if cur.Seq == 0 {
		return 1, nil
	}
	s, err := js.Stream(ctx, StreamName(a.origin))
	if err != nil {
		return 0, fmt.Errorf("stream: %w", err)
	}
	if cur.Stream > 0 && cur.Stream <= s.CachedInfo().State.LastSeq {
		return cur.Stream + 1, nil
	}
	m, err := s.GetLastMsgForSubject(ctx, replSubject(a.origin))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last entry: %w", err)
	}
	last, err := parseMsgID(a.origin, m.Header.Get(jetstream.MsgIDHeader))
	if err != nil {
		return 1, nil
	}
	if last <= cur.Seq {
		return m.Sequence + 1, nil
	}
	if behind := last - cur.Seq; behind < m.Sequence {
		return m.Sequence - behind + 1, nil
	}
	return 1, nil
}

func (a *applier) decode(ms []jetstream.Msg) ([]store.ReplEntry, error) {
	es := make([]store.ReplEntry, 0, len(ms))
	for _, m := range ms {
		e, err := decodeEntry(a.origin, m.Data())
		if err != nil {
			// Not ours to repair: an origin's stream carries only what
			// its publisher wrote. Skip it; a gap it hides is fetched.
			a.n.log.Error("site: bad entry in stream", "origin", a.origin, "subject", m.Subject(), "err", err)
			continue
		}
		if md, err := m.Metadata(); err == nil {
			e.Stream = md.Sequence.Stream
		}
		es = append(es, e)
	}
	return es, nil
}

// apply applies es (one origin's, in stream order), repairing a gap from
// the origin's store.
func (a *applier) apply(ctx context.Context, es []store.ReplEntry) error {
	slices.SortStableFunc(es, func(x, y store.ReplEntry) int { return cmpSeq(x.Seq, y.Seq) })
	for len(es) > 0 {
		res, err := a.applyUpToBad(es)
		if err != nil {
			return err
		}
		if !res.Gap {
			return nil
		}
		// Entries up to the gap were applied; fetch what is missing,
		// then go on with the rest of the batch.
		want := es[0].Seq
		for _, e := range es {
			if e.Seq > res.Cursor+1 {
				want = e.Seq
				break
			}
		}
		a.n.log.Info("site: gap; fetching from the origin", "origin", a.origin, "cursor", res.Cursor, "next", want)
		if err := a.repair(ctx, res.Cursor, want-1); err != nil {
			return err
		}
		es = slices.DeleteFunc(es, func(e store.ReplEntry) bool { return e.Seq < want })
	}
	return nil
}

// applyUpToBad applies es; when the store refuses the batch for an
// invalid entry (it then applies none of it), the entries before the bad
// one are applied one by one, so that replication stops exactly at it.
func (a *applier) applyUpToBad(es []store.ReplEntry) (store.ApplyResult, error) {
	res, err := a.n.st.ApplyRepl(a.origin, es)
	if err == nil {
		a.moved(res)
		return res, nil
	}
	if !errors.Is(err, store.ErrInvalid) || len(es) == 1 {
		return res, fmt.Errorf("%w: %w", errStore, err)
	}
	for _, e := range es {
		r, err := a.n.st.ApplyRepl(a.origin, []store.ReplEntry{e})
		if err != nil {
			return r, fmt.Errorf("%w: %w", errStore, err)
		}
		a.moved(r)
		if r.Gap {
			return r, nil
		}
	}
	return res, fmt.Errorf("%w: %w", errStore, err)
}

func cmpSeq(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// moved reports an applied batch to OnApplied when the cursor moved.
func (a *applier) moved(res store.ApplyResult) {
	if res.Cursor <= a.last {
		return
	}
	a.last = res.Cursor
	a.n.applied(res)
}

// repair fetches the origin's entries after cursor up to through (0:
// everything the origin has) from the origin's store and applies them.
func (a *applier) repair(ctx context.Context, cursor, through uint64) error {
	for through == 0 || cursor < through {
		es, err := a.fetch(ctx, cursor)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			if through == 0 {
				return nil
			}
			return fmt.Errorf("fetch after %d: the origin has nothing more", cursor)
		}
		res, err := a.n.st.ApplyRepl(a.origin, es)
		if err != nil {
			return fmt.Errorf("%w (fetched): %w", errStore, err)
		}
		a.moved(res)
		if res.Gap || res.Cursor <= cursor {
			return fmt.Errorf("fetch after %d: the origin's entries do not follow (cursor %d)", cursor, res.Cursor)
		}
		cursor = res.Cursor
	}
	return nil
}

// catchUp runs when the stream was quiet for a poll period: if the
// origin's heartbeat says it published entries this box has not applied
// and the cursor did not move since the last check, the stream is not
// going to bring them (the origin's stream restarted behind this
// consumer): fetch them and follow again.
func (a *applier) catchUp(ctx context.Context) error {
	h, ok := a.n.hello(a.origin)
	if !ok {
		return nil
	}
	cur, err := a.cursor()
	if err != nil {
		return fmt.Errorf("cursor: %w", err)
	}
	if h.Published <= cur.Seq {
		a.idleSeq = 0
		return nil
	}
	if a.idleSeq != cur.Seq {
		a.idleSeq = cur.Seq
		return nil
	}
	a.n.log.Info("site: stream quiet behind the origin; fetching", "origin", a.origin,
		"cursor", cur.Seq, "published", h.Published)
	if err := a.repair(ctx, cur.Seq, h.Published); err != nil {
		return err
	}
	return errRestart
}

// fetchReq is the body of a laned.fetch.<box> request.
type fetchReq struct {
	After uint64 `json:"after"`
	Max   int    `json:"max"`
}

// fetchBytes bounds a fetch answer below the server's max payload.
const fetchBytes = 512 << 10

func (a *applier) fetch(ctx context.Context, after uint64) ([]store.ReplEntry, error) {
	req, _ := json.Marshal(fetchReq{After: after, Max: batchMax})
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	m, err := a.n.nc.RequestWithContext(ctx, fetchSubject(a.origin), req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s after %d: %w", a.origin, after, err)
	}
	if e := m.Header.Get(errHeader); e != "" {
		return nil, fmt.Errorf("fetch %s after %d: %s", a.origin, after, e)
	}
	es, err := decodeFetched(a.origin, after, m.Data)
	if err != nil {
		return nil, fmt.Errorf("fetch %s after %d: %w", a.origin, after, err)
	}
	return es, nil
}

// decodeFetched reads a fetch answer: origin's entries after after, in
// increasing Seq.
func decodeFetched(origin string, after uint64, data []byte) ([]store.ReplEntry, error) {
	var es []store.ReplEntry
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, err
	}
	last := after
	for _, e := range es {
		if e.Origin != origin || e.Seq <= last {
			return nil, fmt.Errorf("entry %q/%d out of place", e.Origin, e.Seq)
		}
		last = e.Seq
	}
	return es, nil
}

// decodeFetchReq reads a fetch request.
func decodeFetchReq(data []byte) (fetchReq, error) {
	var req fetchReq
	if err := json.Unmarshal(data, &req); err != nil {
		return req, err
	}
	if req.Max <= 0 {
		return req, fmt.Errorf("fetch request: max %d", req.Max)
	}
	req.Max = min(req.Max, batchMax)
	return req, nil
}

// decodeEntry reads one message of origin's stream.
func decodeEntry(origin string, data []byte) (store.ReplEntry, error) {
	var e store.ReplEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return e, err
	}
	if e.Origin != origin || e.Seq == 0 {
		return e, fmt.Errorf("entry %q/%d in the stream of %s", e.Origin, e.Seq, origin)
	}
	return e, nil
}

// serveFetch answers laned.fetch.<box> from this box's store.
func (n *Node) serveFetch(m *nats.Msg) {
	req, err := decodeFetchReq(m.Data)
	if err != nil {
		n.log.Warn("site: bad fetch request", "err", err)
		respondErr(m, "bad fetch request")
		return
	}
	es, err := n.st.ReplOwn(req.After, req.Max)
	if err != nil {
		n.log.Error("site: fetch", "after", req.After, "err", err)
		respondErr(m, "store error")
		return
	}
	b, err := json.Marshal(es)
	for err == nil && len(b) > fetchBytes && len(es) > 1 {
		es = es[:len(es)/2]
		b, err = json.Marshal(es)
	}
	if err != nil {
		respondErr(m, "encode error")
		return
	}
	if es == nil {
		b = []byte("[]")
	}
	_ = m.Respond(b)
}

// errHeader carries a responder's error instead of a body.
const errHeader = "Laned-Error"

func respondErr(m *nats.Msg, msg string) {
	r := nats.NewMsg(m.Reply)
	r.Header.Set(errHeader, msg)
	_ = m.RespondMsg(r)
}
