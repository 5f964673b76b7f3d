// Package soak holds laned's fault and crash suites and the benchmarks of
// the design's targets. It has no API: everything is in its test files.
//
//   - TestKill9: laned (the real binary, sim board) under steady traffic
//     is killed with SIGKILL at seeded random moments and restarted; the
//     store checks clean after every kill, nothing observed committed is
//     lost, the platform simulator (cmbsim, a process too) sees no order
//     charged twice and no uplink out of order, and the outbox drains.
//   - TestPlatformDownForADay: lanes in-process on a fake clock, the
//     platform down for a simulated day of traffic, then back.
//   - TestCameraGarbage: garbage at line rate on a pseudo-terminal camera
//     port with valid frames interleaved, torn frames, the adapter gone.
//   - TestCallbackAbuse: oversized bodies, slow headers, bad signatures and
//     replayed pay notices against the running daemon.
//   - TestBenchTable (LANED_BENCH=1, make bench): the design's targets,
//     each beside its baseline measured in the same run.
//
// Every suite prints what it tried and what held, as numbers. The default
// forms are short (make test); LANED_SOAK=ci is CI's form and
// LANED_SOAK=full the long one (make soak).
package soak
