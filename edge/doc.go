// Package edge is the appliance: lane state machines, the CMB callback
// handler, the outbox dispatcher and the space and config reporting. It
// depends on hal interfaces, cmb and store, never on drivers, and reads
// time only from an injected clock.
//
// Where things are: config.go (Config, its defaults, LaneConfig, Deps)
// and controller.go (New, Run, what the parts share). A lane: lane.go (its
// goroutine, loops, barrier and safety), camera.go (reads), entry.go,
// exit.go, autopay.go (contactless exits), manual.go (a person's
// decisions), held.go (commits the store refused after the barrier moved),
// laneenv.go (all a lane sees of the rest). Money: pricing.go, arrears.go,
// callbacks.go (the platform's calc, pay and NoVpln), contactless.go
// (bindings). The outbox: dispatch.go (the sender), orders.go (the AutoPay
// orders), outcomes.go (what answers mean). Upkeep: spaces.go,
// maintain.go, pictures.go, clock.go (SaneClock). The boards: display*.go.
// A box of a site of several (issue 18): site.go (the Router that asks
// the box owning a lane, the subjects this box serves, SiteApplied).
// The console's view: backend.go, report.go.
package edge
