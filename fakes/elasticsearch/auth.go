package elasticsearch

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// ElasticUser is the built-in superuser every request authenticates as.
const ElasticUser = "elastic"

// basicChallenge is the challenge Elasticsearch 8 sends with a 401.
const basicChallenge = `Basic realm="security" charset="UTF-8"`

// password returns the elastic user's password Run requires, or "" when
// security is off. With ImageEnv it reads the official image's variables:
// xpack.security.enabled=false turns security off, ELASTIC_PASSWORD sets
// the password, and without it a random one is generated and printed, as
// Elasticsearch does on its first start.
func (cfg Config) password() (string, error) {
	if cfg.ImageEnv {
		if os.Getenv("xpack.security.enabled") == "false" {
			return "", nil
		}
		if pw := os.Getenv("ELASTIC_PASSWORD"); pw != "" {
			return pw, nil
		}
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("generate elastic password: %w", err)
		}
		pw := base64.RawURLEncoding.EncodeToString(b)
		fmt.Fprintf(os.Stderr, "Password for the %s user (set ELASTIC_PASSWORD to choose it): %s\n", ElasticUser, pw)
		return pw, nil
	}
	if cfg.Password == "" {
		return "", errors.New("check config: no password (set password): every request must authenticate as the elastic user")
	}
	return cfg.Password, nil
}

// requireAuth answers only requests that carry the elastic user's password
// in HTTP basic auth, and the rest as Elasticsearch 8 with security on
// does: 401, the Basic challenge, a security_exception body.
func requireAuth(h http.Handler, password string) http.Handler {
	want := []byte(password)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(user), []byte(ElasticUser))&subtle.ConstantTimeCompare([]byte(pw), want) == 1 {
			h.ServeHTTP(w, r)
			return
		}
		reason := fmt.Sprintf("missing authentication credentials for REST request [%s]", r.URL.RequestURI())
		if ok {
			reason = fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", user, r.URL.RequestURI())
		}
		e := &esError{status: http.StatusUnauthorized, typ: "security_exception", reason: reason,
			extra: map[string]any{"header": map[string]any{"WWW-Authenticate": []string{basicChallenge}}}}
		w.Header().Set("WWW-Authenticate", basicChallenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		if r.Method != http.MethodHead {
			_ = json.NewEncoder(w).Encode(e.body())
		}
	})
}
