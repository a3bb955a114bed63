package mongodb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// FerretDB prefixes internal errors with its call stack, one
// "[file.go:123 pkg.(*T).Method] " frame per wrapping (its lazyerrors
// package), and sends them to clients as they are: the message of a
// failed insert starts with seven frames before PostgreSQL's complaint.
// FerretDB has no option to turn this off, so clients reach it through a
// relay that rewrites the errmsg of replies. The relay reads replies one
// wire message at a time; only a reply that contains ".go:" is decoded,
// and only its errmsg/$err strings change. The relay also authenticates
// clients (auth.go): until a client has, it reads its requests one message
// at a time; after that it copies them untouched.
//
// Hand-written because no library relays the MongoDB wire protocol; the
// BSON is read and written with the driver's bsoncore.

// traceFrame matches one frame of FerretDB's lazyerrors ("[unknown] " when
// the frame has no file).
var traceFrame = regexp.MustCompile(`\[(?:[\w.+-]+\.go:\d+(?: [^\]\s]+)?|unknown)\] `)

// stripTraces removes FerretDB's call-stack frames from an error message.
func stripTraces(msg string) string { return traceFrame.ReplaceAllString(msg, "") }

// Wire protocol facts (MongoDB's OP_MSG and legacy OP_QUERY/OP_REPLY).
const (
	opReply          = 1
	opQuery          = 2004
	opMsg            = 2013
	headerLen        = 16
	msgChecksumFlag  = 1
	msgMoreToCome    = 2
	maxMessageLength = 48 << 20 // MongoDB's maxMessageSizeBytes
)

// session is one client connection through the relay.
type session struct {
	client, backend net.Conn
	// auth is nil when the server needs no credentials; then requests are
	// copied untouched from the start.
	auth *authState

	wmu    sync.Mutex // one whole message at a time to the client
	emu    sync.Mutex
	edits  map[int32]helloEdit // hello replies to rewrite, by request id
	nedits atomic.Int32        // len(edits), read without the lock per reply
	nextID atomic.Int32        // request ids of the relay's own replies
}

// relay serves one client: requests go to FerretDB as they come (after
// authentication, when creds is not nil), replies come back with their
// error messages cleaned. It closes both connections when either side
// ends.
func relay(client, backend net.Conn, creds *credentials) {
	s := &session{client: client, backend: backend}
	if creds != nil {
		s.auth = &authState{creds: creds}
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); backend.Close() }) }
	go func() {
		_ = s.copyRequests()
		closeBoth()
	}()
	_ = s.copyReplies(bufio.NewReader(backend))
	closeBoth()
}

// copyRequests passes the client's requests to FerretDB. Until the client
// has authenticated it reads them one message at a time and lets through
// only what MongoDB allows before authentication; after that it copies
// bytes.
func (s *session) copyRequests() error {
	src := bufio.NewReader(s.client)
	if s.auth != nil {
		var msg []byte
		for !s.auth.done {
			var err error
			if msg, err = readMessage(src, msg); err != nil {
				return err
			}
			if err := s.unauthenticated(msg); err != nil {
				return err
			}
		}
	}
	_, err := io.Copy(s.backend, src) // what src has buffered goes first
	return err
}

// unauthenticated handles one request of a client that has not
// authenticated yet: MongoDB 7 runs hello (isMaster), buildInfo, ping,
// endSessions and the SASL commands for it and refuses everything else.
func (s *session) unauthenticated(msg []byte) error {
	req, ok := parseRequest(msg)
	if !ok {
		// OP_COMPRESSED cannot come (no compressor is agreed: FerretDB
		// offers none) and the rest are gone from MongoDB 7.
		return fmt.Errorf("read request: opcode %d before authentication", binary.LittleEndian.Uint32(msg[12:]))
	}
	switch req.name {
	case "hello", "isMaster", "ismaster":
		if e, ok := s.auth.helloEditFor(req.cmd); ok {
			s.emu.Lock()
			if s.edits == nil {
				s.edits = map[int32]helloEdit{}
			}
			s.edits[req.id] = e
			s.nedits.Store(int32(len(s.edits)))
			s.emu.Unlock()
		}
		_, err := s.backend.Write(msg)
		return err
	case "buildInfo", "buildinfo", "ping", "endSessions":
		_, err := s.backend.Write(msg)
		return err
	case "saslStart":
		return s.reply(req, s.auth.saslStart(req.db, req.cmd))
	case "saslContinue":
		return s.reply(req, s.auth.saslContinue(req.cmd))
	default:
		return s.reply(req, unauthorized(req.name))
	}
}

