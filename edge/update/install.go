package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"laned/internal/atomicfile"
)

// land brings a release whose manifest m is admitted onto this machine,
// the same for a pull and a push: the space check (resume: counting what
// a previous download left in the .part file), fill writing the binary
// into that .part file, its verification, the install and the request to
// restart into it (Options.Restart). fill's errors are returned as they
// are; the others are refusals, audited. res is the attempt's Result so
// far.
func (u *Updater) land(ctx context.Context, res Result, m Manifest, resume bool, fill func(part string) error) (Result, error) {
	part := filepath.Join(u.l.dl(), m.SHA256+".part")
	held := ""
	if resume {
		held = part
	}
	if err := u.checkSpace(m, held); err != nil {
		return res, u.refuse(m.Version, err)
	}
	if err := fill(part); err != nil {
		return res, err
	}
	u.o.Step(StepVerify)
	verified, err := verifyFile(part, m)
	if err != nil {
		os.Remove(part)
		return res, u.refuse(m.Version, err)
	}
	if err := install(ctx, u.o, u.l, m, verified); err != nil {
		return res, u.refuse(m.Version, err)
	}
	res.Installed = true
	u.o.Restart.Request(res)
	return res, nil
}

func execSelfTest(ctx context.Context, bin, config string) error {
	ctx, cancel := context.WithTimeout(ctx, selfTestTimeout)
	defer cancel()
	args := []string{"selftest"}
	if config != "" {
		args = append(args, "-config", config)
	}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		if len(out) > 512 {
			out = out[len(out)-512:]
		}
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// install stages the verified binary beside the live one, runs its
// self-test, keeps the live binary as .prev, writes the trial marker and
// renames the staged binary over the live path. The live path is at every
// instant either the old or the new complete binary.
func install(ctx context.Context, o Options, l layout, m Manifest, verified string) error {
	live := o.LivePath
	staged, prev := live+".new", live+".prev"
	defer os.Remove(verified)
	if err := stage(verified, staged, m, o.Step); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: stage: %w", err)
	}
	v, arch, err := o.Stamp(ctx, staged)
	if err == nil {
		err = CheckStamp(m, v, arch)
	}
	if err != nil {
		os.Remove(staged)
		if !errors.Is(err, ErrStamp) {
			err = fmt.Errorf("%v: %w", err, ErrStamp)
		}
		return fmt.Errorf("update: install: %w", err)
	}
	if err := o.SelfTest(ctx, staged); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: %s: %v: %w", m.Version, err, ErrSelfTest)
	}
	if err := keepPrev(live, prev); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: keep previous: %w", err)
	}
	now := o.Clock.Now().Unix()
	mk := Marker{Version: m.Version, From: o.Running, SHA256: m.SHA256, Attempts: 0, Limit: o.MaxStarts, Started: now}
	if err := atomicfile.Write(l.marker(), mk.encode(), 0o644); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: trial marker: %w", err)
	}
	o.Step(StepRename)
	if err := os.Rename(staged, live); err != nil {
		os.Remove(staged)
		atomicfile.Remove(l.marker())
		return fmt.Errorf("update: install: rename: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(live)); err != nil {
		return fmt.Errorf("update: install: sync: %w", err)
	}
	o.Step(StepSwapped)
	s, err := loadState(l)
	if err != nil {
		return err
	}
	s.Trial = &TrialInfo{Version: m.Version, From: o.Running, SHA256: m.SHA256, Started: now, Limit: o.MaxStarts}
	s.record(Event{At: now, Kind: EventInstall, Version: m.Version, From: o.Running, Detail: "on trial; sha256 " + m.SHA256[:16]})
	o.Logger.Info("update installed, on trial", "version", m.Version, "from", o.Running)
	return saveState(l, s)
}

// stage copies the verified binary to staged (0755), hashing as it goes,
// and fsyncs it.
func stage(verified, staged string, m Manifest, step func(string)) error {
	src, err := os.Open(verified)
	if err != nil {
		return err
	}
	defer src.Close()
	os.Remove(staged)
	dst, err := os.OpenFile(staged, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	defer dst.Close()
	h := sha256.New()
	w := io.MultiWriter(dst, h)
	half := m.Size / 2
	if _, err := io.CopyN(w, src, half); err != nil {
		return err
	}
	step(StepStage)
	n, err := io.Copy(w, src)
	if err != nil {
		return err
	}
	if half+n != m.Size || hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return fmt.Errorf("staged copy differs: %w", ErrMismatch)
	}
	if err := dst.Sync(); err != nil {
		return err
	}
	return dst.Close()
}

// keepPrev makes prev a complete copy of live (a hard link when the
// filesystem allows), replacing any older prev atomically.
func keepPrev(live, prev string) error {
	tmp := prev + ".tmp"
	os.Remove(tmp)
	if err := os.Link(live, tmp); err != nil {
		if err := copyFileSync(live, tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, prev); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(prev))
}

func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
