package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTLSPair writes a self-signed certificate (0644) and its key (mode)
// into dir.
func writeTLSPair(t *testing.T, dir string, keyMode os.FileMode) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "laned"},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(4000000000, 0), DNSNames: []string{"laned"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), keyMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, keyMode); err != nil { // past the umask
		t.Fatal(err)
	}
	return cert, key
}

// TestCheckTLSKeyMode: laned check refuses a TLS key that its group or
// others may read, as it refuses such a secret file.
func TestCheckTLSKeyMode(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o644, false}, {0o604, false}} {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			dir := t.TempDir()
			cert, key := writeTLSPair(t, dir, tt.mode)
			p := minimalConfig(t, dir, "")
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte("listen = "), fmt.Appendf(nil, "tls_cert = %q\ntls_key = %q\nlisten = ", cert, key), 1)
			os.WriteFile(p, b, 0o644)
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"check", "-config", p}, nil, &out, &errb)
			want := fmt.Sprintf("platform.tls_key: %s is readable by others (mode %04o): chmod 600 %s", key, tt.mode, key)
			if tt.ok {
				if err != nil || strings.Contains(out.String(), "tls_key") {
					t.Fatalf("laned check with a %04o key = %v:\n%s", tt.mode, err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(out.String(), want) {
				t.Fatalf("laned check with a %04o key = %v:\n%s\nwant %q", tt.mode, err, out.String(), want)
			}
		})
	}
}