// request is what the relay reads of a command before authentication.
type request struct {
	id         int32
	op         uint32
	moreToCome bool
	db, name   string
	cmd        bsoncore.Document
}

// parseRequest reads a command from an OP_MSG or an OP_QUERY on
// "db.$cmd" (the legacy form drivers still use for their first hello).
func parseRequest(msg []byte) (request, bool) {
	r := request{id: int32(binary.LittleEndian.Uint32(msg[4:])), op: binary.LittleEndian.Uint32(msg[12:])}
	body := msg[headerLen:]
	switch r.op {
	case opMsg:
		if len(body) < 5 {
			return r, false
		}
		flags := binary.LittleEndian.Uint32(body)
		r.moreToCome = flags&msgMoreToCome != 0
		// Find the body section; document sequences (kind 1) hold data,
		// not the command.
		var doc bsoncore.Document
		for rest := body[4:]; len(rest) > 0 && doc == nil; {
			switch rest[0] {
			case 0:
				d, _, ok := bsoncore.ReadDocument(rest[1:])
				if !ok {
					return r, false
				}
				doc = d
			case 1:
				size, _, ok := bsoncore.ReadLength(rest[1:])
				if !ok || size < 4 || int(size)+1 > len(rest) {
					return r, false
				}
				rest = rest[1+size:]
			default:
				return r, false
			}
		}
		if doc == nil {
			return r, false
		}
		r.cmd = doc
		r.db, _ = doc.Lookup("$db").StringValueOK()
	case opQuery:
		// flags, then the namespace as a C string
		end := bytes.IndexByte(body[min(4, len(body)):], 0)
		if end < 0 {
			return r, false
		}
		ns, rest := string(body[4:4+end]), body[4+end+1:]
		if len(rest) < 8 || !strings.HasSuffix(ns, ".$cmd") {
			return r, false
		}
		doc, _, ok := bsoncore.ReadDocument(rest[8:])
		if !ok {
			return r, false
		}
		// Drivers wrap the command when they add a read preference.
		if q, ok := doc.Lookup("$query").DocumentOK(); ok {
			doc = q
		}
		r.cmd, r.db = doc, strings.TrimSuffix(ns, ".$cmd")
	default:
		return r, false
	}
	first, err := r.cmd.IndexErr(0)
	if err != nil {
		return r, false
	}
	r.name = first.Key()
	return r, true
}

// reply answers req with doc, in the form the request came in.
func (s *session) reply(req request, doc bsoncore.Document) error {
	if req.moreToCome {
		return nil // the client wants no answer
	}
	msg := make([]byte, headerLen, headerLen+24+len(doc))
	binary.LittleEndian.PutUint32(msg[4:], uint32(s.nextID.Add(1)))
	binary.LittleEndian.PutUint32(msg[8:], uint32(req.id))
	if req.op == opMsg {
		binary.LittleEndian.PutUint32(msg[12:], opMsg)
		msg = append(msg, 0, 0, 0, 0, 0) // flags, body section
	} else {
		binary.LittleEndian.PutUint32(msg[12:], opReply)
		// responseFlags, cursorID, startingFrom, numberReturned = 1
		msg = append(msg, make([]byte, 20)...)
		binary.LittleEndian.PutUint32(msg[len(msg)-4:], 1)
	}
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return s.write(msg)
}

func (s *session) write(msg []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.client.Write(msg)
	return err
}

