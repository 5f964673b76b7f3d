package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunVersionAndUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantOut string
		wantErr error
	}{
		{[]string{"version"}, "laned ", nil},
		{[]string{"help"}, "usage: laned", nil},
		{nil, "usage: laned", errUsage},
		{[]string{"no-such-command"}, "", errUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errb)
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("run(%q) = %v; want %v", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q; want it to contain %q", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

// TestSubcommand: camera, display and io dispatch through subcommand; its
// answers to no, help and unknown subcommands are the ones they printed.
func TestSubcommand(t *testing.T) {
	tests := []struct {
		args           []string
		err            error
		stdout, stderr string
		ran            []string
	}{
		{nil, errUsage, "", "USAGE\n", nil},
		{[]string{"help"}, nil, "USAGE\n", "", nil},
		{[]string{"-h"}, nil, "USAGE\n", "", nil},
		{[]string{"--help"}, nil, "USAGE\n", "", nil},
		{[]string{"nope"}, errUsage, "", "laned thing: unknown subcommand \"nope\"\nUSAGE\n", nil},
		{[]string{"go", "-x", "y"}, nil, "", "", []string{"-x", "y"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var ran []string
			err := subcommand("thing", "USAGE\n", tt.args, &stdout, &stderr, map[string]func([]string) error{
				"go": func(args []string) error { ran = append([]string{}, args...); return nil },
			})
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("err = %v; want %v", err, tt.err)
			}
			if stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), tt.stdout, tt.stderr)
			}
			if strings.Join(ran, " ") != strings.Join(tt.ran, " ") {
				t.Errorf("ran with %q; want %q", ran, tt.ran)
			}
		})
	}
}
