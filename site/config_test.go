package site_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"laned/site"
	"laned/site/sitetest"
)

func TestValidBox(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"a", true}, {"gw", true}, {"b12", true}, {"abcdef", true},
		{"", false}, {"abcdefg", false}, {"1a", false}, {"A", false}, {"a-b", false}, {"a.b", false}, {"a*", false},
	} {
		if err := site.ValidBox(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidBox(%q) = %v; want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed")
	if err := os.WriteFile(seed, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := func() site.Config {
		return site.Config{Box: "a", Members: []string{"a", "b"}, DataDir: dir, User: "u", Password: "p",
			Hub: []string{"nats-leaf://127.0.0.1:7422"}}
	}
	for _, tc := range []struct {
		name string
		edit func(*site.Config)
	}{
		{"bad box", func(c *site.Config) { c.Box = "A" }},
		{"box not a member", func(c *site.Config) { c.Members = []string{"b", "c"} }},
		{"member twice", func(c *site.Config) { c.Members = []string{"a", "b", "b"} }},
		{"bad member", func(c *site.Config) { c.Members = []string{"a", "B"} }},
		{"no data dir", func(c *site.Config) { c.DataDir = "" }},
		{"bad listen", func(c *site.Config) { c.Listen = "7422" }},
		{"bad client listen", func(c *site.Config) { c.ClientListen = "localhost" }},
		{"hub scheme", func(c *site.Config) { c.Hub = []string{"http://h:7422"} }},
		{"hub without port", func(c *site.Config) { c.Hub = []string{"nats-leaf://h"} }},
		{"hub with credentials", func(c *site.Config) { c.Hub = []string{"nats-leaf://u:p@h:7422"} }},
		{"links without credentials", func(c *site.Config) { c.User, c.Password = "", "" }},
		{"user without password", func(c *site.Config) { c.Password = "" }},
		{"user and nkey", func(c *site.Config) { c.NkeySeedFile = seed }},
		{"bad nkey seed", func(c *site.Config) { c.User, c.Password, c.NkeySeedFile = "", "", seed }},
		{"cert without key", func(c *site.Config) { c.TLSCert = "c.pem" }},
		{"negative age", func(c *site.Config) { c.MaxAge = -1 }},
		{"client port without credentials", func(c *site.Config) { c.Hub, c.User, c.Password, c.ClientListen = nil, "", "", "127.0.0.1:4222" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			n, err := site.Start(context.Background(), cfg, sitetest.NewMemStore("a", nil))
			if !errors.Is(err, site.ErrConfig) {
				if n != nil {
					n.Close()
				}
				t.Fatalf("Start(%s) = %v; want ErrConfig", tc.name, err)
			}
		})
	}
}

func TestStartListenTaken(t *testing.T) {
	taken := freePort(t)
	l, err := netListen(taken)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = site.Start(context.Background(), site.Config{Box: "a", Members: []string{"a"}, DataDir: t.TempDir(),
		User: "u", Password: "p", Listen: taken}, sitetest.NewMemStore("a", nil))
	if err == nil {
		t.Fatalf("Start on a taken leafnode port = nil; want an error")
	}
}
