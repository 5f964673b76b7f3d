package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"laned/edge/update"
)

// Stamped by the Makefile: -ldflags "-X main.version=… -X main.buildTime=…".
var (
	version   = ""
	buildTime = "" // UNIX seconds; the clock never reads earlier than this
)

// runVersion is `laned version`.
func runVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
	// update.ParseVersionLine reads this line: keep its shape.
	fmt.Fprintf(stdout, "laned %s (%s, %s, built %s)\n", Version(), update.Arch(), runtime.Version(), builtAt())
	return nil
}

// Version is the stamped version, else what the module build info knows.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// builtAt renders the build stamp (UNIX seconds) as UTC time.
func builtAt() string {
	sec, err := strconv.ParseInt(buildTime, 10, 64)
	if err != nil {
		return "unknown"
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
