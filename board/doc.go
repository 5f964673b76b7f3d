// Package board turns a named board profile (rpi3, rpi4, rpi5, gpiochip,
// sim) and per-lane pin overrides into hal devices. It holds pin maps and
// electrical settings, never lane logic.
package board
