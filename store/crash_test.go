package store_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"laned/store"
)

// The crash test: a child process (this test binary, re-executed with
// crashEnv set) performs domain operations in a loop and prints each one
// only after the call returned; the parent SIGKILLs it at random moments,
// reopens the file and proves that nothing acknowledged was lost, nothing
// half-done is visible and no uplink was lost or duplicated.

const crashEnv = "STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path, os.Getenv("STORE_CRASH_ROUND"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func tok(m store.Message) string { return m.Params["tok"] }

func crashChild(path, round string) {
	say := func(format string, a ...any) { fmt.Fprintf(os.Stdout, format+"\n", a...) }
	db, _, err := store.Open(path, store.Options{})
	if err != nil {
		say("fatal %v", err)
		return
	}
	far := time.Unix(1<<40, 0)
	msg := func(kind, t, id string) store.Message {
		return store.Message{Kind: kind, RecordID: id, RequestOrder: t, Params: map[string]string{"tok": t}}
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("r%si%05d", round, i)
		in := time.Unix(1_700_000_000+int64(i), 0)
		say("begin %s", id)
		if _, err := db.OpenRecord(store.Record{ID: id, Plate: "P" + id, InCode: 1, InTime: in}, msg(store.KindIndata, "I"+id, id)); err != nil {
			say("fatal open %v", err)
			return
		}
		say("open %s", id)
		if err := db.AddPayment(store.Payment{Order: "o" + id, RecordID: id, Amount: 100, PayTime: in}); err != nil {
			say("fatal pay %v", err)
			return
		}
		say("pay %s", id)
		if _, err := db.CloseRecord(id, store.Exit{OutCode: 2, OutTime: in.Add(time.Hour)},
			msg(store.KindAutoPay, "A"+id, id), msg(store.KindOutdata, "O"+id, id)); err != nil {
			say("fatal close %v", err)
			return
		}
		say("close %s", id)
		due, err := db.Due(far, 2)
		if err != nil {
			say("fatal due %v", err)
			return
		}
		for _, m := range due {
			say("acking %s", tok(m))
			if err := db.Ack(m.Seq); err != nil {
				say("fatal ack %v", err)
				return
			}
			say("acked %s", tok(m))
		}
	}
}

type crashLedger struct {
	begun  []string        // record ids whose open was attempted
	done   map[string]bool // "open id", "pay id", "close id" acknowledged
	acking map[string]bool // tokens whose Ack may have happened
	acked  map[string]bool // tokens whose Ack returned
}

func TestCrashRecovery(t *testing.T) {
	rounds := 60
	if testing.Short() {
		rounds = 15 // still real kills; fewer of them
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	rng := rand.New(rand.NewPCG(20250301, 1))
	led := crashLedger{done: map[string]bool{}, acking: map[string]bool{}, acked: map[string]bool{}}
	midOp := 0
	for round := 0; round < rounds; round++ {
		lines := runChild(t, path, round, 1+rng.IntN(120), time.Duration(rng.IntN(1500))*time.Microsecond)
		for _, l := range lines {
			verb, arg, _ := strings.Cut(l, " ")
			switch verb {
			case "begin":
				led.begun = append(led.begun, arg)
			case "open", "pay", "close":
				led.done[l] = true
			case "acking":
				led.acking[arg] = true
			case "acked":
				led.acked[arg] = true
			case "fatal":
				t.Fatalf("round %d: child: %s", round, l)
			}
		}
		if n := len(lines); n > 0 && !strings.HasPrefix(lines[n-1], "acked") && !strings.HasPrefix(lines[n-1], "close") {
			midOp++
		}
		verifyCrash(t, path, round, &led)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d rounds, %d records begun, %d acknowledged operations, %d acks; %d kills after a partial iteration",
		rounds, len(led.begun), len(led.done), len(led.acked), midOp)
	if len(led.acked) == 0 || len(led.done) < rounds {
		t.Errorf("the child made too little progress (%d ops, %d acks) to prove anything", len(led.done), len(led.acked))
	}
}

// runChild starts the child, lets it acknowledge `after` lines, waits
// `jitter` more and SIGKILLs it; it returns every complete line printed.
func runChild(t *testing.T, path string, round, after int, jitter time.Duration) []string {
	t.Helper()
	// Under `make test-arm` the test binary runs through qemu-user
	// (go test -exec); the child must too: LANED_TEST_EXEC names the
	// wrapper.
	name, args := os.Args[0], []string{"-test.run=^$"}
	if w := os.Getenv("LANED_TEST_EXEC"); w != "" {
		name, args = w, append([]string{os.Args[0]}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), crashEnv+"="+path, fmt.Sprintf("STORE_CRASH_ROUND=%03d", round))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if !killed && len(lines) >= after {
			time.Sleep(jitter)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child exited by itself (%v) after %d lines: %q", round, err, len(lines), lines)
	}
	return lines
}

func verifyCrash(t *testing.T, path string, round int, led *crashLedger) {
	t.Helper()
	db, rep, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("round %d: reopen = %v", round, err)
	}
	defer db.Close()
	if rep.MovedAside != "" {
		t.Fatalf("round %d: the file was moved aside: %s", round, rep.Reason)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	msgs, err := db.Messages(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]int{}
	for _, m := range msgs {
		queued[tok(m)]++
	}
	// Each token: queued exactly once, or acknowledged (possibly: acking
	// was printed) and gone. Never both, never twice.
	present := func(token string) {
		switch n := queued[token]; {
		case n > 1:
			t.Errorf("round %d: message %s queued %d times", round, token, n)
		case n == 1 && led.acked[token]:
			t.Errorf("round %d: message %s acknowledged but still queued", round, token)
		case n == 0 && !led.acking[token]:
			t.Errorf("round %d: message %s lost", round, token)
		}
	}
	absent := func(token string) {
		if queued[token] != 0 {
			t.Errorf("round %d: message %s queued by an operation that did not happen", round, token)
		}
	}
	known := map[string]bool{}
	for _, id := range led.begun {
		for _, p := range []string{"I", "A", "O"} {
			known[p+id] = true
		}
		r, err := db.RecordByID(id)
		exists := err == nil
		if led.done["open "+id] && !exists {
			t.Errorf("round %d: acknowledged record %s lost: %v", round, id, err)
		}
		if !exists {
			absent("I" + id)
			absent("A" + id)
			absent("O" + id)
			continue
		}
		present("I" + id)
		if _, err := db.PaymentByOrder("o" + id); led.done["pay "+id] && err != nil {
			t.Errorf("round %d: acknowledged payment of %s lost: %v", round, id, err)
		}
		closed := r.State == store.StateClosed
		if led.done["close "+id] && !closed {
			t.Errorf("round %d: acknowledged close of %s lost (state %s)", round, id, r.State)
		}
		if closed {
			present("A" + id)
			present("O" + id)
		} else {
			absent("A" + id)
			absent("O" + id)
		}
	}
	for token := range queued {
		if !known[token] {
			t.Errorf("round %d: unexpected message %q", round, token)
		}
	}
}
