package tariff

import "errors"

// Sentinel errors, the ones callers branch on.
var (
	// ErrConfig reports a configuration the engine cannot price with
	// (calc status 5). New and Config.Validate return a *ConfigError that
	// wraps it; Quote wraps it when the engine has no rule set to apply.
	ErrConfig = errors.New("tariff configuration error")

	// ErrClass reports a vehicle class the engine does not know (calc
	// status 4, unknown vehicle type).
	ErrClass = errors.New("unknown vehicle class")
)
