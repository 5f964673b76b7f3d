package site_test

import (
	"context"
	"testing"

	"laned/site"
	"laned/site/sitetest"
)

func TestStartAlone(t *testing.T) {
	noLeak(t)
	st := sitetest.NewMemStore("a", nil)
	st.Commit("record", "r1", nil)
	n, err := site.Start(context.Background(), site.Config{
		Box: "a", Members: []string{"a"}, DataDir: t.TempDir(), Logger: testLogger(t, ""),
	}, st)
	if err != nil {
		t.Fatal(err)
	}
	s := &testSite{t: t, boxes: []*box{{name: "a", st: st, node: n}}}
	progressUntilPublished(t, s, st, 1)
	if err := n.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
}