// readMessage reads one wire message into buf (grown as needed).
func readMessage(src *bufio.Reader, buf []byte) ([]byte, error) {
	msg := append(buf[:0], make([]byte, headerLen)...)
	if _, err := io.ReadFull(src, msg); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(msg))
	if n < headerLen || n > maxMessageLength {
		return nil, fmt.Errorf("read message: length %d out of range", n)
	}
	msg = append(msg, make([]byte, n-headerLen)...)
	if _, err := io.ReadFull(src, msg[headerLen:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// copyReplies passes FerretDB's replies to the client, rewriting hello
// replies the relay has additions for and error messages with traces.
func (s *session) copyReplies(src *bufio.Reader) error {
	msg := make([]byte, 0, 64<<10)
	for {
		var err error
		if msg, err = readMessage(src, msg); err != nil {
			return err
		}
		out := msg
		if s.nedits.Load() > 0 {
			responseTo := int32(binary.LittleEndian.Uint32(msg[8:]))
			s.emu.Lock()
			e, ok := s.edits[responseTo]
			delete(s.edits, responseTo)
			s.nedits.Store(int32(len(s.edits)))
			s.emu.Unlock()
			if ok {
				out = rewriteReply(out, e.apply)
			}
		}
		if bytes.Contains(out[headerLen:], []byte(".go:")) {
			out = rewriteReply(out, cleanDoc)
		}
		if err := s.write(out); err != nil {
			return err
		}
	}
}

// rewriteReply returns the wire message with edit applied to each of its
// documents (OP_MSG body, OP_REPLY documents), or msg itself when it
// cannot be rewritten.
func rewriteReply(msg []byte, edit func(bsoncore.Document) []byte) []byte {
	op := binary.LittleEndian.Uint32(msg[12:])
	body := msg[headerLen:]
	var out []byte
	switch op {
	case opMsg:
		flags := binary.LittleEndian.Uint32(body)
		if flags&msgChecksumFlag != 0 {
			return msg // FerretDB sends no checksums; rewriting would need a new one
		}
		out = append(out, body[:4]...)
		rest := body[4:]
		for len(rest) > 0 {
			kind := rest[0]
			switch kind {
			case 0: // the body document
				doc, rem, ok := bsoncore.ReadDocument(rest[1:])
				if !ok {
					return msg
				}
				out = append(append(out, 0), edit(doc)...)
				rest = rem
			case 1: // a document sequence: data, not errors
				size, _, ok := bsoncore.ReadLength(rest[1:])
				if !ok || size < 4 || int(size)+1 > len(rest) {
					return msg
				}
				out = append(out, rest[:1+size]...)
				rest = rest[1+size:]
			default:
				return msg
			}
		}
	case opReply:
		const prefix = 20 // responseFlags, cursorID, startingFrom, numberReturned
		if len(body) < prefix {
			return msg
		}
		out = append(out, body[:prefix]...)
		for rest := body[prefix:]; len(rest) > 0; {
			doc, rem, ok := bsoncore.ReadDocument(rest)
			if !ok {
				return msg
			}
			out = append(out, edit(doc)...)
			rest = rem
		}
	default:
		return msg
	}
	res := append(append([]byte(nil), msg[:headerLen]...), out...)
	binary.LittleEndian.PutUint32(res, uint32(len(res)))
	return res
}

// cleanDoc rewrites errmsg and $err strings at any depth (writeErrors,
// writeConcernError) and copies everything else as it is.
func cleanDoc(doc bsoncore.Document) []byte {
	elems, err := doc.Elements()
	if err != nil {
		return doc
	}
	idx, out := bsoncore.AppendDocumentStart(nil)
	for _, e := range elems {
		key, v := e.Key(), e.Value()
		switch {
		case v.Type == bsoncore.TypeString && (key == "errmsg" || key == "$err"):
			out = bsoncore.AppendStringElement(out, key, stripTraces(v.StringValue()))
		case v.Type == bsoncore.TypeEmbeddedDocument:
			out = bsoncore.AppendDocumentElement(out, key, cleanDoc(v.Document()))
		case v.Type == bsoncore.TypeArray:
			out = bsoncore.AppendArrayElement(out, key, cleanDoc(bsoncore.Document(v.Array())))
		default:
			out = append(bsoncore.AppendHeader(out, v.Type, key), v.Data...)
		}
	}
	out, err = bsoncore.AppendDocumentEnd(out, idx)
	if err != nil {
		return doc
	}
	return out
}
