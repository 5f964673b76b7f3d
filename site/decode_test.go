package site

import (
	"encoding/json"
	"testing"
)

var msgIDCases = []struct {
	box, id string
	want    uint64
	ok      bool
}{
	{"b", "b/1", 1, true},
	{"b", "b/18446744073709551615", 1<<64 - 1, true},
	{"b", "b/0", 0, false},
	{"b", "a/1", 0, false},
	{"b", "b/", 0, false},
	{"b", "b/-1", 0, false},
	{"b", "b/1/2", 0, false},
	{"b", "", 0, false},
	{"b", "b/01", 0, false}, // not the form msgID writes (found by FuzzParseMsgID)
	{"b", "b/+1", 0, false},
	{"b", "b1", 0, false},
}

func TestParseMsgID(t *testing.T) {
	for _, tc := range msgIDCases {
		got, err := parseMsgID(tc.box, tc.id)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMsgID(%q, %q) = %d, %v; want %d, ok %v", tc.box, tc.id, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseMsgID(f *testing.F) {
	for _, tc := range msgIDCases {
		f.Add(tc.box, tc.id)
	}
	f.Fuzz(func(t *testing.T, box, id string) {
		seq, err := parseMsgID(box, id)
		if err != nil {
			return
		}
		if seq == 0 || msgID(box, seq) != id {
			t.Fatalf("parseMsgID(%q, %q) = %d; msgID gives %q back", box, id, seq, msgID(box, seq))
		}
	})
}

var helloCases = []struct {
	subject, data string
	ok            bool
}{
	{"laned.hello.b", `{"box":"b","head":3,"published":2,"entries":[1],"exits":[2],"at":1}`, true},
	{"laned.hello.b", `{"box":"a","head":3,"published":2}`, false},
	{"laned.hello.b", `{"box":"b","head":2,"published":3}`, false},
	{"laned.hello.b", `not json`, false},
	{"laned.fetch.b", `{"box":"b"}`, false},
	{"laned.hello.b", `{"box":"b","head":-1}`, false},
}

func TestDecodeHello(t *testing.T) {
	for _, tc := range helloCases {
		if _, err := decodeHello(tc.subject, []byte(tc.data)); (err == nil) != tc.ok {
			t.Errorf("decodeHello(%q, %s) = %v; want ok %v", tc.subject, tc.data, err, tc.ok)
		}
	}
}

func FuzzDecodeHello(f *testing.F) {
	for _, tc := range helloCases {
		f.Add(tc.subject, []byte(tc.data))
	}
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		h, err := decodeHello(subject, data)
		if err != nil {
			return
		}
		if subject != helloSubject(h.Box) || h.Published > h.Head || len(h.Entries) > maxLanes || len(h.Exits) > maxLanes {
			t.Fatalf("decodeHello(%q, %q) accepted %+v", subject, data, h)
		}
	})
}

var fetchedCases = []struct {
	after uint64
	data  string
	n     int
	ok    bool
}{
	{0, `[]`, 0, true},
	{0, `null`, 0, true},
	{2, `[{"o":"b","s":3,"k":"record","key":"r"},{"o":"b","s":5,"k":"record","key":"r"}]`, 2, true},
	{3, `[{"o":"b","s":3}]`, 0, false},
	{0, `[{"o":"a","s":1}]`, 0, false},
	{0, `[{"o":"b","s":2},{"o":"b","s":2}]`, 0, false},
	{0, `{"o":"b"}`, 0, false},
}

func TestDecodeFetched(t *testing.T) {
	for _, tc := range fetchedCases {
		es, err := decodeFetched("b", tc.after, []byte(tc.data))
		if (err == nil) != tc.ok || len(es) != tc.n {
			t.Errorf("decodeFetched(b, %d, %s) = %d entries, %v; want %d, ok %v", tc.after, tc.data, len(es), err, tc.n, tc.ok)
		}
	}
}

func FuzzDecodeFetched(f *testing.F) {
	for _, tc := range fetchedCases {
		f.Add(tc.after, []byte(tc.data))
	}
	f.Fuzz(func(t *testing.T, after uint64, data []byte) {
		es, err := decodeFetched("b", after, data)
		if err != nil {
			return
		}
		last := after
		for _, e := range es {
			if e.Origin != "b" || e.Seq <= last {
				t.Fatalf("decodeFetched(b, %d, %q) accepted %+v", after, data, es)
			}
			last = e.Seq
		}
	})
}

func FuzzDecodeEntry(f *testing.F) {
	for _, s := range []string{`{"o":"b","s":1,"t":"2026-01-02T03:04:05Z","k":"record","key":"r","d":{"x":1}}`,
		`{"o":"b","s":0}`, `{"o":"a","s":1}`, `[]`, `{"o":"b","s":1,"d":nul}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEntry("b", data)
		if err != nil {
			return
		}
		if e.Origin != "b" || e.Seq == 0 || (e.Data != nil && !json.Valid(e.Data)) {
			t.Fatalf("decodeEntry(%q) accepted %+v", data, e)
		}
	})
}

func FuzzDecodeFetchReq(f *testing.F) {
	for _, s := range []string{`{"after":3,"max":10}`, `{"after":0,"max":100000}`, `{"max":0}`, `{"after":-1}`, `x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeFetchReq(data)
		if err != nil {
			return
		}
		if req.Max <= 0 || req.Max > batchMax {
			t.Fatalf("decodeFetchReq(%q) = %+v", data, req)
		}
	})
}
