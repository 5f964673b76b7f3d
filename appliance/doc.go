// Package appliance is laned's composition root: Build opens, in order,
// the clock guard, the update trial, the store, the vehicle lists, the
// tariff, the board (with its serial cameras and displays), the network
// cameras, the uplink client, the controller and the callback server
// (allow-list and health probe in front); Run serves until it is told to
// stop or an installed update asks for a restart, with the consoles,
// systemd's notify and watchdog, SIGHUP reloads and the pull updater.
// `laned run` and `laned demo` both build the appliance here: the demo's
// differences (sim board and clock, the platform simulator in process,
// scripted traffic) come in through the configuration and Options only.
//
// It is not the business logic (edge), the hardware (board, hal) nor the
// command line (cmd/laned, which reads flags and the configuration file
// and passes in what only the binary knows: its version and build time).
package appliance
