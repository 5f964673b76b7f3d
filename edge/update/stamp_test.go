package update

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseVersionLine(t *testing.T) {
	tests := []struct {
		in            string
		version, arch string
		ok            bool
	}{
		{"laned v1.2.3 (linux/arm64, go1.26.0, built 2026-01-01T00:00:00Z)\n", "v1.2.3", "linux/arm64", true},
		{"laned 1.2.3-rc1 (linux/arm/v6, go1.26, built unknown)", "1.2.3-rc1", "linux/arm/v6", true},
		{"laned v1.0.0 (linux/amd64)", "v1.0.0", "linux/amd64", true},
		{"laned dev (linux/amd64, go1.26, built unknown)", "", "", false},
		{"laned v1.0.0", "", "", false},
		{"cmbsim v1.0.0 (linux/amd64, go1.26)", "", "", false},
		{"laned v1.0.0 (linux, go1.26)", "", "", false},
		{"laned v1.0.0 (linux/amd64/v1/x, go)", "", "", false},
		{"", "", "", false},
		{"laned v1.0.0 (" + strings.Repeat("a", 300) + ")", "", "", false},
	}
	for _, tt := range tests {
		v, a, err := ParseVersionLine([]byte(tt.in))
		if (err == nil) != tt.ok || v != tt.version || a != tt.arch {
			t.Errorf("ParseVersionLine(%q) = %q, %q, %v; want %q, %q, ok %v", tt.in, v, a, err, tt.version, tt.arch, tt.ok)
		}
	}
}

func FuzzParseVersionLine(f *testing.F) {
	f.Add([]byte("laned v1.2.3 (linux/arm64, go1.26.0, built 2026-01-01T00:00:00Z)\n"))
	f.Add([]byte("laned 1.2.3-rc1 (linux/arm/v6)"))
	f.Add([]byte("laned dev (linux/amd64, go1.26, built unknown)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, a, err := ParseVersionLine(b)
		if err != nil {
			return
		}
		if !ValidVersion(v) || !validArch(a) {
			t.Fatalf("ParseVersionLine(%q) = %q, %q accepted", b, v, a)
		}
		v2, a2, err := ParseVersionLine([]byte("laned " + v + " (" + a + ", go)"))
		if err != nil || v2 != v || a2 != a {
			t.Fatalf("round trip of %q, %q = %q, %q, %v", v, a, v2, a2, err)
		}
	})
}

// TestInstallRefusesMisstampedBinary: a binary stamped v2.0.0 signed as
// v2.0.1 (or for another arch) is refused before its self-test, with a
// message naming both, and nothing is swapped.
func TestInstallRefusesMisstampedBinary(t *testing.T) {
	pub, priv := testKey(1)
	stamped := func(line string) []byte {
		return append([]byte(line+"\n"), bytes.Repeat([]byte{0xAA}, 4000)...)
	}
	tests := []struct {
		name, signedAs string
		bin            []byte
		want           string
	}{
		{"other version", "v2.0.1", stamped("laned v2.0.0 (linux/arm64, go1.26, built unknown)"),
			"binary is stamped v2.0.0 linux/arm64, signed manifest says v2.0.1 linux/arm64"},
		{"other arch", "v2.0.0", stamped("laned v2.0.0 (linux/arm/v6, go1.26, built unknown)"),
			"binary is stamped v2.0.0 linux/arm/v6, signed manifest says v2.0.0 linux/arm64"},
		{"not a laned binary", "v2.0.0", stamped("#!/bin/sh"), "not laned's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signRelease(t, priv, tt.signedAs, tt.bin)
			for _, path := range []string{"pull", "push"} {
				e := newEnv(t, pub, "v1.0.0")
				var err error
				if path == "pull" {
					e.opts.BaseURL = newServer(t, r).URL
					u, _ := New(e.opts)
					_, err = u.Check(context.Background())
				} else {
					_, err = Apply(context.Background(), writeFile(t, e.dir, "b", r.bundle(t)), e.opts)
				}
				if !errors.Is(err, ErrStamp) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("%s = %v; want ErrStamp saying %q", path, err, tt.want)
				}
				if len(e.selftests) != 0 {
					t.Errorf("%s: self-test ran %d times on a mis-stamped binary", path, len(e.selftests))
				}
				e.liveIs(t, e.old)
				for _, p := range []string{e.live + ".new", e.live + ".prev", TrialMarkerPath(e.data)} {
					if _, err := os.Stat(p); !os.IsNotExist(err) {
						t.Errorf("%s: %s left by a refused install", path, p)
					}
				}
				if s := mustState(t, e.data); s.Last == nil || s.Last.Kind != EventRefused || !strings.Contains(s.Last.Detail, tt.want) {
					t.Errorf("%s: last event %+v; want the refusal audited", path, s.Last)
				}
			}
		})
	}
}

// TestRolledBackBuildRefusedUnderAnyVersion: the rolled-back list holds
// sha256, so the same binary signed as another version is still refused.
func TestRolledBackBuildRefusedUnderAnyVersion(t *testing.T) {
	pub, priv := testKey(1)
	bad := makeRelease(t, priv, "v1.1.0", 5000)
	for _, v := range []string{"v1.1.0", "v1.1.1", "v9.0.0"} {
		t.Run(v, func(t *testing.T) {
			e := newEnv(t, pub, "v1.0.0")
			saveState(newLayout(e.data), State{RolledBack: []string{"v1.1.0"}, RolledBackSHA256: []string{bad.m.SHA256}})
			r := signRelease(t, priv, v, bad.bin)
			e.opts.BaseURL = newServer(t, r).URL
			u, _ := New(e.opts)
			res, err := u.Check(context.Background())
			if err != nil || res.Installed || !strings.Contains(res.Detail, "rolled back before") {
				t.Fatalf("Check(rolled-back binary as %s) = %+v, %v; want skipped", v, res, err)
			}
			_, err = Apply(context.Background(), writeFile(t, e.dir, "b", r.bundle(t)), e.opts)
			if !errors.Is(err, ErrRolledBack) {
				t.Fatalf("Apply(rolled-back binary as %s) = %v; want ErrRolledBack", v, err)
			}
			e.liveIs(t, e.old)
		})
	}
	t.Run("another build of a rolled-back version installs", func(t *testing.T) {
		e := newEnv(t, pub, "v1.0.0")
		saveState(newLayout(e.data), State{RolledBack: []string{"v1.1.0"}, RolledBackSHA256: []string{bad.m.SHA256}})
		fixed := makeRelease(t, priv, "v1.1.0", 6000)
		e.opts.BaseURL = newServer(t, fixed).URL
		u, _ := New(e.opts)
		if res, err := u.Check(context.Background()); err != nil || !res.Installed {
			t.Fatalf("Check(fixed build) = %+v, %v; want installed", res, err)
		}
	})
}
