package site_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

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

func TestClientListen(t *testing.T) {
	// An operator's tool reaches the box's server on the client port
	// only with the site's credentials; the box's own in-process
	// connection authenticates too.
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	seedFile := filepath.Join(t.TempDir(), "site.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  func(*site.Config)
		auth nats.Option
	}{
		{"user", func(c *site.Config) { c.User, c.Password = "ops", "pw" }, nats.UserInfo("ops", "pw")},
		{"nkey", func(c *site.Config) { c.NkeySeedFile = seedFile }, nats.Nkey(pub, kp.Sign)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hp := freePort(t)
			st := sitetest.NewMemStore("a", nil)
			st.Commit("record", "r1", nil)
			cfg := site.Config{Box: "a", Members: []string{"a"}, DataDir: t.TempDir(), Logger: testLogger(t, ""), ClientListen: hp}
			tc.cfg(&cfg)
			n, err := site.Start(context.Background(), cfg, st)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if nc, err := nats.Connect("nats://" + hp); err == nil {
				nc.Close()
				t.Fatalf("connect without credentials = nil; want refused")
			}
			nc, err := nats.Connect("nats://"+hp, tc.auth)
			if err != nil {
				t.Fatalf("connect with credentials = %v", err)
			}
			defer nc.Close()
			js, err := jetstream.NewWithDomain(nc, "a")
			if err != nil {
				t.Fatal(err)
			}
			s := &testSite{t: t, boxes: []*box{{name: "a", st: st, node: n}}}
			progressUntilPublished(t, s, st, 1)
			info, err := js.Stream(context.Background(), site.StreamName("a"))
			if err != nil {
				t.Fatalf("stream %s: %v", site.StreamName("a"), err)
			}
			if got := info.CachedInfo().State.Msgs; got != 1 {
				t.Fatalf("stream %s holds %d messages; want 1", site.StreamName("a"), got)
			}
		})
	}
}
