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
