package atomicfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"laned/internal/atomicfile"
)

var errDiskFull = errors.New("no space left on device")

// TestWriteFunc replaces a file in each way a write can end; a failure at
// any step leaves the old content and no temporary file.
func TestWriteFunc(t *testing.T) {
	mod := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		old     string // content at path before; "" for none
		setup   func(t *testing.T, path string)
		write   func(f *os.File) error
		wantErr error // errors.Is; nil with failed for any error
		failed  bool
		want    string // content at path after; "" for none
	}{
		{name: "new file", write: writeString("new"), want: "new"},
		{name: "replace", old: "old content", write: writeString("new"), want: "new"},
		{name: "empty", old: "old", write: writeString(""), want: ""},
		{
			name: "failing write keeps the old file", old: "old content",
			write: func(f *os.File) error {
				if _, err := f.WriteString("torn"); err != nil {
					return err
				}
				return errDiskFull
			},
			wantErr: errDiskFull, failed: true, want: "old content",
		},
		{
			name: "failing write leaves no file", write: func(*os.File) error { return errDiskFull },
			wantErr: errDiskFull, failed: true,
		},
		{
			name: "leftover temporary file truncated", old: "old",
			setup: func(t *testing.T, path string) {
				if err := os.WriteFile(path+atomicfile.TempSuffix, []byte("a much longer torn write"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			write: writeString("new"), want: "new",
		},
		{
			name: "temporary name taken keeps the old file", old: "old",
			setup: func(t *testing.T, path string) {
				if err := os.Mkdir(path+atomicfile.TempSuffix, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			write: writeString("new"), failed: true, want: "old",
		},
		{
			name: "metadata set by write", old: "old",
			write: func(f *os.File) error {
				if _, err := f.WriteString("new"); err != nil {
					return err
				}
				return os.Chtimes(f.Name(), mod, mod)
			},
			want: "new",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(t, path)
			}
			err := atomicfile.WriteFunc(path, 0o600, tt.write)
			if (err != nil) != tt.failed || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("WriteFunc() = %v; want failed %v (%v)", err, tt.failed, tt.wantErr)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case tt.want == "" && tt.old == "" && tt.failed:
				if !errors.Is(rerr, fs.ErrNotExist) {
					t.Errorf("after a failed first write, ReadFile() = %q, %v; want no file", got, rerr)
				}
			case rerr != nil || string(got) != tt.want:
				t.Errorf("content after WriteFunc() = %q, %v; want %q", got, rerr, tt.want)
			}
			if fi, err := os.Lstat(path + atomicfile.TempSuffix); err == nil && !fi.IsDir() {
				t.Errorf("temporary file %s left behind", fi.Name())
			}
			if tt.name == "metadata set by write" {
				if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(mod) {
					t.Errorf("ModTime() = %v, %v; want %v", fi.ModTime(), err, mod)
				}
			}
		})
	}
}

func writeString(s string) func(*os.File) error {
	return func(f *os.File) error {
		_, err := f.WriteString(s)
		return err
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "marker")
	for _, content := range []string{"first", "second, longer", "3"} {
		if err := atomicfile.Write(path, []byte(content), 0o640); err != nil {
			t.Fatalf("Write(%q) = %v", content, err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Errorf("after Write(%q), ReadFile() = %q, %v", content, got, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("Stat() = %v, %v; want mode 0640", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries; want only the file", len(ents))
	}
	// The rename cannot replace a directory: the directory stays and the
	// temporary file goes.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(sub, []byte("x"), 0o600); err == nil {
		t.Errorf("Write(over a directory) = nil; want an error")
	}
	if _, err := os.Stat(filepath.Join(sub, "child")); err != nil {
		t.Errorf("the directory written over lost its entry: %v", err)
	}
	if _, err := os.Lstat(sub + atomicfile.TempSuffix); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file after a failed rename: %v; want none", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Write(in a missing directory) = %v; want ErrNotExist", err)
	}
}

func TestSyncDirAndRemove(t *testing.T) {
	dir := t.TempDir()
	if err := atomicfile.SyncDir(dir); err != nil {
		t.Errorf("SyncDir(%s) = %v", dir, err)
	}
	if err := atomicfile.SyncDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SyncDir(missing) = %v; want ErrNotExist", err)
	}
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second time, path is absent: no error
		if err := atomicfile.Remove(path); err != nil {
			t.Errorf("Remove() #%d = %v", i+1, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat() after Remove = %v; want ErrNotExist", err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "child"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Remove(full); err == nil {
		t.Errorf("Remove(a non-empty directory) = nil; want an error")
	}
}
