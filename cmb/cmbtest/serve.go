package cmbtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Serve runs the cmbsim binary bin as `cmbsim serve` on a free loopback
// port in guaranteed mode, for the platform of appID/secret/park, its
// callbacks to laneURL and its log in logPath, and returns its base URL
// (http://127.0.0.1:port) once it says it listens. It is killed when the
// test ends.
func Serve(t testing.TB, bin, appID, secret string, park int64, laneURL, logPath string) (base string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--appid", appID, "--secret", secret,
		"--park", fmt.Sprint(park), "--lane", laneURL, "--guaranteed")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("cmbsim serve: no address line: %v", err)
	}
	go io.Copy(io.Discard, out)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "cmbsim: listening on ")
	if !ok {
		t.Fatalf("cmbsim serve printed %q; want its address", line)
	}
	return base
}
