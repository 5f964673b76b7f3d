package site

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"laned/hal/clock"
)

// Config is one box's place in its site.
type Config struct {
	Box     string   // this box's id (ValidBox)
	Members []string // every box id of the site, Box included
	Gateway bool     // this box answers the bank (carried in the heartbeat)

	Listen string   // leafnode listen host:port ("" = none: this box only dials)
	Hub    []string // leafnode URLs to dial (nats-leaf://host:7422); several = failover

	// Leafnode authentication, from the site's shared credentials file:
	// a user and password, or an nkey seed (NkeySeedFile). One of them
	// is required when Listen or Hub is set.
	User, Password string
	NkeySeedFile   string

	// TLS on the leafnode links: TLSCert/TLSKey are this box's
	// certificate (required to Listen with TLS), TLSCA verifies the
	// other side. TLSInsecure skips the hub's certificate check.
	TLSCert, TLSKey, TLSCA string
	TLSInsecure            bool

	DataDir  string        // JetStream's storage directory (the appliance passes data_dir/nats)
	MaxAge   time.Duration // stream retention by age (0: 7 days)
	MaxBytes int64         // stream retention by size (0: 256 MiB)

	RequestTimeout time.Duration // budget of Request (0: 300 ms)

	// ClientListen, when set, opens a NATS client port (host:port) for
	// operators' tools; "" = in-process connection only.
	ClientListen string

	// Clock gives the heartbeat's and the cursors' times, reachability
	// and the loops' timers (poll, retry, heartbeat). nil: the wall clock.
	Clock  clock.Clock
	Logger *slog.Logger // nil: discard
}

// Defaults of Config's zero values.
const (
	DefaultMaxAge         = 7 * 24 * time.Hour
	DefaultMaxBytes       = 256 << 20
	DefaultRequestTimeout = 300 * time.Millisecond
)

// ValidBox reports whether s can be a box id: 1–6 characters of [a-z0-9],
// starting with a letter (the store's rule).
func ValidBox(s string) error {
	if len(s) < 1 || len(s) > 6 {
		return fmt.Errorf("box %q: want 1-6 characters", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return fmt.Errorf("box %q: want [a-z0-9], starting with a letter", s)
		}
	}
	return nil
}

// StreamName is the name of box's replication stream.
func StreamName(box string) string { return "LANED_" + strings.ToUpper(box) }

// Subjects of the site.
func replSubject(box string) string  { return "laned.repl." + box }
func fetchSubject(box string) string { return "laned.fetch." + box }
func helloSubject(box string) string { return "laned.hello." + box }

const helloWildcard = "laned.hello.*"

// normalize checks cfg and fills its defaults.
func (cfg Config) normalize() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return cfg, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if err := ValidBox(cfg.Box); err != nil {
		return bad("%v", err)
	}
	seen := map[string]bool{}
	for _, m := range cfg.Members {
		if err := ValidBox(m); err != nil {
			return bad("members: %v", err)
		}
		if seen[m] {
			return bad("members: %q twice", m)
		}
		seen[m] = true
	}
	if !seen[cfg.Box] {
		return bad("members %v do not include box %q", cfg.Members, cfg.Box)
	}
	if cfg.DataDir == "" {
		return bad("no data dir")
	}
	if cfg.Listen != "" {
		if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
			return bad("listen %q: %v", cfg.Listen, err)
		}
	}
	if cfg.ClientListen != "" {
		if _, _, err := net.SplitHostPort(cfg.ClientListen); err != nil {
			return bad("client listen %q: %v", cfg.ClientListen, err)
		}
	}
	for _, h := range cfg.Hub {
		if _, err := parseHub(h); err != nil {
			return bad("%v", err)
		}
	}
	if (cfg.Listen != "" || len(cfg.Hub) > 0) && cfg.User == "" && cfg.NkeySeedFile == "" {
		return bad("leafnode links need credentials (user/password or an nkey seed)")
	}
	if cfg.ClientListen != "" && cfg.User == "" && cfg.NkeySeedFile == "" {
		return bad("a client port needs credentials (user/password or an nkey seed)")
	}
	if cfg.User != "" && cfg.NkeySeedFile != "" {
		return bad("credentials: user/password or an nkey seed, not both")
	}
	if cfg.User != "" && cfg.Password == "" {
		return bad("credentials: user %q without a password", cfg.User)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return bad("tls: a certificate needs its key and a key its certificate")
	}
	if cfg.MaxAge < 0 || cfg.MaxBytes < 0 || cfg.RequestTimeout < 0 {
		return bad("negative retention or timeout")
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	cfg.Members = slices.Clone(cfg.Members)
	slices.Sort(cfg.Members)
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func parseHub(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("hub %q: %v", s, err)
	}
	switch u.Scheme {
	case "nats-leaf", "nats", "tls":
	default:
		return nil, fmt.Errorf("hub %q: want nats-leaf://host:port", s)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("hub %q: want nats-leaf://host:port", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("hub %q: credentials belong in the credentials file, not the URL", s)
	}
	return u, nil
}

// serverOptions builds the embedded server's options and the in-process
// connection's (credentials when a client port asks for them).
func (cfg Config) serverOptions() (*server.Options, []nats.Option, error) {
	o, seed, err := cfg.serverOpts()
	if err != nil {
		return nil, nil, err
	}
	var conn []nats.Option
	switch {
	case cfg.ClientListen == "":
	case cfg.User != "":
		conn = append(conn, nats.UserInfo(cfg.User, cfg.Password))
	case seed != "":
		kp, err := nkeys.FromSeed([]byte(seed))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: nkey seed: %v", ErrConfig, err)
		}
		pub, _ := kp.PublicKey()
		o.Nkeys = []*server.NkeyUser{{Nkey: pub}}
		conn = append(conn, nats.Nkey(pub, kp.Sign))
	default:
		return nil, nil, fmt.Errorf("%w: a client port needs credentials", ErrConfig)
	}
	return o, conn, nil
}

