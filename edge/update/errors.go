package update

import "errors"

// Sentinel errors callers branch on. Each is wrapped with an operation
// prefix ("update: apply: …: %w").
var (
	// ErrNoKeys: no trusted key is configured, so nothing can be verified.
	ErrNoKeys = errors.New("no trusted keys configured")
	// ErrUnsigned: the manifest has no (or an empty) signature.
	ErrUnsigned = errors.New("manifest not signed")
	// ErrBadSignature: the signature is malformed or made by no trusted key.
	ErrBadSignature = errors.New("bad manifest signature")
	// ErrBadManifest: the manifest is not valid JSON or a field is invalid.
	ErrBadManifest = errors.New("bad manifest")
	// ErrBadBundle: the bundle's header or lengths are invalid.
	ErrBadBundle = errors.New("bad bundle")
	// ErrWrongArch: the release is for another architecture or channel.
	ErrWrongArch = errors.New("release for another arch")
	// ErrMismatch: the binary's size or sha256 differs from the manifest.
	ErrMismatch = errors.New("binary does not match manifest")
	// ErrNotNewer: the release is not newer than the running version.
	ErrNotNewer = errors.New("version not newer than running")
	// ErrBelowFloor: the release is below the persisted floor version.
	ErrBelowFloor = errors.New("version below floor")
	// ErrRolledBack: the release's binary (by sha256) was rolled back here
	// before; refused unless forced.
	ErrRolledBack = errors.New("build was rolled back before")
	// ErrNoSpace: the update would eat into the reserved disk space.
	ErrNoSpace = errors.New("not enough disk space beyond the reserve")
	// ErrStamp: the new binary's own `version` names another version or
	// arch than the signed manifest; nothing was swapped.
	ErrStamp = errors.New("binary's stamped version differs from the signed manifest")
	// ErrSelfTest: the new binary's self-test failed; nothing was swapped.
	ErrSelfTest = errors.New("self-test of new binary failed")
	// ErrBusy: another update is in progress.
	ErrBusy = errors.New("another update is in progress")
	// ErrDownload: the update server answered with an unusable response.
	ErrDownload = errors.New("download failed")
)
