package update

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// stampTimeout bounds a binary's `version` run.
const stampTimeout = 30 * time.Second

// ParseVersionLine parses the first line `laned version` prints,
// "laned VERSION (ARCH, GOVERSION, built TIME)", into the stamped version
// and the arch in manifest form ("linux/arm/v7").
func ParseVersionLine(out []byte) (version, arch string, err error) {
	line, _, _ := bytes.Cut(out, []byte("\n"))
	s := strings.TrimSpace(string(line))
	rest, ok := strings.CutPrefix(s, "laned ")
	if !ok || len(s) > 256 {
		return "", "", fmt.Errorf("update: version line %q: not laned's", truncate(s, 64))
	}
	version, rest, ok = strings.Cut(rest, " (")
	if !ok {
		return "", "", fmt.Errorf("update: version line %q: no arch", truncate(s, 64))
	}
	arch, _, ok = strings.Cut(rest, ",")
	if !ok {
		arch, ok = strings.CutSuffix(rest, ")")
	}
	if !ok || !ValidVersion(version) || !validArch(arch) {
		return "", "", fmt.Errorf("update: version line %q: bad version or arch", truncate(s, 64))
	}
	return version, arch, nil
}

// ReadStamp runs `bin version` (under exec, e.g. "qemu-aarch64-static",
// when not empty) and parses what it prints.
func ReadStamp(ctx context.Context, bin, execWith string) (version, arch string, err error) {
	ctx, cancel := context.WithTimeout(ctx, stampTimeout)
	defer cancel()
	name, args := bin, []string{"version"}
	if execWith != "" {
		name, args = execWith, []string{bin, "version"}
	}
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", "", fmt.Errorf("update: run %s version: %w", bin, err)
	}
	return ParseVersionLine(out)
}

// CheckStamp requires the stamped version and arch to be the manifest's.
func CheckStamp(m Manifest, version, arch string) error {
	if version != m.Version || arch != m.Arch {
		return fmt.Errorf("update: binary is stamped %s %s, signed manifest says %s %s: %w", version, arch, m.Version, m.Arch, ErrStamp)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
