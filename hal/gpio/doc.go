// Package gpio implements hal loops and barriers on periph.io GPIO pins:
// debounced, edge-driven loop inputs and relay outputs with optional limit
// switches. It makes no decisions; edge does.
package gpio
