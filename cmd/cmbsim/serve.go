package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// shutdownGrace bounds the graceful shutdown of serve.
const shutdownGrace = 5 * time.Second

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "cmbsim serve --listen ADDR --appid ID --secret S --park N [--lane URL] [--guaranteed] [--callback-body ENC] [--agree PLATE=LIMIT]…", stderr)
	var cred credentials
	cred.register(fs)
	listen := fs.String("listen", "127.0.0.1:8900", "address to listen on")
	lane := fs.String("lane", "", "the lane's API address (prefix before cmbParking/), for callbacks, e.g. http://127.0.0.1:8080/")
	guaranteed := fs.Bool("guaranteed", false, "start in guaranteed (保付) AutoPay mode")
	chargeDelay := fs.Duration("charge-delay", 0, "how long a non-guaranteed AutoPay takes before its answer (the bank answers after the charge)")
	contactless := fs.String("contactless", "", `how Indata/AutoPayStatus answers carry the agreement: "" (uid and limit), "no-data", "no-uid" or "indata-no-data"`)
	payNotice := fs.String("pay-notice", "", `send a pay notice of its own for each contactless payment: "" (none), "before" or "after" the AutoPay answer`)
	logJSON := fs.Bool("log-json", false, "log as JSON lines instead of text")
	callbackBody := cmb.BodyForm
	fs.Func("callback-body", "how callbacks are encoded, as the bank may send them: form (default), form-charset, no-type or multipart", func(v string) error {
		e, err := cmb.ParseBodyEncoding(v)
		callbackBody = e
		return err
	})
	type agreement struct {
		plate string
		limit int64
	}
	var agreements []agreement
	fs.Func("agree", "a contactless agreement PLATE=LIMIT (fen) to start with; repeatable", func(v string) error {
		p, l, ok := strings.Cut(v, "=")
		n, err := strconv.ParseInt(l, 10, 64)
		if !ok || p == "" || err != nil || n < 0 {
			return fmt.Errorf("want PLATE=LIMIT with LIMIT in fen ≥ 0, got %q", v)
		}
		agreements = append(agreements, agreement{p, n})
		return nil
	})
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cred.resolve(); err != nil {
		return usageErr(fs, err)
	}
	if !cmbsim.ContactlessAnswers(*contactless).Valid() {
		return usageErr(fs, fmt.Errorf("--contactless %q: want \"\", no-data, no-uid or indata-no-data", *contactless))
	}
	if !cmbsim.NoticeTiming(*payNotice).Valid() {
		return usageErr(fs, fmt.Errorf("--pay-notice %q: want \"\", before or after", *payNotice))
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)

	sim := cmbsim.New(cmbsim.Config{
		AppID: cred.appid, Secret: cred.secret, ParkCode: cred.park,
		LaneURL: *lane, Guaranteed: *guaranteed, Logger: log, CallbackBody: callbackBody, ChargeDelay: *chargeDelay,
		Contactless: cmbsim.ContactlessAnswers(*contactless), PayNotice: cmbsim.NoticeTiming(*payNotice),
	})
	for _, a := range agreements {
		if err := sim.AddAgreement(a.plate, a.limit); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(h, slog.LevelWarn),
	}
	// The first line on stdout is the address, for scripts and tests.
	fmt.Fprintf(stdout, "cmbsim: listening on http://%s\n", ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "appid", cred.appid, "park_code", cred.park,
		"lane", *lane, "guaranteed", *guaranteed, "agreements", len(agreements))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	_ = sim.Close() // answers held by a delay fault go out now
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
