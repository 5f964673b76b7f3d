package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateCommandUsage(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "laned.conf")
	data := t.TempDir()
	os.WriteFile(conf, []byte("data_dir = \""+data+"\"\n"), 0o644)
	tests := []struct {
		args    []string
		want    error
		wantOut string
	}{
		{[]string{"update"}, errUsage, ""},
		{[]string{"update", "frobnicate", "-config", conf}, errUsage, ""},
		{[]string{"update", "apply", "-config", conf}, errUsage, ""},
		{[]string{"update", "check", "-config", conf}, errors.New("no trusted keys"), ""},
		{[]string{"update", "status", "-config", conf}, nil, "floor: none"},
		{[]string{"update", "trial", "-config", conf}, nil, "trial: none"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errb)
			switch {
			case tt.want == nil && err != nil, tt.want != nil && err == nil:
				t.Fatalf("run(%q) = %v; want %v", tt.args, err, tt.want)
			case tt.want == errUsage && !errors.Is(err, errUsage):
				t.Fatalf("run(%q) = %v; want errUsage", tt.args, err)
			case tt.want != nil && tt.want != errUsage && !strings.Contains(err.Error(), tt.want.Error()):
				t.Fatalf("run(%q) = %v; want %v", tt.args, err, tt.want)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q; want %q", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

func TestKillAtStepUnset(t *testing.T) {
	if killAtStep("") != nil {
		t.Errorf("killAtStep(\"\") != nil; want no hook without the test variable")
	}
}
