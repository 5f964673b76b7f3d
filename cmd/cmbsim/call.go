package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"laned/cmb/cmbsim"
)

// callNames maps the accepted spellings to the callbacks.
var callNames = map[string]string{
	"calc": "calc", "pay": "pay",
	"bind": "bind", "autopaybind": "bind",
	"unbind": "unbind", "autopayunbind": "unbind",
	"novpln":   "novpln",
	"scan-pay": "scan-pay", "scanpay": "scan-pay",
	"plate-pay": "plate-pay", "platepay": "plate-pay",
}

// answerLine is what call prints per callback sent.
type answerLine struct {
	Endpoint string          `json:"endpoint"`
	Status   int             `json:"status"`
	Message  string          `json:"message,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Error    string          `json:"error,omitempty"`
}

func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "cmbsim call calc|pay|bind|unbind|novpln|scan-pay|plate-pay --lane URL --appid ID --secret S --park N [fields]"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := callFlags(stderr, synopsis, new(callArgs))
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil
		}
		fmt.Fprintln(stderr, "cmbsim call: name the callback first")
		fs.Usage()
		return errUsage
	}
	name, ok := callNames[strings.ToLower(args[0])]
	if !ok {
		fmt.Fprintf(stderr, "cmbsim call: unknown callback %q\nusage: %s\n", args[0], synopsis)
		return errUsage
	}
	var a callArgs
	fs := callFlags(stderr, synopsis, &a)
	if err := parse(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := a.cred.resolve(); err != nil {
		return usageErr(fs, err)
	}
	if a.lane == "" {
		return usageErr(fs, errors.New("--lane is required"))
	}
	outCode := func() *int {
		if a.outCode < 0 {
			return nil
		}
		return &a.outCode
	}

	sim := cmbsim.New(cmbsim.Config{AppID: a.cred.appid, Secret: a.cred.secret, ParkCode: a.cred.park, LaneURL: a.lane})
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	var err error
	switch name {
	case "calc":
		_, err = sim.Calc(ctx, outCode(), a.plate)
	case "pay":
		_, err = sim.Pay(ctx, cmbsim.PayNotice{Plate: a.plate, RecordID: a.recordID, BillID: a.billID,
			Amount: a.amount, Order: a.order, PayTime: a.payTime})
	case "bind":
		_, err = sim.Bind(ctx, cmbsim.BindRequest{Plate: a.plate, Limit: a.limit, SerialNo: a.serialNo, PostURL: a.postURL})
	case "unbind":
		_, err = sim.Unbind(ctx, a.plate)
	case "novpln":
		_, _, err = sim.NoVpln(ctx, a.plate, a.inCode)
	case "scan-pay":
		if a.outCode < 0 {
			return usageErr(fs, errors.New("scan-pay needs --out-code"))
		}
		if a.plate != "" {
			_, err = sim.ScanPayUnlicensed(ctx, a.outCode, a.plate)
		} else {
			_, err = sim.ScanPay(ctx, a.outCode)
		}
	case "plate-pay":
		_, err = sim.PayPlate(ctx, a.plate)
	}

	sent := sim.Sent()
	for _, cb := range sent {
		b, _ := json.Marshal(answerLine{Endpoint: cb.Endpoint, Status: cb.Status, Message: cb.Message, Data: cb.Data, Error: cb.Err})
		fmt.Fprintf(stdout, "%s\n", b)
	}
	if err != nil {
		if len(sent) == 0 {
			return err // refused before sending: a bad field
		}
		if last := sent[len(sent)-1]; last.Err == "" {
			fmt.Fprintf(stderr, "cmbsim call: %s answered status %d: %s\n", last.Endpoint, last.Status, last.Message)
		} else {
			fmt.Fprintf(stderr, "cmbsim call: %s: %s\n", last.Endpoint, last.Err)
		}
		return errReported
	}
	return nil
}

type callArgs struct {
	cred     credentials
	lane     string
	timeout  time.Duration
	outCode  int
	inCode   int
	plate    string
	recordID string
	billID   string
	amount   int64
	order    string
	payTime  int64
	limit    int64
	serialNo string
	postURL  string
}

func callFlags(w io.Writer, synopsis string, a *callArgs) *flag.FlagSet {
	fs := newFlagSet("call", synopsis, w)
	a.cred.register(fs)
	fs.StringVar(&a.lane, "lane", "", "the lane's API address (prefix before cmbParking/), e.g. http://192.168.1.20:8080/ (required)")
	fs.DurationVar(&a.timeout, "timeout", 10*time.Second, "give up after this long")
	fs.IntVar(&a.outCode, "out-code", -1, "calc, scan-pay: the exit's out_code")
	fs.IntVar(&a.inCode, "in-code", 0, "novpln: the entry's in_code")
	fs.StringVar(&a.plate, "plate", "", "vpl_number")
	fs.StringVar(&a.recordID, "record-id", "", "pay: record_id")
	fs.StringVar(&a.billID, "bill-id", "", "pay: bill_id (optional)")
	fs.Int64Var(&a.amount, "amount", 0, "pay: amount in fen")
	fs.StringVar(&a.order, "order", "", "pay: the payment's order (default: a fresh one)")
	fs.Int64Var(&a.payTime, "pay-time", 0, "pay: pay_time in UNIX seconds (default: now)")
	fs.Int64Var(&a.limit, "limit", 0, "bind: the limit in fen")
	fs.StringVar(&a.serialNo, "serial-no", "", "bind: serial_no (optional)")
	fs.StringVar(&a.postURL, "post-url", "", "bind: post_url (optional)")
	return fs
}
