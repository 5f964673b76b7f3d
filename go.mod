module laned

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	go.bug.st/serial v1.8.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.45.0
	golang.org/x/text v0.44.0
	periph.io/x/conn/v3 v3.7.3
	periph.io/x/host/v3 v3.8.5
	rsc.io/qr v0.2.0
)

require github.com/jonboulle/clockwork v0.5.0 // indirect