func (cfg Config) serverOpts() (*server.Options, string, error) {
	o := &server.Options{
		ServerName:         "laned-" + cfg.Box,
		DontListen:         true,
		NoSigs:             true,
		JetStream:          true,
		JetStreamDomain:    cfg.Box,
		StoreDir:           cfg.DataDir,
		JetStreamMaxMemory: 32 << 20,
		// The stream's limit plus room for consumers' state.
		JetStreamMaxStore: cfg.MaxBytes + 64<<20,
		MaxPayload:        1 << 20,
	}
	if cfg.ClientListen != "" {
		host, port, err := splitHostPort(cfg.ClientListen)
		if err != nil {
			return nil, "", err
		}
		o.DontListen, o.Host, o.Port = false, host, port
		if cfg.User != "" {
			o.Username, o.Password = cfg.User, cfg.Password
		}
	}
	var seed, pub string
	if cfg.NkeySeedFile != "" {
		b, err := os.ReadFile(cfg.NkeySeedFile)
		if err != nil {
			return nil, "", fmt.Errorf("site: nkey seed: %w", err)
		}
		kp, err := nkeys.ParseDecoratedNKey(b)
		if err != nil {
			return nil, "", fmt.Errorf("%w: nkey seed %s: %v", ErrConfig, cfg.NkeySeedFile, err)
		}
		s, err := kp.Seed()
		if err != nil {
			return nil, "", fmt.Errorf("%w: nkey seed %s: not a seed", ErrConfig, cfg.NkeySeedFile)
		}
		seed = string(s)
		if pub, err = kp.PublicKey(); err != nil {
			return nil, "", fmt.Errorf("%w: nkey seed %s: %v", ErrConfig, cfg.NkeySeedFile, err)
		}
		if !nkeys.IsValidPublicUserKey(pub) {
			return nil, "", fmt.Errorf("%w: nkey seed %s: want a user seed (SU…)", ErrConfig, cfg.NkeySeedFile)
		}
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, "", err
		}
		o.LeafNode.Host, o.LeafNode.Port = host, port
		// The hub's URLs are the configured ones: a hub behind NAT or a
		// proxy must not tell its leaves an address of its own.
		o.LeafNode.NoAdvertise = true
		o.LeafNode.Username, o.LeafNode.Password, o.LeafNode.Nkey = cfg.User, cfg.Password, pub
		if cfg.TLSCert != "" {
			tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
				CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CaFile: cfg.TLSCA,
				Verify: cfg.TLSCA != "",
			})
			if err != nil {
				return nil, "", fmt.Errorf("%w: tls: %v", ErrConfig, err)
			}
			o.LeafNode.TLSConfig = tc
			o.LeafNode.TLSTimeout = 5
		}
	}
	if len(cfg.Hub) > 0 {
		r := &server.RemoteLeafOpts{Nkey: seed}
		for _, h := range cfg.Hub {
			u, _ := parseHub(h)
			if cfg.User != "" {
				u.User = url.UserPassword(cfg.User, cfg.Password)
			}
			r.URLs = append(r.URLs, u)
		}
		if cfg.TLSCert != "" || cfg.TLSCA != "" || cfg.TLSInsecure {
			tc, err := remoteTLS(cfg)
			if err != nil {
				return nil, "", err
			}
			r.TLS, r.TLSConfig, r.TLSTimeout = true, tc, 5
		}
		o.LeafNode.Remotes = []*server.RemoteLeafOpts{r}
		o.LeafNode.ReconnectInterval = time.Second
	}
	return o, seed, nil
}

func remoteTLS(cfg Config) (*tls.Config, error) {
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CaFile: cfg.TLSCA,
		Insecure: cfg.TLSInsecure,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: tls: %v", ErrConfig, err)
	}
	if cfg.TLSCA != "" {
		// GenTLSConfig puts the CA among ClientCAs (a server's view); a
		// dialer verifies the hub with RootCAs.
		tc.RootCAs = tc.ClientCAs
	}
	return tc, nil
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrConfig, hp, err)
	}
	pa, err := net.LookupPort("tcp", p)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrConfig, hp, err)
	}
	if pa == 0 {
		pa = server.RANDOM_PORT
	}
	return host, pa, nil
}
