package cmbsim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"laned/cmb/cmbsim"
)

// TestErrorPrefixOnce: the simulator's errors say "cmbsim: " once and match
// their sentinels.
func TestErrorPrefixOnce(t *testing.T) {
	s := cmbsim.New(cmbsim.Config{AppID: "a", Secret: "s", ParkCode: 1})
	_, calcErr := s.Calc(context.Background(), nil, "京A1")
	for _, tt := range []struct {
		err  error
		want error
	}{
		{s.SetFault("NoSuch", cmbsim.Fault{Down: true}), cmbsim.ErrUnknownEndpoint},
		{s.AddAgreement("京A1", -1), cmbsim.ErrBadLimit},
		{calcErr, cmbsim.ErrNoLane},
	} {
		if tt.err == nil || !errors.Is(tt.err, tt.want) || strings.Count(tt.err.Error(), "cmbsim: ") != 1 {
			t.Errorf("error %v; want %v with cmbsim: once", tt.err, tt.want)
		}
	}
}
