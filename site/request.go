package site

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Serve answers requests on subject with h, one at a time, until Close.
// h's ctx is bounded by the request budget. An error of h reaches the
// requester as an error (not ErrUnreachable).
func (n *Node) Serve(subject string, h func(ctx context.Context, req []byte) ([]byte, error)) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return ErrClosed
	}
	_, err := n.nc.Subscribe(subject, func(m *nats.Msg) {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
		defer cancel()
		resp, err := h(ctx, m.Data)
		if err != nil {
			n.log.Warn("site: serve", "subject", subject, "err", err)
			respondErr(m, err.Error())
			return
		}
		if err := m.Respond(resp); err != nil {
			n.log.Debug("site: serve: respond", "subject", subject, "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("site: serve %s: %w", subject, err)
	}
	return nil
}

// Request asks whoever serves subject, within the request budget (and
// ctx). No responder, or no answer in time: ErrUnreachable.
func (n *Node) Request(ctx context.Context, subject string, req []byte) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	m, err := n.nc.RequestWithContext(rctx, subject, req)
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.Canceled):
		return nil, fmt.Errorf("site: request %s: %w", subject, ctx.Err())
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("site: request %s: %w (%v)", subject, ErrUnreachable, err)
	case errors.Is(err, nats.ErrConnectionClosed):
		return nil, ErrClosed
	default:
		return nil, fmt.Errorf("site: request %s: %w", subject, err)
	}
	if e := m.Header.Get(errHeader); e != "" {
		return nil, fmt.Errorf("site: request %s: %s", subject, e)
	}
	return m.Data, nil
}
