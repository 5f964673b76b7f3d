// Package update is laned's over-the-air update: release manifests signed
// with ed25519, the pull updater (scheduled, jittered, resumable downloads
// with HTTP Range), the push path (a bundle file from a USB stick or scp),
// the atomic swap of the live binary keeping the previous one as ".prev",
// and the trial that commits a new version only after its health check held
// and otherwise rolls back to ".prev".
//
// Every path — pull, push, console — goes through the same verification:
// the signature over the exact manifest bytes is checked against the
// configured trusted keys before the manifest is even parsed, then arch,
// version, floor and reserved disk space, and the binary's size and sha256
// before anything else touches it. The new binary then runs its own
// self-test before it is swapped in. Every install, pulled or pushed,
// ends in the same Restart request the daemon stops on.
//
// Versions compare semver-style ("v1.2.3", "1.2.3-rc1"); a running version
// that does not parse ("dev", "dev-0123abcd") counts as the oldest of all,
// so a development build accepts any signed release.
//
// Layout on disk: the live binary L, its predecessor L.prev and, during an
// install only, the staged L.new, all in L's directory so that renames are
// atomic; in the data directory, update/state.json (floor, trial, history),
// update/trial (the trial marker the guard script counts starts in),
// update/rolledback (the guard's rollback record, absorbed into the history
// at the next start) and update/dl/ (downloads, with .part files resumed).
//
// The package holds no daemon logic: the health check (store open, callback
// server serving, lanes up) is passed in as a HealthFunc by the daemon.
package update
