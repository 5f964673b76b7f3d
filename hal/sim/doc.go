// Package sim is a simulated lane: in-memory loops, barriers and cameras,
// scriptable from code, for the demo and the end-to-end tests.
package sim
