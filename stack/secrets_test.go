package stack

import (
	"os"
	"path/filepath"
	"testing"
)

// A state file written before a secret existed still loads, gets the new
// secret, and keeps it: the second load sees the same value, and secrets
// it already had are kept.
func TestLoadStateAddsMissingSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "old")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := `{"name":"old","backend":"native","options":{"redisShards":3,"rabbitNodes":1},
	  "ports":{"s3":{"main":21000}},
	  "secrets":{"postgresPassword":"pg","appUser":"mossi","appPassword":"app","mariadbRootPassword":"root",
	    "redisPassword":"r","erlangCookie":"C","s3AccessKey":"AK","s3SecretKey":"SK","statsPassword":"st"}}`
	if err := os.WriteFile(statePath(dir), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(dir)
	if err != nil {
		t.Fatalf("load an older state: %v", err)
	}
	sec := st.Secrets
	if sec.ElasticPassword == "" || sec.CDNPurgeToken == "" {
		t.Fatalf("missing secrets not generated: %+v", sec)
	}
	if sec.S3AccessKey != "AK" || sec.PostgresPassword != "pg" || sec.AppUser != "mossi" {
		t.Errorf("existing secrets changed: %+v", sec)
	}
	again, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Secrets != sec {
		t.Errorf("second load: %+v, want the secrets the first load saved %+v", again.Secrets, sec)
	}
	if fi, err := os.Stat(statePath(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file after saving: %v, %v; want mode 0600", fi.Mode(), err)
	}
}

func TestNewSecretsFillsEveryField(t *testing.T) {
	s := newSecrets()
	if s.addMissing() {
		t.Errorf("newSecrets left a field empty: %+v", s)
	}
}
