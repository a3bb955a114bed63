package mongodb

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Authentication happens at the relay, the way a MongoDB server started
// with MONGO_INITDB_ROOT_USERNAME/PASSWORD does it: one user in the admin
// database, SCRAM-SHA-256 and SCRAM-SHA-1 over saslStart/saslContinue
// (also speculatively, inside hello), and every other command refused with
// Unauthorized until the connection has authenticated. FerretDB 1.24 has
// SCRAM behind a flag, but its embedding API (package ferretdb) does not
// expose that flag or the setup user, and no Go library serves the MongoDB
// wire protocol's authentication, so the command handling is ours; the
// SCRAM exchange itself is github.com/xdg-go/scram, the library the Go
// driver authenticates with.

// AuthDB is the database the user lives in, as with the official image's
// root user: clients say authSource=admin.
const AuthDB = "admin"

// Iteration counts MongoDB uses for new users (its scramIterationCount and
// scramSHA256IterationCount defaults).
const (
	sha1Iterations   = 10000
	sha256Iterations = 15000
)

// MongoDB's error codes for what the relay refuses.
const (
	codeUnauthorized         = 13
	codeAuthenticationFailed = 18
	codeProtocolError        = 17
	codeMechanismUnavailable = 334
)

// credentials are the stored SCRAM keys of the one user, computed once per
// server start (PBKDF2 is the slow part: a few milliseconds).
type credentials struct {
	user   string
	sha1   *scram.Server
	sha256 *scram.Server
}

func newCredentials(user, password string) (*credentials, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("make scram salt: %w", err)
	}
	// SCRAM-SHA-1 in MongoDB hashes the password first (its legacy
	// MONGODB-CR digest), as the driver does on its side.
	digest := md5.Sum([]byte(user + ":mongo:" + password))
	sha1Client, err := scram.SHA1.NewClientUnprepped(user, hex.EncodeToString(digest[:]), "")
	if err != nil {
		return nil, fmt.Errorf("prepare scram-sha-1 credentials: %w", err)
	}
	sha256Client, err := scram.SHA256.NewClient(user, password, "")
	if err != nil {
		return nil, fmt.Errorf("prepare scram-sha-256 credentials: %w", err)
	}
	c := &credentials{user: user}
	for _, m := range []struct {
		client *scram.Client
		hash   scram.HashGeneratorFcn
		iters  int
		server **scram.Server
	}{
		{sha1Client, scram.SHA1, sha1Iterations, &c.sha1},
		{sha256Client, scram.SHA256, sha256Iterations, &c.sha256},
	} {
		stored, err := m.client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: m.iters})
		if err != nil {
			return nil, fmt.Errorf("derive scram credentials: %w", err)
		}
		*m.server, err = m.hash.NewServer(func(name string) (scram.StoredCredentials, error) {
			if name != user {
				return scram.StoredCredentials{}, errors.New("no such user")
			}
			return stored, nil
		})
		if err != nil {
			return nil, fmt.Errorf("make scram server: %w", err)
		}
	}
	return c, nil
}

// authState is one connection's progress through authentication.
type authState struct {
	creds  *credentials
	conv   *scram.ServerConversation // the conversation under way, or nil
	skip   bool                      // the client asked to skip SCRAM's empty final round trip
	proven bool                      // the proof checked out, an empty saslContinue is due
	done   bool                      // authenticated
}

// conversationID is the only conversation a connection has at a time.
const conversationID = 1

// saslStart begins a SCRAM conversation and returns the reply document.
func (a *authState) saslStart(db string, cmd bsoncore.Document) bsoncore.Document {
	out, fail := a.start(db, cmd)
	if fail != nil {
		return fail
	}
	return saslReply(false, out)
}

// start checks a saslStart and takes SCRAM's first step; it returns the
// server's first message, or the error reply.
func (a *authState) start(db string, cmd bsoncore.Document) (string, bsoncore.Document) {
	a.conv, a.proven = nil, false
	mech, _ := cmd.Lookup("mechanism").StringValueOK()
	var server *scram.Server
	switch mech {
	case "SCRAM-SHA-256":
		server = a.creds.sha256
	case "SCRAM-SHA-1":
		server = a.creds.sha1
	default:
		return "", commandError(codeMechanismUnavailable, "MechanismUnavailable",
			fmt.Sprintf("Received authentication for mechanism %s which is unknown or not enabled", mech))
	}
	if db != AuthDB {
		return "", authFailed() // the user exists in admin only
	}
	payload, ok := saslPayload(cmd)
	if !ok {
		return "", authFailed()
	}
	conv := server.NewConversation()
	out, err := conv.Step(payload)
	if err != nil {
		return "", authFailed()
	}
	skip, _ := cmd.Lookup("options", "skipEmptyExchange").BooleanOK()
	a.conv, a.skip = conv, skip
	return out, nil
}

