// Package console is laned's technician console: one command engine
// (help, status, lanes, lane N open|close REASON, loops, camera, records,
// queue, quote, spaces, config, net, time, log, update, version, sim …)
// with the line discipline a serial terminal (picocom, minicom) or a socket
// client needs, and the PIN check with its lock-out.
//
// It is transport-free: Serve runs one session over any io.ReadWriter; the
// serial port and the unix socket live in cmd/laned. The appliance answers
// the commands through the roles of a Backend (lanes, records, queue,
// system, update, sim, display), whose types are plain Go
// types of this package, so the console depends on no driver, store or
// protocol package. It decides nothing about lanes or money: it asks the
// Backend and shows the answer, one screen per command.
package console
