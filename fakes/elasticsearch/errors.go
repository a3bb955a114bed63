package elasticsearch

import (
	"errors"
	"fmt"
	"net/http"
)

// esError is an error the client must see in Elasticsearch's own shape, so
// that go-elasticsearch (and any other client) can decode it as an
// ElasticsearchError and branch on its type exactly as it would against ES.
type esError struct {
	status int
	typ    string
	reason string
	// extra holds the additional keys ES puts beside type and reason (index,
	// index_uuid, resource.id, ...); it is repeated in root_cause like ES does.
	extra map[string]any
}

func (e *esError) Error() string { return e.typ + ": " + e.reason }

func (e *esError) body() map[string]any {
	cause := map[string]any{"type": e.typ, "reason": e.reason}
	for k, v := range e.extra {
		cause[k] = v
	}
	top := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		top[k] = v
	}
	return map[string]any{"error": top, "status": e.status}
}

func newError(status int, typ, format string, args ...any) *esError {
	return &esError{status: status, typ: typ, reason: fmt.Sprintf(format, args...)}
}

// unsupportedType is the error type for everything Elasticsearch accepts but
// this emulator does not implement; a distinct type lets callers tell "the
// stand-in cannot do this" apart from "my request is wrong".
const unsupportedType = "unsupported_operation_exception"

// errUnsupported reports a request the emulator refuses rather than answer
// wrongly; what names the feature, e.g. "query type [fuzzy]".
func errUnsupported(format string, args ...any) *esError {
	what := fmt.Sprintf(format, args...)
	return newError(http.StatusBadRequest, unsupportedType,
		"%s is not supported by the mossdev Elasticsearch emulator", what)
}

func errParsing(format string, args ...any) *esError {
	return newError(http.StatusBadRequest, "parsing_exception", format, args...)
}

func errIllegalArgument(format string, args ...any) *esError {
	return newError(http.StatusBadRequest, "illegal_argument_exception", format, args...)
}

func errMapperParsing(format string, args ...any) *esError {
	return newError(http.StatusBadRequest, "mapper_parsing_exception", format, args...)
}

func errIndexNotFound(name string) *esError {
	e := newError(http.StatusNotFound, "index_not_found_exception", "no such index [%s]", name)
	e.extra = map[string]any{
		"resource.type": "index_or_alias",
		"resource.id":   name,
		"index_uuid":    "_na_",
		"index":         name,
	}
	return e
}

func errIndexExists(name, uuid string) *esError {
	e := newError(http.StatusBadRequest, "resource_already_exists_exception",
		"index [%s/%s] already exists", name, uuid)
	e.extra = map[string]any{"index_uuid": uuid, "index": name}
	return e
}

func errVersionConflict(ix *index, id, format string, args ...any) *esError {
	e := newError(http.StatusConflict, "version_conflict_engine_exception",
		"[%s]: version conflict, %s", id, fmt.Sprintf(format, args...))
	e.extra = map[string]any{"index_uuid": ix.meta().UUID, "shard": "0", "index": ix.name}
	return e
}

func errDocumentMissing(ix *index, id string) *esError {
	e := newError(http.StatusNotFound, "document_missing_exception", "[%s]: document missing", id)
	e.extra = map[string]any{"index_uuid": ix.meta().UUID, "shard": "0", "index": ix.name}
	return e
}

// asESError turns any error into the ES shape; errors that are not already
// ES-shaped are internal failures (disk, bleve) and surface as 500.
func asESError(err error) *esError {
	var e *esError
	if errors.As(err, &e) {
		return e
	}
	return newError(http.StatusInternalServerError, "exception", "%s", err.Error())
}
