package serve

import (
	"strings"
	"testing"

	"github.com/mossdev/mossdev/fakes"
	"github.com/mossdev/mossdev/fakes/cdn"
	"github.com/mossdev/mossdev/fakes/elasticsearch"
	"github.com/mossdev/mossdev/fakes/mongodb"
	"github.com/mossdev/mossdev/fakes/s3"
)

// A hand-written config (an image's environment) with a mistyped key must
// fail the start, not serve with an empty field.
func TestRunRefusesUnknownConfigKey(t *testing.T) {
	err := Run(t.Context(), fakes.S3, []byte(`{"listen":"127.0.0.1:0","dri":"/tmp/x"}`))
	if err == nil || !strings.Contains(err.Error(), `unknown field "dri"`) {
		t.Fatalf("Run with a mistyped key: got %v, want an unknown field error", err)
	}
}

func TestRunRefusesUnknownFake(t *testing.T) {
	if err := Run(t.Context(), "nosuch", []byte(`{}`)); err == nil {
		t.Fatal("Run of an unknown fake succeeded")
	}
}

// Every typed config is registered under the kind it names, and ServeEnv
// carries that kind.
func TestEveryConfigIsRegistered(t *testing.T) {
	for _, c := range []fakes.Config{s3.Config{}, cdn.Config{}, mongodb.Config{}, elasticsearch.Config{}} {
		if _, ok := runners[c.Kind()]; !ok {
			t.Errorf("%T: kind %q not registered", c, c.Kind())
		}
		env, err := fakes.ServeEnv(c)
		if err != nil {
			t.Fatalf("ServeEnv(%T): %v", c, err)
		}
		if want := fakes.EnvKind + "=" + c.Kind(); env[0] != want {
			t.Errorf("ServeEnv(%T)[0] = %q, want %q", c, env[0], want)
		}
	}
}
