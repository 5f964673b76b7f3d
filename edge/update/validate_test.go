package update

import (
	"errors"
	"testing"
	"time"
)

func TestSettingsValidate(t *testing.T) {
	good := Settings{Channel: DefaultChannel, Reserved: DefaultReserved, MaxStarts: DefaultMaxStarts, TrialPeriod: DefaultTrialPeriod, Interval: DefaultInterval}
	tests := []struct {
		name string
		edit func(s *Settings)
		want []SettingsProblem
	}{
		{"defaults", func(*Settings) {}, nil},
		{"url without keys", func(s *Settings) { s.URL = "https://u.example" }, []SettingsProblem{{"trusted_keys", "pulling updates needs at least one trusted key"}}},
		{"not a url", func(s *Settings) {
			s.URL, s.TrustedKeys = "ftp://x", []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
		}, []SettingsProblem{{"url", `want an http(s) URL, got "ftp://x"`}}},
		{"bad channel", func(s *Settings) { s.Channel = "a/b" }, []SettingsProblem{{"channel", `bad channel "a/b"`}}},
		{"negative reserve", func(s *Settings) { s.Reserved = -1 }, []SettingsProblem{{"reserved_bytes", "negative"}}},
		{"max starts", func(s *Settings) { s.MaxStarts = 0 }, []SettingsProblem{{"max_starts", "0 out of range 1–100"}}},
		{"trial", func(s *Settings) { s.TrialPeriod = 25 * time.Hour }, []SettingsProblem{{"trial_period", "25h0m0s out of range [0, 24h]"}}},
		{"interval", func(s *Settings) { s.Interval = time.Second }, []SettingsProblem{{"interval", "1s: at least 1m"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.edit(&s)
			err := s.Validate()
			var got SettingsProblems
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Validate() = %v; want SettingsProblems", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %v; want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("problem %d = %v; want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
