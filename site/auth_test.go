package site_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"laned/internal/progress"
	"laned/site"
)

func TestNkeyAuth(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	file := filepath.Join(t.TempDir(), "site.nk")
	if err := os.WriteFile(file, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, func(c *site.Config) { c.User, c.Password, c.NkeySeedFile = "", "", file }, "a", "b")
	s.boxes[0].commit(2)
	s.boxes[1].commit(2)
	s.waitConverged("over nkey-authenticated links")
	s.checkLogs()
}

func TestWrongCredentialsRefused(t *testing.T) {
	s := newSite(t, func(c *site.Config) {
		if c.Box == "b" {
			c.Password = "wrong"
		}
	}, "a", "b")
	a, b := s.boxes[0], s.boxes[1]
	a.commit(2)
	b.commit(2)
	// The leaf dials again and again and is refused every time.
	progress.Until(t, "b's repeated attempts", func() bool { return b.proxy.Forwarded() >= 3 },
		func() any { return b.proxy.Forwarded() })
	if st := a.node.Status(); st.Leafnodes != 0 {
		t.Fatalf("a accepted a leafnode with a wrong password: %+v", st)
	}
	if a.st.Cursor("b") != 0 || b.st.Cursor("a") != 0 {
		t.Fatalf("entries crossed a refused link: cursors %d, %d", a.st.Cursor("b"), b.st.Cursor("a"))
	}
}

func TestTLSLinks(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "hub", ca, caKey)
	for _, tc := range []struct {
		name string
		leaf func(*site.Config)
	}{
		{"verified", func(c *site.Config) { c.TLSCA = filepath.Join(dir, "ca.pem") }},
		{"insecure", func(c *site.Config) { c.TLSInsecure = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, func(c *site.Config) {
				if c.Listen != "" {
					c.TLSCert, c.TLSKey = filepath.Join(dir, "hub.pem"), filepath.Join(dir, "hub.key")
				} else {
					tc.leaf(c)
				}
			}, "a", "b")
			s.boxes[0].commit(2)
			s.boxes[1].commit(3)
			s.waitConverged("over TLS")
			s.checkLogs()
		})
	}
}

// newCert writes name.pem and name.key in dir: a CA when parent is nil,
// else a certificate for 127.0.0.1 signed by parent.
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+".key", "EC PRIVATE KEY", kder)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
