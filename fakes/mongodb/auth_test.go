package mongodb

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

const (
	testUser     = "mossi"
	testPassword = "s3cret:p@ss/word" // URL-special characters on purpose
)

// startAuth serves a stand-in that requires testUser and returns it; the
// client is connected with the right credentials.
func startAuth(t *testing.T) (*Server, *mongo.Client) {
	t.Helper()
	return serveWith(t, Config{Listen: "127.0.0.1:0", SQLiteURL: "file:" + t.TempDir() + "/", User: testUser, Password: testPassword})
}

// connectAs connects to s as user with password (no credentials when user
// is empty), with mechanism when it is not empty.
func connectAs(t *testing.T, s *Server, user, password, mechanism string) *mongo.Client {
	t.Helper()
	u := url.URL{Scheme: "mongodb", Host: s.ln.Addr().String(), Path: "/"}
	if user != "" {
		u.User = url.UserPassword(user, password)
		q := url.Values{"authSource": {AuthDB}}
		if mechanism != "" {
			q.Set("authMechanism", mechanism)
		}
		u.RawQuery = q.Encode()
	}
	c, err := mongo.Connect(options.Client().ApplyURI(u.String()).SetServerSelectionTimeout(3 * time.Second))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

func TestAuthURIHasCredentials(t *testing.T) {
	s, _ := startAuth(t)
	want := "mongodb://mossi:s3cret%3Ap%40ss%2Fword@" + s.ln.Addr().String() + "/?authSource=admin"
	if s.URI() != want {
		t.Errorf("URI = %s, want %s", s.URI(), want)
	}
}

// The Go driver with the right password works, with each mechanism: the
// default (SCRAM-SHA-256, speculatively inside hello) and each one named.
func TestAuthRightPassword(t *testing.T) {
	s, c := startAuth(t)
	exerciseViewLog(t, c)
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1"} {
		t.Run(mech, func(t *testing.T) {
			c := connectAs(t, s, testUser, testPassword, mech)
			n, err := c.Database("mossi").Collection("card_views").CountDocuments(t.Context(), bson.D{})
			if err != nil || n != 60 {
				t.Errorf("count as %s = %d, %v; want 60", mech, n, err)
			}
		})
	}
}

func TestAuthWrongPassword(t *testing.T) {
	s, _ := startAuth(t)
	for name, user := range map[string]string{"wrong password": testUser, "unknown user": "root"} {
		t.Run(name, func(t *testing.T) {
			c := connectAs(t, s, user, "not-"+testPassword, "")
			_, err := c.Database("mossi").Collection("card_views").InsertOne(t.Context(), bson.D{{Key: "card_id", Value: 1}})
			if err == nil || !strings.Contains(err.Error(), "(AuthenticationFailed) Authentication failed.") {
				t.Errorf("insert = %v, want AuthenticationFailed", err)
			}
		})
	}
}

func TestAuthNoCredentials(t *testing.T) {
	s, _ := startAuth(t)
	c := connectAs(t, s, "", "", "")
	// MongoDB lets hello and ping through before authentication.
	if err := c.Ping(t.Context(), nil); err != nil {
		t.Fatalf("ping without credentials: %v", err)
	}
	_, err := c.Database("mossi").Collection("card_views").Find(t.Context(), bson.D{})
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 13 || ce.Name != "Unauthorized" || ce.Message != "Command find requires authentication" {
		t.Errorf("find without credentials = %#v, want Unauthorized (13)", err)
	}
}

// A client that asks nothing of auth gets FerretDB's hello unchanged, and
// a stand-in without a user lets everyone in, as mongod without --auth.
func TestNoAuthConfigured(t *testing.T) {
	s, c := serveWith(t, Config{Listen: "127.0.0.1:0", SQLiteURL: "file:" + t.TempDir() + "/"})
	if strings.Contains(s.URI(), "@") {
		t.Errorf("URI %s has credentials", s.URI())
	}
	if _, err := c.Database("mossi").Collection("v").InsertOne(t.Context(), bson.D{{Key: "a", Value: 1}}); err != nil {
		t.Errorf("insert without auth configured: %v", err)
	}
}

func TestAuthConfigNeedsBoth(t *testing.T) {
	for _, cfg := range []Config{{User: "mossi"}, {Password: "x"}} {
		cfg.Listen, cfg.SQLiteURL = "127.0.0.1:0", "file:"+t.TempDir()+"/"
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "set both user and password") {
			t.Errorf("New(%+v) = %v, want it to ask for both", cfg, err)
		}
	}
}

