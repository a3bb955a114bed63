package stack

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The state loader never panics on any bytes, and what it accepts is a
// state later commands can use: its own name, a known backend, options in
// range, ports in range and every secret present.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"name":"fz","backend":"native","options":{"redisShards":3,"rabbitNodes":3},"ports":{"redis-0":{"main":21000}},"secrets":{"postgresPassword":"a","appUser":"b","appPassword":"c","mariadbRootPassword":"d","redisPassword":"e","erlangCookie":"f","s3AccessKey":"g","s3SecretKey":"h","statsPassword":"i"}}`))
	f.Add([]byte(`{garbage`))
	f.Add([]byte(`{"name":"fz","backend":"docker","ports":{}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := filepath.Join(t.TempDir(), "fz")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(statePath(dir), b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := LoadState(dir)
		if err != nil {
			if !errors.Is(err, ErrDamaged) || !errors.Is(err, ErrBadInput) {
				t.Fatalf("a bad state is %v, not ErrDamaged (bad input)", err)
			}
			return
		}
		if st.check("fz") != nil || st.Secrets.S3SecretKey == "" {
			t.Fatalf("accepted an unusable state: %+v", st)
		}
	})
}

// --port requests either pass (a known service or port, 1024-65535, once)
// or are refused as bad input; never a panic.
func FuzzCheckFixedPorts(f *testing.F) {
	f.Add("redis-0", 21234, "rabbitmq-1:dist", 21235)
	f.Add("nosuch", 80, "redis-0:", 0)
	f.Add(":main", 99999, "redis-0", 21234)
	svcs := []Service{{Name: "redis-0", Ports: []string{"main"}}, {Name: "rabbitmq-1", Ports: []string{"main", "dist", "epmd"}}, {Name: "app"}}
	f.Fuzz(func(t *testing.T, k1 string, p1 int, k2 string, p2 int) {
		fixed := map[string]int{k1: p1, k2: p2}
		err := CheckFixedPorts(svcs, fixed)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("%v: %v is not bad input", fixed, err)
			}
			return
		}
		for k, p := range fixed {
			if p < MinPort || p > MaxPort {
				t.Fatalf("accepted port %d for %s", p, k)
			}
		}
		if _, err := allocatePorts(svcs, nil, fixed); err != nil && !errors.Is(err, ErrBadInput) && !errors.Is(err, ErrPortInUse) {
			t.Fatalf("allocating accepted ports %v: %v", fixed, err)
		}
	})
}

// ParsePorts either returns one port per SERVICE[:PORTNAME] or refuses the
// spec as bad input; never a panic.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"postgres=15432", "rabbitmq-1:dist=21000", "postgres=notaport", "=1", "a=1=2", "redis-0= 21234 ", ""} {
		f.Add(s, "redis-0=21234")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := ParsePorts([]string{a, b})
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("%q %q: %v is not bad input", a, b, err)
			}
			return
		}
		if len(got) != 2 {
			t.Fatalf("%q %q parsed to %v", a, b, got)
		}
		for k := range got {
			if k == "" {
				t.Fatalf("%q %q gave an empty service", a, b)
			}
		}
	})
}
