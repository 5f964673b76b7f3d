package site_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"laned/internal/progress"
	"laned/site"
	"laned/store"
)

func TestServeAndRequest(t *testing.T) {
	s := newSite(t, func(c *site.Config) { c.RequestTimeout = 2 * time.Second }, "a", "b")
	a, b := s.boxes[0], s.boxes[1]
	if err := b.node.Serve("laned.exit.5.calc", func(ctx context.Context, req []byte) ([]byte, error) {
		if string(req) == "fail" {
			return nil, errors.New("no such record")
		}
		return []byte("calc:" + string(req)), nil
	}); err != nil {
		t.Fatal(err)
	}
	// The subscription's interest crosses the leafnode shortly after
	// Serve: until then nobody answers, which is what the caller sees.
	var got []byte
	progress.Until(t, "b's answer at a", func() bool {
		r, err := a.node.Request(context.Background(), "laned.exit.5.calc", []byte("su-A12345"))
		got = r
		return err == nil
	}, nil)
	if string(got) != "calc:su-A12345" {
		t.Fatalf("Request = %q; want calc:su-A12345", got)
	}

	_, err := a.node.Request(context.Background(), "laned.exit.5.calc", []byte("fail"))
	if err == nil || errors.Is(err, site.ErrUnreachable) || !strings.Contains(err.Error(), "no such record") {
		t.Fatalf("Request(fail) = %v; want the handler's error", err)
	}
	_, err = a.node.Request(context.Background(), "laned.exit.6.calc", nil)
	if !errors.Is(err, site.ErrUnreachable) {
		t.Fatalf("Request(nobody serves) = %v; want ErrUnreachable", err)
	}

	// A cut link: the owner is unreachable.
	b.proxy.Cut()
	progress.Until(t, "ErrUnreachable across the cut", func() bool {
		_, err := a.node.Request(context.Background(), "laned.exit.5.calc", []byte("x"))
		return errors.Is(err, site.ErrUnreachable)
	}, nil)
	b.proxy.Restore()
	progress.Until(t, "b's answer after the restore", func() bool {
		_, err := a.node.Request(context.Background(), "laned.exit.5.calc", []byte("x"))
		return err == nil
	}, nil)

	// A canceled caller gets its own error, not ErrUnreachable.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.node.Request(ctx, "laned.exit.5.calc", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Request(canceled) = %v; want context.Canceled", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	// A handler slower than the budget: the caller gets ErrUnreachable.
	s := newSite(t, func(c *site.Config) { c.RequestTimeout = 50 * time.Millisecond }, "a")
	a := s.boxes[0]
	release := make(chan struct{})
	defer close(release)
	if err := a.node.Serve("laned.entry.1.novpln", func(ctx context.Context, req []byte) ([]byte, error) {
		<-release
		return []byte("late"), nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.node.Request(context.Background(), "laned.entry.1.novpln", nil); !errors.Is(err, site.ErrUnreachable) {
		t.Fatalf("Request(slow handler) = %v; want ErrUnreachable", err)
	}
}

func TestStatus(t *testing.T) {
	s := newSite(t, nil, "a", "b", "c")
	a, b := s.boxes[0], s.boxes[1]
	b.node.SetLanes([]int{1, 3}, []int{2})
	b.commit(4)
	s.waitConverged("entries applied")

	member := func(st site.Status, box string) site.MemberStatus {
		for _, m := range st.Members {
			if m.Box == box {
				return m
			}
		}
		t.Fatalf("Status of %s has no member %s: %+v", st.Box, box, st)
		return site.MemberStatus{}
	}
	progress.Until(t, "a sees b's lanes and head", func() bool {
		m := member(a.node.Status(), "b")
		return m.Reachable && m.Head == 4 && m.Published == 4 && slices.Equal(m.Entries, []int{1, 3}) &&
			slices.Equal(m.Exits, []int{2})
	}, nil)
	st := a.node.Status()
	if st.Box != "a" || !st.Gateway || len(st.Members) != 2 || st.Leafnodes != 2 {
		t.Fatalf("a's Status = %+v; want box a, gateway, 2 members, 2 leafnodes", st)
	}
	if m := member(st, "b"); m.Cursor.Seq != 4 || m.Lag != 0 || m.LagTime != 0 || m.Cursor.Stream != 4 {
		t.Fatalf("a's view of b = %+v; want cursor 4 (stream 4), no lag", m)
	}
	if m := member(b.node.Status(), "a"); !m.Gateway {
		t.Fatalf("b's view of a = %+v; want gateway", m)
	}

	b.proxy.Cut()
	b.commit(3)
	progress.Until(t, "b unreachable at a", func() bool { return !member(a.node.Status(), "b").Reachable }, nil)
	progress.Until(t, "b sees nobody", func() bool {
		st := b.node.Status()
		return st.Leafnodes == 0 && !member(st, "a").Reachable && !member(st, "c").Reachable
	}, nil)
	b.proxy.Restore()
	progress.Until(t, "b reachable again", func() bool { return member(a.node.Status(), "b").Reachable }, nil)
	s.waitConverged("after the restore")
	if m := member(a.node.Status(), "b"); m.Cursor.Seq != 7 || m.Lag != 0 {
		t.Fatalf("a's view of b = %+v; want cursor 7, no lag", m)
	}
}

func TestFetchService(t *testing.T) {
	s := newSite(t, func(c *site.Config) { c.RequestTimeout = 2 * time.Second }, "a", "b")
	a, b := s.boxes[0], s.boxes[1]
	b.commit(5)
	var got []store.ReplEntry
	progress.Until(t, "b's fetch answer at a", func() bool {
		r, err := a.node.Request(context.Background(), "laned.fetch.b", []byte(`{"after":1,"max":3}`))
		if err != nil {
			return false
		}
		if err := json.Unmarshal(r, &got); err != nil {
			t.Fatalf("fetch answer %q: %v", r, err)
		}
		return true
	}, nil)
	if len(got) != 3 || got[0].Seq != 2 || got[2].Seq != 4 || got[0].Origin != "b" {
		t.Fatalf("fetch after 1 max 3 = %+v; want b's entries 2..4", got)
	}
	r, err := a.node.Request(context.Background(), "laned.fetch.b", []byte(`{"after":5,"max":3}`))
	if err != nil || string(r) != "[]" {
		t.Fatalf("fetch after the head = %q, %v; want []", r, err)
	}
	for _, bad := range []string{`junk`, `{"after":1}`, `{"after":1,"max":-2}`} {
		_, err := a.node.Request(context.Background(), "laned.fetch.b", []byte(bad))
		if err == nil || errors.Is(err, site.ErrUnreachable) || !strings.Contains(err.Error(), "bad fetch request") {
			t.Errorf("fetch %s = %v; want a bad-request error", bad, err)
		}
	}
}
