// Package config is laned's configuration: the schema of its one TOML
// file (scripts/laned.example.toml documents every key), the decoder that
// reports every mistake with its line and key, the small TOML line
// scanner behind those lines, and the checks that make a Config ready to
// run. Each owner of a value (board, tariff, edge, update) judges its own
// part; config maps their problems back to the file.
//
// It is not the wiring: the appliance package builds the daemon from a
// Config, and cmd/laned reads the file and prints the problems.
package config
