// Package site joins the boxes of one car park into one system on embedded
// NATS JetStream, without ever making a lane wait on another box.
//
// Every box runs its own standalone JetStream server (no cluster; its
// JetStream domain is the box id, its storage data_dir/nats). Boxes are
// joined by leafnode links: the hub listens, the others dial it. The store
// stays the truth: each box's replication log (store.ReplEntry) is
// published to the box's own stream LANED_<BOX> (subject laned.repl.<box>,
// Nats-Msg-Id <box>/<seq>) and the published cursor advances only on the
// stream's ack. Every box follows every other member's stream in that
// member's domain, across the leafnodes, with an ordered consumer, and
// applies the entries with Store.ApplyRepl, which keeps a cursor per origin.
// A gap in an origin's sequence (NATS lost data, retention dropped it) is
// repaired by asking the origin (laned.fetch.<origin>), which answers from
// its store.
//
// NATS only carries and buffers: a partition stops nothing local. Each
// publisher keeps its log in the store until its stream acks; each applier
// resumes where its cursor stands. Heartbeats (laned.hello.<box>) feed
// Node.Status; Serve and Request carry the lane-owner requests with a short
// budget, ErrUnreachable when nobody answers in time.
//
// It knows nothing of lanes, tariffs or the bank's protocol: the appliance
// decides what the subjects carry.
package site