// saslContinue takes the client's proof (or the empty last step) and
// returns the reply document; on success the connection is authenticated.
func (a *authState) saslContinue(cmd bsoncore.Document) bsoncore.Document {
	id, ok := cmd.Lookup("conversationId").AsInt64OK()
	if a.conv == nil || !ok || id != conversationID {
		return commandError(codeProtocolError, "ProtocolError", "No SASL session state found")
	}
	if a.proven {
		a.conv, a.done = nil, true
		return saslReply(true, "")
	}
	payload, ok := saslPayload(cmd)
	if !ok {
		a.conv = nil
		return authFailed()
	}
	out, err := a.conv.Step(payload)
	if err != nil || !a.conv.Valid() {
		a.conv = nil
		return authFailed()
	}
	if a.skip {
		a.conv, a.done = nil, true
		return saslReply(true, out)
	}
	a.proven = true
	return saslReply(false, out)
}

// speculative runs the saslStart a hello carries in speculativeAuthenticate
// and returns what goes back in the hello reply, or nil when it failed (as
// MongoDB does: the client then sends saslStart itself and gets the error).
func (a *authState) speculative(hello bsoncore.Document) bsoncore.Document {
	spec, ok := hello.Lookup("speculativeAuthenticate").DocumentOK()
	if !ok {
		return nil
	}
	if _, ok := spec.Lookup("saslStart").AsInt64OK(); !ok {
		return nil // e.g. MONGODB-X509's authenticate: not offered
	}
	db, _ := spec.Lookup("db").StringValueOK()
	out, fail := a.start(db, spec)
	if fail != nil {
		return nil
	}
	return saslDoc(false, out).Build()
}

// saslPayload reads a SASL payload, sent as binary by drivers and as a
// string by some shells.
func saslPayload(cmd bsoncore.Document) (string, bool) {
	v := cmd.Lookup("payload")
	if _, b, ok := v.BinaryOK(); ok {
		return string(b), true
	}
	s, ok := v.StringValueOK()
	return s, ok
}

// saslDoc is a SASL step's result; hello's speculativeAuthenticate
// carries it without "ok".
func saslDoc(done bool, payload string) *bsoncore.DocumentBuilder {
	return bsoncore.NewDocumentBuilder().
		AppendInt32("conversationId", conversationID).
		AppendBoolean("done", done).
		AppendBinary("payload", 0, []byte(payload))
}

func saslReply(done bool, payload string) bsoncore.Document {
	return saslDoc(done, payload).AppendDouble("ok", 1).Build()
}

func authFailed() bsoncore.Document {
	return commandError(codeAuthenticationFailed, "AuthenticationFailed", "Authentication failed.")
}

func unauthorized(cmd string) bsoncore.Document {
	return commandError(codeUnauthorized, "Unauthorized", fmt.Sprintf("Command %s requires authentication", cmd))
}

func commandError(code int32, name, msg string) bsoncore.Document {
	return bsoncore.NewDocumentBuilder().
		AppendDouble("ok", 0).
		AppendString("errmsg", msg).
		AppendInt32("code", code).
		AppendString("codeName", name).
		Build()
}

// mechanisms is hello's saslSupportedMechs for the user, as MongoDB lists
// them for a user made with its default mechanisms.
var mechanisms = []string{"SCRAM-SHA-1", "SCRAM-SHA-256"}

// helloEdit is what the relay adds to FerretDB's reply to one hello.
type helloEdit struct {
	mechs       bool              // list the user's mechanisms
	speculative bsoncore.Document // the speculative saslStart's reply, or nil
}

// helloEditFor returns the additions a hello asks for, or ok false when
// FerretDB's reply can go as it is.
func (a *authState) helloEditFor(hello bsoncore.Document) (helloEdit, bool) {
	mechsFor, asked := hello.Lookup("saslSupportedMechs").StringValueOK()
	_, askedSpec := hello.Lookup("speculativeAuthenticate").DocumentOK()
	e := helloEdit{
		// "admin.mossi": MongoDB lists mechanisms only for a user that exists.
		mechs:       asked && mechsFor == AuthDB+"."+a.creds.user,
		speculative: a.speculative(hello),
	}
	// FerretDB answers saslSupportedMechs itself (with PLAIN, which the
	// relay does not accept), so a reply to a hello that asked is always
	// rewritten.
	return e, asked || askedSpec
}

// apply rewrites a hello reply: FerretDB's own saslSupportedMechs and
// speculativeAuthenticate go, the relay's come in before "ok".
func (e helloEdit) apply(doc bsoncore.Document) []byte {
	elems, err := doc.Elements()
	if err != nil {
		return doc
	}
	idx, out := bsoncore.AppendDocumentStart(nil)
	added := false
	add := func() {
		if added {
			return
		}
		added = true
		if e.mechs {
			aidx, arr := bsoncore.AppendArrayElementStart(out, "saslSupportedMechs")
			for i, m := range mechanisms {
				arr = bsoncore.AppendStringElement(arr, fmt.Sprint(i), m)
			}
			out, _ = bsoncore.AppendArrayEnd(arr, aidx)
		}
		if e.speculative != nil {
			out = bsoncore.AppendDocumentElement(out, "speculativeAuthenticate", e.speculative)
		}
	}
	for _, el := range elems {
		switch el.Key() {
		case "saslSupportedMechs", "speculativeAuthenticate":
			continue
		case "ok":
			add()
		}
		out = append(out, el...)
	}
	add()
	out, err = bsoncore.AppendDocumentEnd(out, idx)
	if err != nil {
		return doc
	}
	return out
}
