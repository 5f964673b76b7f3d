package sitetest

import (
	"bufio"
	"io"
	"net"
	"testing"
)

func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// roundTrip sends a line through the proxy and reports whether it came
// back.
func roundTrip(t *testing.T, c net.Conn) bool {
	t.Helper()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ping\n"
}

func TestProxy(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := dial()
	if !roundTrip(t, c) {
		t.Fatal("no echo through the proxy")
	}
	p.Kill()
	if roundTrip(t, c) {
		t.Fatal("echo on a killed connection")
	}
	if c2 := dial(); !roundTrip(t, c2) {
		t.Fatal("no echo on a new connection after Kill")
	}
	p.Cut()
	if c3 := dial(); roundTrip(t, c3) {
		t.Fatal("echo through a cut proxy")
	}
	p.Restore()
	if c4 := dial(); !roundTrip(t, c4) {
		t.Fatal("no echo after Restore")
	}
	if got := p.Forwarded(); got != 3 {
		t.Fatalf("Forwarded() = %d; want 3", got)
	}
}