// The stand-in image reads the official image's variables.
func TestAuthImageEnv(t *testing.T) {
	t.Setenv("MONGO_INITDB_ROOT_USERNAME", testUser)
	t.Setenv("MONGO_INITDB_ROOT_PASSWORD", testPassword)
	s, c := serveWith(t, Config{Listen: "127.0.0.1:0", SQLiteURL: "file:" + t.TempDir() + "/", ImageEnv: true})
	if _, err := c.Database("mossi").Collection("v").InsertOne(t.Context(), bson.D{{Key: "a", Value: 1}}); err != nil {
		t.Errorf("insert with the image's credentials: %v", err)
	}
	_, err := connectAs(t, s, "", "", "").Database("mossi").Collection("v").Find(t.Context(), bson.D{})
	if err == nil {
		t.Error("find without credentials succeeded")
	}
}

// wire is a hand-driven client connection, for what the Go driver never
// sends: legacy OP_QUERY handshakes (pymongo's and older drivers' first
// hello), saslStart without speculative authentication, SCRAM's empty
// last round trip.
type wire struct {
	t  *testing.T
	c  net.Conn
	r  *bufio.Reader
	id int32
}

func dialWire(t *testing.T, s *Server) *wire {
	t.Helper()
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &wire{t: t, c: c, r: bufio.NewReader(c)}
}

// query sends an OP_QUERY on admin.$cmd and returns the OP_REPLY document.
func (w *wire) query(cmd bsoncore.Document) bsoncore.Document {
	body := binary.LittleEndian.AppendUint32(nil, 0) // flags
	body = append(append(body, "admin.$cmd"...), 0)
	body = binary.LittleEndian.AppendUint32(body, 0)          // numberToSkip
	body = binary.LittleEndian.AppendUint32(body, 0xffffffff) // numberToReturn -1
	reply := w.roundTrip(opQuery, append(body, cmd...), opReply)
	doc, _, ok := bsoncore.ReadDocument(reply[20:])
	if !ok {
		w.t.Fatalf("OP_REPLY without a document: %x", reply)
	}
	return doc
}

// msg sends an OP_MSG and returns the reply's body document.
func (w *wire) msg(cmd bsoncore.Document) bsoncore.Document {
	reply := w.roundTrip(opMsg, append([]byte{0, 0, 0, 0, 0}, cmd...), opMsg)
	doc, _, ok := bsoncore.ReadDocument(reply[5:])
	if !ok || reply[4] != 0 {
		w.t.Fatalf("OP_MSG reply without a body: %x", reply)
	}
	return doc
}

