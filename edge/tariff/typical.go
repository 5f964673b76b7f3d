package tariff

import "time"

// Typical is a common Shenzhen-style tariff, the embedded default's (laned
// demo) and a starting point for an operator: small cars 15 free minutes,
// the first hour 5 yuan, each further 30 minutes 2 yuan, at most 40 yuan
// per 24 h; large vehicles double; new-energy cars two free hours.
func Typical() Config {
	return Config{
		Zone:            DefaultZone,
		ReservedOutTime: Duration(15 * time.Minute),
		Small:           &RuleSet{FreeMinutes: 15, FirstMinutes: 60, FirstPrice: 500, NextMinutes: 30, NextPrice: 200, DailyCap: 4000},
		Large:           &RuleSet{FreeMinutes: 15, FirstMinutes: 60, FirstPrice: 1000, NextMinutes: 30, NextPrice: 400, DailyCap: 8000},
		NewEnergy:       &RuleSet{FreeMinutes: 120, FirstMinutes: 60, FirstPrice: 500, NextMinutes: 30, NextPrice: 200, DailyCap: 4000},
	}
}
