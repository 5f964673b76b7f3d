package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"laned/hal/camera"
)

const pushTestUsage = `usage:
  laned camera push-test -url http://BOX:8081/camera/push/LANE[?token=…] -plate 京A12345 [-image FILE] [flags]

push-test sends one family-1 (臻识 JSON) push, as a network camera would, and
prints the answer: to commission a lane's network camera path, or to test.
An empty -plate sends "_无_" (no plate).
`

// cameraPushTest is `laned camera push-test`.
func cameraPushTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("camera push-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, pushTestUsage); fs.PrintDefaults() }
	url := fs.String("url", "", "the lane's push URL, e.g. http://127.0.0.1:8081/camera/push/entry1")
	plate := fs.String("plate", "", "the plate read; empty: no plate")
	colour := fs.String("colour", "blue", "plate colour: blue, yellow, white, black, green or unknown")
	conf := fs.Int("conf", 95, "confidence 0–100")
	image := fs.String("image", "", "a JPEG file sent as the full frame (imageFile)")
	crop := fs.String("crop", "", "a JPEG file sent as the plate crop (imageFragmentFile)")
	serial := fs.String("serialno", "push-test", "the camera's serial number")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the answer")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *url == "" {
		fmt.Fprintln(stderr, "camera push-test: -url is required")
		fs.Usage()
		return errUsage
	}
	c, ok := camera.ColourNames[*colour]
	if !ok || *conf < 0 || *conf > 100 {
		fmt.Fprintf(stderr, "camera push-test: bad -colour %q or -conf %d\n", *colour, *conf)
		return errUsage
	}
	var full, cropped []byte
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{*image, &full}, {*crop, &cropped}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("camera push-test: %w", err)
		}
		*f.dst = b
	}
	body := camera.EncodePush(*serial, *plate, c, *conf, time.Now(), full, cropped)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("camera push-test: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("camera push-test: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%s (%d bytes pushed)\n%s\n", resp.Status, len(body), bytes.TrimSpace(answer))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("camera push-test: %s", resp.Status)
	}
	return nil
}
