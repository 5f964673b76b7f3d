package tariff

import (
	"bufio"
	"encoding"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// decodeTOML is a test-only decoder for the subset of TOML the example
// configurations use (tables, arrays of tables, integers, strings,
// booleans, arrays of strings). It is strict — an unknown key fails — so
// the test proves the files use the Config's toml tags.
func decodeTOML(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	root := reflect.ValueOf(v).Elem()
	cur := root
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		line = stripComment(line)
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "[[") && strings.HasSuffix(line, "]]"):
			path := strings.Split(strings.Trim(line, "[]"), ".")
			parent, err := walk(root, path[:len(path)-1])
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			sl, err := field(parent, path[len(path)-1])
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			sl.Set(reflect.Append(sl, reflect.Zero(sl.Type().Elem())))
			cur = sl.Index(sl.Len() - 1)
		case strings.HasPrefix(line, "["):
			cur, err = walk(root, strings.Split(strings.Trim(line, "[]"), "."))
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
		default:
			key, val, ok := strings.Cut(line, "=")
			if !ok {
				return fmt.Errorf("line %d: want key = value", n)
			}
			fv, err := field(cur, strings.TrimSpace(key))
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			if err := setValue(fv, strings.TrimSpace(val)); err != nil {
				return fmt.Errorf("line %d: %s: %w", n, key, err)
			}
		}
	}
	return sc.Err()
}

// stripComment cuts a # comment that is not inside a string.
func stripComment(line string) string {
	in := false
	for i, r := range line {
		switch {
		case r == '"':
			in = !in
		case r == '#' && !in:
			return line[:i]
		}
	}
	return line
}

func walk(v reflect.Value, path []string) (reflect.Value, error) {
	for _, p := range path {
		f, err := field(v, p)
		if err != nil {
			return v, err
		}
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
			}
			f = f.Elem()
		}
		v = f
	}
	return v, nil
}

func field(v reflect.Value, key string) (reflect.Value, error) {
	t := v.Type()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("toml") == key {
			return v.Field(i), nil
		}
	}
	return v, fmt.Errorf("unknown key %q in %s", key, t)
}

func setValue(f reflect.Value, s string) error {
	if tu, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return tu.UnmarshalText([]byte(strings.Trim(s, `"`)))
	}
	switch f.Kind() {
	case reflect.String:
		u, err := strconv.Unquote(s)
		if err != nil {
			return err
		}
		f.SetString(u)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Slice:
		inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
		sl := reflect.MakeSlice(f.Type(), 0, 4)
		for _, item := range strings.Split(inner, ",") {
			e := reflect.New(f.Type().Elem()).Elem()
			if err := setValue(e, strings.TrimSpace(item)); err != nil {
				return err
			}
			sl = reflect.Append(sl, e)
		}
		f.Set(sl)
	default:
		return fmt.Errorf("unsupported kind %s", f.Kind())
	}
	return nil
}

func TestExampleConfigs(t *testing.T) {
	t.Run("shenzhen", func(t *testing.T) {
		var cfg Config
		if err := decodeTOML("testdata/shenzhen.toml", &cfg); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if want := shenzhen(); !reflect.DeepEqual(cfg, want) {
			t.Errorf("testdata/shenzhen.toml = %+v; want shenzhen() %+v", cfg, want)
		}
	})
	t.Run("daynight", func(t *testing.T) {
		var cfg Config
		if err := decodeTOML("testdata/daynight.toml", &cfg); err != nil {
			t.Fatalf("decode: %v", err)
		}
		e := mustNew(t, cfg)
		if got := e.ReservedOutTime(); got != 15*time.Minute {
			t.Errorf("ReservedOutTime() = %v; want 15m", got)
		}
		if !e.IsMilitaryPolice("军A12345") || e.IsMilitaryPolice("北K12345") {
			t.Errorf("IsMilitaryPolice does not follow military_prefixes = [WJ, 军]")
		}
		// 3/4: day first hour 19:00–20:00 500, night flat 500 → 1000.
		// 3/5: day 08:00–20:00 24×200 = 4800 → day cap 3000; night flat
		// 500 → 3500, exactly the calendar-day cap.
		// 3/6: 08:00–09:00 2×200 = 400 (the first period was spent).
		// 1000 + 3500 + 400 = 4900.
		for _, c := range []Class{Small, Large} { // Large falls back to Small
			q, err := e.Quote(Query{Class: c, Entry: at("2024-03-04 19:00"), Exit: at("2024-03-06 09:00")})
			if err != nil {
				t.Fatal(err)
			}
			if q.Total != 4900 {
				t.Errorf("Quote(%v 19:00 → +2 days 09:00).Total = %d; want 4900", c, q.Total)
				for _, l := range q.Breakdown {
					t.Logf("  %s", l)
				}
			}
		}
	})
}
