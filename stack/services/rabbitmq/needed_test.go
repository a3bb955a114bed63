package rabbitmq

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// needed follows applications and included_applications through the .app
// files of a plugins directory, ignores what is not there (OTP's own) and
// leaves out what nothing asks for.
func TestNeededFollowsAppFiles(t *testing.T) {
	dir := t.TempDir()
	app := func(dirName, name, body string) {
		ebin := filepath.Join(dir, dirName, "ebin")
		if err := os.MkdirAll(ebin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ebin, name+".app"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app("rabbit-3.10.8", "rabbit", `{application, rabbit, [{vsn,"3.10.8"},
		{applications, [kernel, stdlib, mnesia, rabbit_common, ra]},
		{included_applications, []}]}.`)
	app("rabbit_common-3.10.8", "rabbit_common", `{application,rabbit_common,[{applications,[kernel,ranch]}]}.`)
	app("ra-2.2.0", "ra", `{application,ra,[{applications,[kernel,aten]},{included_applications,[gen_batch_server]}]}.`)
	app("aten-0.5.8", "aten", `{application,aten,[{applications,[kernel]}]}.`)
	app("gen_batch_server-0.8.8", "gen_batch_server", `{application,gen_batch_server,[{applications,[kernel]}]}.`)
	app("ranch-2.1.0", "ranch", `{application,ranch,[{applications,[kernel]}]}.`)
	app("rabbitmq_prelaunch-3.10.8", "rabbitmq_prelaunch", `{application,rabbitmq_prelaunch,[{applications,[kernel]}]}.`)
	app("rabbitmq_prometheus-3.10.8", "rabbitmq_prometheus", `{application,rabbitmq_prometheus,[{applications,[rabbit,prometheus]}]}.`)
	app("prometheus-4.9.1", "prometheus", `{application,prometheus,[{applications,[kernel]}]}.`)
	app("rabbitmq_mqtt-3.10.8", "rabbitmq_mqtt", `{application,rabbitmq_mqtt,[{applications,[rabbit]}]}.`)

	got, err := needed(dir, "rabbit", "rabbitmq_prelaunch", plugin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		n, _, _ := strings.Cut(filepath.Base(p), "-")
		names = append(names, n)
	}
	want := []string{"aten", "gen_batch_server", "prometheus", "ra", "rabbit", "rabbit_common", "rabbitmq_prelaunch", "rabbitmq_prometheus", "ranch"}
	if !slices.Equal(names, want) {
		t.Errorf("needed = %v, want %v", names, want)
	}
	if _, err := needed(dir, "rabbit", "rabbitmq_stream"); err == nil {
		t.Error("a root missing from the directory must be an error (the node would not boot)")
	}
}
