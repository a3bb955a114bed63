package mongodb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// FerretDB prefixes internal errors with its call stack, one
// "[file.go:123 pkg.(*T).Method] " frame per wrapping (its lazyerrors
// package), and sends them to clients as they are: the message of a
// failed insert starts with seven frames before PostgreSQL's complaint.
// FerretDB has no option to turn this off, so clients reach it through a
// relay that rewrites the errmsg of replies. The relay copies requests
// untouched and reads replies one wire message at a time; only a reply
// that contains ".go:" is decoded, and only its errmsg/$err strings change.
//
// Hand-written because no library relays the MongoDB wire protocol; the
// BSON is read and written with the driver's bsoncore.

// traceFrame matches one frame of FerretDB's lazyerrors ("[unknown] " when
// the frame has no file).
var traceFrame = regexp.MustCompile(`\[(?:[\w.+-]+\.go:\d+(?: [^\]\s]+)?|unknown)\] `)

// stripTraces removes FerretDB's call-stack frames from an error message.
func stripTraces(msg string) string { return traceFrame.ReplaceAllString(msg, "") }

// Wire protocol facts (MongoDB's OP_MSG and legacy OP_REPLY).
const (
	opReply          = 1
	opMsg            = 2013
	headerLen        = 16
	msgChecksumFlag  = 1
	maxMessageLength = 48 << 20 // MongoDB's maxMessageSizeBytes
)

// relay serves one client: requests go to FerretDB as they come, replies
// come back with their error messages cleaned. It closes both connections
// when either side ends.
func relay(client, backend net.Conn) {
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); backend.Close() }) }
	go func() {
		_, _ = io.Copy(backend, client)
		closeBoth()
	}()
	_ = copyReplies(client, bufio.NewReader(backend))
	closeBoth()
}

func copyReplies(dst io.Writer, src *bufio.Reader) error {
	msg := make([]byte, 0, 64<<10)
	for {
		msg = msg[:headerLen]
		if _, err := io.ReadFull(src, msg); err != nil {
			return err
		}
		n := int(binary.LittleEndian.Uint32(msg))
		if n < headerLen || n > maxMessageLength {
			return fmt.Errorf("read reply: length %d out of range", n)
		}
		msg = append(msg[:headerLen], make([]byte, n-headerLen)...)
		if _, err := io.ReadFull(src, msg[headerLen:]); err != nil {
			return err
		}
		out := msg
		if bytes.Contains(msg[headerLen:], []byte(".go:")) {
			out = cleanReply(msg)
		}
		if _, err := dst.Write(out); err != nil {
			return err
		}
	}
}

// cleanReply returns the wire message with trace frames removed from its
// error messages, or msg itself when it cannot or need not change.
func cleanReply(msg []byte) []byte {
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
				out = append(append(out, 0), cleanDoc(doc)...)
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
			out = append(out, cleanDoc(doc)...)
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
