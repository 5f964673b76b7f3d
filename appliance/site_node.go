package appliance

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"laned/appliance/config"
	"laned/edge/console"
	"laned/site"
	"laned/store"
)

// NATSDir is where the site's JetStream keeps its data, in data_dir.
const NATSDir = "nats"

// startSite is the real StartSite: the site's node (embedded NATS,
// data under data_dir/nats) on this box's store, on the wall clock (its
// heartbeats and timers run in real time, also under the sim clock).
func startSite(ctx context.Context, cfg *config.Config, db *store.DB, logger *slog.Logger) (SiteNode, error) {
	s := cfg.Site
	n, err := site.Start(ctx, site.Config{
		Box: s.Box, Members: s.Members, Gateway: s.Gateway, Listen: s.Listen, Hub: s.Hub,
		User: s.Auth.User, Password: string(s.Auth.Password), NkeySeedFile: s.Auth.NkeySeed,
		TLSCert: s.TLSCert, TLSKey: s.TLSKey, TLSCA: s.TLSCA,
		DataDir: filepath.Join(cfg.DataDir, NATSDir), MaxAge: s.RetentionAge.D(), MaxBytes: s.RetentionBytes,
		RequestTimeout: s.RequestTimeout.D(), Logger: logger,
	}, db)
	if err != nil {
		return nil, err
	}
	return &siteNode{Node: n, db: db, since: time.Now()}, nil
}

var _ SiteNode = (*siteNode)(nil)

// siteNode is a site.Node as the appliance uses it.
type siteNode struct {
	*site.Node
	db    *store.DB
	since time.Time
}

func (n *siteNode) OnApplied(f func(records, paid []string)) {
	n.Node.OnApplied(func(r store.ApplyResult) { f(r.Records, r.Paid) })
}

func (n *siteNode) TakeOver(box string) (int, error) { return n.db.TakeOver(box) }

func (n *siteNode) Status() console.SiteInfo {
	st := n.Node.Status()
	info := console.SiteInfo{Box: st.Box, Gateway: st.Gateway, Head: st.Head, Published: st.Published, Links: st.Leafnodes, Since: n.since}
	for _, m := range st.Members {
		info.Members = append(info.Members, console.SiteMemberInfo{
			Box: m.Box, Gateway: m.Gateway, Reachable: m.Reachable, LastHello: m.LastHello, Head: m.Head, Published: m.Published,
			Applied: m.Cursor.Seq, AppliedAt: m.Cursor.AppliedAt, Lag: m.Lag, LagTime: m.LagTime, Entries: m.Entries, Exits: m.Exits,
		})
	}
	return info
}