func (w *wire) roundTrip(op uint32, body []byte, wantOp uint32) []byte {
	w.t.Helper()
	w.id++
	msg := binary.LittleEndian.AppendUint32(nil, uint32(headerLen+len(body)))
	msg = binary.LittleEndian.AppendUint32(msg, uint32(w.id))
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = binary.LittleEndian.AppendUint32(msg, op)
	if _, err := w.c.Write(append(msg, body...)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
	reply, err := readMessage(w.r, nil)
	if err != nil {
		w.t.Fatalf("read reply: %v", err)
	}
	if got := binary.LittleEndian.Uint32(reply[12:]); got != wantOp {
		w.t.Fatalf("reply opcode %d, want %d", got, wantOp)
	}
	if got := int32(binary.LittleEndian.Uint32(reply[8:])); got != w.id {
		w.t.Fatalf("reply responseTo %d, want %d", got, w.id)
	}
	return reply[headerLen:]
}

func cmd(elems ...any) bsoncore.Document {
	d, err := bson.Marshal(bson.D(pairs(elems)))
	if err != nil {
		panic(err)
	}
	return d
}

func pairs(kv []any) []bson.E {
	var d []bson.E
	for i := 0; i < len(kv); i += 2 {
		d = append(d, bson.E{Key: kv[i].(string), Value: kv[i+1]})
	}
	return d
}

func wantOK(t *testing.T, what string, doc bsoncore.Document) {
	t.Helper()
	if ok, _ := doc.Lookup("ok").AsFloat64OK(); ok != 1 {
		t.Fatalf("%s: %v", what, doc)
	}
}

func payloadOf(t *testing.T, doc bsoncore.Document) string {
	t.Helper()
	_, b, ok := doc.Lookup("payload").BinaryOK()
	if !ok {
		t.Fatalf("no binary payload in %v", doc)
	}
	return string(b)
}

// A legacy OP_QUERY isMaster handshake, then SCRAM-SHA-1 through
// saslStart/saslContinue with the empty last round trip (no
// skipEmptyExchange), as older drivers do it.
func TestAuthLegacyHandshake(t *testing.T) {
	s, _ := startAuth(t)
	w := dialWire(t, s)

	hello := w.query(cmd("isMaster", 1, "helloOk", true, "saslSupportedMechs", "admin."+testUser))
	wantOK(t, "isMaster", hello)
	if v, _ := hello.Lookup("ismaster").BooleanOK(); !v {
		t.Errorf("isMaster reply says not master: %v", hello)
	}
	if v, _ := hello.Lookup("maxWireVersion").AsInt64OK(); v != 21 {
		t.Errorf("maxWireVersion = %d, want 21", v)
	}
	if got := hello.Lookup("saslSupportedMechs").String(); got != `["SCRAM-SHA-1","SCRAM-SHA-256"]` {
		t.Errorf("saslSupportedMechs = %s", got)
	}

	// Before authentication MongoDB refuses commands, over either opcode.
	find := cmd("find", "views", "$db", "mossi")
	res := w.msg(find)
	if code, _ := res.Lookup("code").AsInt64OK(); code != 13 {
		t.Errorf("find before auth = %v, want code 13", res)
	}
	res = w.query(cmd("listDatabases", 1))
	if code, _ := res.Lookup("code").AsInt64OK(); code != 13 {
		t.Errorf("OP_QUERY listDatabases before auth = %v, want code 13", res)
	}

	client, err := scram.SHA1.NewClientUnprepped(testUser, md5Hex(testUser+":mongo:"+testPassword), "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	first, _ := conv.Step("")
	res = w.msg(cmd("saslStart", 1, "mechanism", "SCRAM-SHA-1", "payload", bson.Binary{Data: []byte(first)}, "$db", "admin"))
	wantOK(t, "saslStart", res)
	final, err := conv.Step(payloadOf(t, res))
	if err != nil {
		t.Fatalf("client final: %v", err)
	}
	res = w.msg(cmd("saslContinue", 1, "conversationId", 1, "payload", bson.Binary{Data: []byte(final)}, "$db", "admin"))
	wantOK(t, "saslContinue", res)
	if _, err := conv.Step(payloadOf(t, res)); err != nil || !conv.Valid() {
		t.Fatalf("server signature not accepted: %v", err)
	}
	if done, _ := res.Lookup("done").BooleanOK(); done {
		t.Fatal("done before the empty exchange the client did not skip")
	}
	res = w.msg(cmd("find", "views", "$db", "mossi")) // still not authenticated
	if code, _ := res.Lookup("code").AsInt64OK(); code != 13 {
		t.Errorf("find before the last SASL step = %v, want code 13", res)
	}
	res = w.msg(cmd("saslContinue", 1, "conversationId", 1, "payload", bson.Binary{}, "$db", "admin"))
	wantOK(t, "last saslContinue", res)
	if done, _ := res.Lookup("done").BooleanOK(); !done {
		t.Fatalf("last saslContinue not done: %v", res)
	}
	wantOK(t, "find after auth", w.msg(find))
}

// speculativeAuthenticate in hello: the relay answers the first SCRAM step
// in the hello reply, and one saslContinue finishes.
func TestAuthSpeculative(t *testing.T) {
	s, _ := startAuth(t)
	w := dialWire(t, s)
	client, err := scram.SHA256.NewClient(testUser, testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	first, _ := conv.Step("")
	hello := w.msg(cmd("hello", 1, "$db", "admin", "speculativeAuthenticate", bson.D{
		{Key: "saslStart", Value: 1}, {Key: "mechanism", Value: "SCRAM-SHA-256"},
		{Key: "payload", Value: bson.Binary{Data: []byte(first)}}, {Key: "db", Value: "admin"},
		{Key: "options", Value: bson.D{{Key: "skipEmptyExchange", Value: true}}},
	}))
	wantOK(t, "hello", hello)
	spec, ok := hello.Lookup("speculativeAuthenticate").DocumentOK()
	if !ok {
		t.Fatalf("hello reply has no speculativeAuthenticate: %v", hello)
	}
	final, err := conv.Step(payloadOf(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	res := w.msg(cmd("saslContinue", 1, "conversationId", 1, "payload", bson.Binary{Data: []byte(final)}, "$db", "admin"))
	wantOK(t, "saslContinue", res)
	if done, _ := res.Lookup("done").BooleanOK(); !done {
		t.Fatalf("saslContinue with skipEmptyExchange not done: %v", res)
	}
	if _, err := conv.Step(payloadOf(t, res)); err != nil || !conv.Valid() {
		t.Fatalf("server signature not accepted: %v", err)
	}
	wantOK(t, "find after auth", w.msg(cmd("find", "views", "$db", "mossi")))
}

func md5Hex(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
