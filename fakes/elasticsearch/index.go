package elasticsearch

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
)

const (
	metaFile = "meta.json"
	bleveDir = "bleve"
)

// seqNoKey stores the last assigned sequence number inside the bleve index,
// written in the same batch as the documents so the two never disagree.
var seqNoKey = []byte("mossdev_seq_no")

// indexMeta is what we keep beside the bleve index: everything ES reports
// about an index that bleve does not know.
type indexMeta struct {
	UUID     string
	Created  int64 // epoch millis
	Shards   int
	Replicas int
	// Settings holds accepted settings that have no effect here (refresh
	// interval, ...), echoed by GET _settings.
	Settings map[string]any
	Mappings *rootMapping
}

type metaJSON struct {
	UUID     string          `json:"uuid"`
	Created  int64           `json:"creation_date"`
	Shards   int             `json:"number_of_shards"`
	Replicas int             `json:"number_of_replicas"`
	Settings map[string]any  `json:"settings,omitempty"`
	Mappings json.RawMessage `json:"mappings"`
}

// index is one ES index backed by one bleve (scorch) index on disk.
type index struct {
	name string
	dir  string
	bidx bleve.Index

	// life is held shared by every request using the index and exclusively
	// by delete and Close, so the bleve index is never closed under a
	// running search.
	life   sync.RWMutex
	closed bool

	// wmu serialises writers: version lookups, mapping growth and the batch
	// must not interleave between two requests on the same index.
	wmu   sync.Mutex
	seqNo int64 // next sequence number to assign; guarded by wmu

	metaPtr atomic.Pointer[indexMeta]
}

func (ix *index) meta() *indexMeta { return ix.metaPtr.Load() }

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:22]
}

// newAutoID makes a 20-character URL-safe id like ES's auto-generated ids.
func newAutoID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// bleveMapping is the mapping handed to bleve. Documents bypass it (we build
// bleve documents ourselves with IndexAdvanced), so it only selects BM25,
// the scoring Elasticsearch uses.
func bleveMapping() *mapping.IndexMappingImpl {
	m := bleve.NewIndexMapping()
	m.ScoringModel = bindex.BM25Scoring
	m.DefaultMapping.Dynamic = false
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// bleveRuntimeConfig bounds the wait for scorch's file lock: without it a
// second emulator on the same directory would hang instead of failing.
func bleveRuntimeConfig() map[string]any {
	return map[string]any{"bolt_timeout": "1s"}
}

func createIndex(dir, name string, meta *indexMeta) (*index, error) {
	// A directory without meta.json is a creation that crashed half-way.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear index directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create index directory %s: %w", dir, err)
	}
	b, err := bleve.NewUsing(filepath.Join(dir, bleveDir), bleveMapping(), scorch.Name, bleve.Config.DefaultKVStore, bleveRuntimeConfig())
	if err != nil {
		return nil, fmt.Errorf("create bleve index %s: %w", name, err)
	}
	ix := &index{name: name, dir: dir, bidx: b}
	ix.metaPtr.Store(meta)
	if err := ix.saveMeta(meta); err != nil {
		_ = b.Close()
		return nil, err
	}
	return ix, nil
}

func openIndex(dir, name string) (*index, error) {
	raw, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, fmt.Errorf("read index metadata: %w", err)
	}
	var mj metaJSON
	if err := json.Unmarshal(raw, &mj); err != nil {
		return nil, fmt.Errorf("parse index metadata %s: %w", filepath.Join(dir, metaFile), err)
	}
	m, err := parseRootMapping(mj.Mappings)
	if err != nil {
		return nil, fmt.Errorf("parse stored mapping of index %s: %w", name, err)
	}
	b, err := bleve.OpenUsing(filepath.Join(dir, bleveDir), bleveRuntimeConfig())
	if err != nil {
		return nil, fmt.Errorf("open bleve index %s (is another emulator using %s?): %w", name, dir, err)
	}
	ix := &index{name: name, dir: dir, bidx: b}
	ix.metaPtr.Store(&indexMeta{UUID: mj.UUID, Created: mj.Created, Shards: mj.Shards, Replicas: mj.Replicas, Settings: mj.Settings, Mappings: m})
	if v, err := b.GetInternal(seqNoKey); err == nil && len(v) == 8 {
		ix.seqNo = int64(binary.BigEndian.Uint64(v))
	}
	return ix, nil
}

// saveMeta writes meta.json atomically (temp file and rename), so a crash
// leaves either the old or the new mapping, never half of one.
func (ix *index) saveMeta(meta *indexMeta) error {
	mraw, err := json.Marshal(meta.Mappings.toJSON())
	if err != nil {
		return fmt.Errorf("encode mapping of index %s: %w", ix.name, err)
	}
	raw, err := json.MarshalIndent(metaJSON{UUID: meta.UUID, Created: meta.Created, Shards: meta.Shards,
		Replicas: meta.Replicas, Settings: meta.Settings, Mappings: mraw}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata of index %s: %w", ix.name, err)
	}
	tmp := filepath.Join(ix.dir, metaFile+".tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("write index metadata: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(ix.dir, metaFile)); err != nil {
		return fmt.Errorf("write index metadata: %w", err)
	}
	return nil
}

// setMapping publishes a new mapping and persists it. Callers hold wmu.
func (ix *index) setMapping(m *rootMapping) error {
	old := ix.meta()
	nm := *old
	nm.Mappings = m
	if err := ix.saveMeta(&nm); err != nil {
		return err
	}
	ix.metaPtr.Store(&nm)
	return nil
}

func (ix *index) close() error {
	ix.life.Lock()
	defer ix.life.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	return ix.bidx.Close()
}

func (ix *index) docCount() uint64 {
	n, _ := ix.bidx.DocCount()
	return n
}

func (ix *index) storeSize() int64 {
	var total int64
	_ = filepath.WalkDir(ix.dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// Write operations, shared by the single-document APIs and _bulk.

type opKind int

const (
	opIndex opKind = iota
	opCreate
	opUpdate
	opDelete
)

type writeOp struct {
	kind   opKind
	id     string // empty: auto-generate (index and create only)
	source []byte // index, create
	// update
	doc         map[string]any
	upsert      []byte
	docAsUpsert bool
	detectNoop  bool
	// optimistic concurrency control
	ifSeqNo       *int64
	ifPrimaryTerm *int64
}

type writeResult struct {
	id      string
	version int64
	seqNo   int64
	result  string // created, updated, deleted, not_found, noop
	status  int
	err     *esError
}

// docState is what a write needs to know about the current document.
type docState struct {
	exists  bool
	version int64
	seqNo   int64
	source  []byte // loaded lazily, for updates
}

// lookupStates fetches version and sequence number of the given ids with one
// search sorted on the #vs doc value, which avoids loading stored documents.
func (ix *index) lookupStates(ids []string) (map[string]*docState, error) {
	states := make(map[string]*docState, len(ids))
	if len(ids) == 0 {
		return states, nil
	}
	req := bleve.NewSearchRequestOptions(query.NewDocIDQuery(ids), len(ids), 0, false)
	req.Sort = search.SortOrder{&search.SortField{Field: fieldVersion, Type: search.SortFieldAsString}}
	req.Score = "none"
	res, err := ix.bidx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("look up document versions in %s: %w", ix.name, err)
	}
	for _, h := range res.Hits {
		st := &docState{exists: true}
		if len(h.Sort) > 0 {
			st.version, st.seqNo = parseVersionValue(h.Sort[0])
		}
		states[h.ID] = st
	}
	return states, nil
}

func parseVersionValue(s string) (version, seqNo int64) {
	v, sq, _ := strings.Cut(s, ":")
	version, _ = strconv.ParseInt(v, 10, 64)
	seqNo, _ = strconv.ParseInt(sq, 10, 64)
	return version, seqNo
}

// storedDoc loads a document's source and version; found is false when the
// id does not exist.
func (ix *index) storedDoc(id string) (source []byte, version, seqNo int64, found bool, err error) {
	d, err := ix.bidx.Document(id)
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("load document %s/%s: %w", ix.name, id, err)
	}
	if d == nil {
		return nil, 0, 0, false, nil
	}
	d.VisitFields(func(f bindex.Field) {
		switch f.Name() {
		case fieldSource:
			source = append([]byte(nil), f.Value()...)
		case fieldVersion:
			version, seqNo = parseVersionValue(string(f.Value()))
		}
	})
	return source, version, seqNo, source != nil, nil
}

// apply runs write operations in order as one bleve batch and reports each
// one's outcome. A failed operation does not stop the others, as in _bulk.
func (ix *index) apply(ops []writeOp) ([]writeResult, error) {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()

	var ids []string
	for i := range ops {
		if ops[i].id != "" {
			ids = append(ids, ops[i].id)
		}
	}
	states, err := ix.lookupStates(ids)
	if err != nil {
		return nil, err
	}
	state := func(id string) *docState {
		st, ok := states[id]
		if !ok {
			st = &docState{}
			states[id] = st
		}
		return st
	}

	m := ix.meta().Mappings
	mappingChanged := false
	batch := ix.bidx.NewBatch()
	results := make([]writeResult, len(ops))
	seq := ix.seqNo

	put := func(id string, st *docState, source []byte, res *writeResult) bool {
		version := st.version + 1
		if !st.exists {
			version = 1
		}
		doc, nm, err := buildDocument(m, id, source, version, seq)
		if err != nil {
			res.err = asESError(err)
			return false
		}
		if nm != m {
			m, mappingChanged = nm, true
		}
		if err := batch.IndexAdvanced(doc); err != nil {
			res.err = asESError(err)
			return false
		}
		res.version, res.seqNo = version, seq
		st.exists, st.version, st.seqNo, st.source = true, version, seq, source
		seq++
		return true
	}

	for i, op := range ops {
		res := &results[i]
		if op.id == "" {
			op.id = newAutoID()
		}
		res.id = op.id
		st := state(op.id)
		if op.ifSeqNo != nil || op.ifPrimaryTerm != nil {
			if !st.exists {
				res.err = errVersionConflict(ix, op.id, "required seqNo [%d], primary term [%d] but no document was found", deref(op.ifSeqNo), deref(op.ifPrimaryTerm))
				continue
			}
			if (op.ifSeqNo != nil && *op.ifSeqNo != st.seqNo) || (op.ifPrimaryTerm != nil && *op.ifPrimaryTerm != 1) {
				res.err = errVersionConflict(ix, op.id, "required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [1]", deref(op.ifSeqNo), deref(op.ifPrimaryTerm), st.seqNo)
				continue
			}
		}
		switch op.kind {
		case opIndex, opCreate:
			if op.kind == opCreate && st.exists {
				res.err = errVersionConflict(ix, op.id, "document already exists (current version [%d])", st.version)
				continue
			}
			existed := st.exists
			if put(op.id, st, op.source, res) {
				res.result, res.status = "created", http.StatusCreated
				if existed {
					res.result, res.status = "updated", http.StatusOK
				}
			}
		case opDelete:
			if !st.exists {
				res.version, res.seqNo, res.result, res.status = 1, seq, "not_found", http.StatusNotFound
				seq++
				continue
			}
			batch.Delete(op.id)
			st.exists, st.version, st.seqNo, st.source = false, st.version+1, seq, nil
			res.version, res.seqNo, res.result, res.status = st.version, seq, "deleted", http.StatusOK
			seq++
		case opUpdate:
			if !st.exists {
				var src []byte
				switch {
				case op.upsert != nil:
					src = op.upsert
				case op.docAsUpsert:
					src, _ = json.Marshal(op.doc)
				default:
					res.err = errDocumentMissing(ix, op.id)
					continue
				}
				if put(op.id, st, src, res) {
					res.result, res.status = "created", http.StatusCreated
				}
				continue
			}
			if st.source == nil {
				src, _, _, found, err := ix.storedDoc(op.id)
				if err != nil {
					res.err = asESError(err)
					continue
				}
				if !found {
					res.err = errDocumentMissing(ix, op.id)
					continue
				}
				st.source = src
			}
			old, err := decodeSource(st.source)
			if err != nil {
				res.err = asESError(err)
				continue
			}
			merged := deepMerge(cloneJSON(old), op.doc)
			if op.detectNoop && reflect.DeepEqual(merged, old) {
				res.version, res.seqNo, res.result, res.status = st.version, st.seqNo, "noop", http.StatusOK
				continue
			}
			src, err := json.Marshal(merged)
			if err != nil {
				res.err = asESError(err)
				continue
			}
			if put(op.id, st, src, res) {
				res.result, res.status = "updated", http.StatusOK
			}
		}
	}

	if seq != ix.seqNo {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(seq))
		batch.SetInternal(seqNoKey, buf[:])
	}
	if mappingChanged {
		// Persist the grown mapping before the documents that need it, so a
		// crash never leaves documents whose fields the mapping lacks.
		if err := ix.setMapping(m); err != nil {
			return nil, err
		}
	}
	if batch.Size() > 0 {
		if err := ix.bidx.Batch(batch); err != nil {
			return nil, fmt.Errorf("write batch to index %s: %w", ix.name, err)
		}
	}
	ix.seqNo = seq
	return results, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return -2 // ES prints UNASSIGNED_SEQ_NO this way
	}
	return *p
}

// deepMerge applies a partial document like ES's update API: objects merge
// recursively, everything else (arrays included) is replaced.
func deepMerge(dst, src map[string]any) map[string]any {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
	return dst
}

func cloneJSON(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneJSON(sub)
		}
		out[k] = v
	}
	return out
}

// validIndexName applies ES's index naming rules.
func validIndexName(name string) *esError {
	invalid := func(why string) *esError {
		e := newError(http.StatusBadRequest, "invalid_index_name_exception", "Invalid index name [%s], %s", name, why)
		e.extra = map[string]any{"index_uuid": "_na_", "index": name}
		return e
	}
	switch {
	case name == "" || name == "." || name == "..":
		return invalid("must not be '.' or '..'")
	case strings.ToLower(name) != name:
		return invalid("must be lowercase")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return invalid(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return invalid("must not start with '_', '-', or '+'")
	case len(name) > 255:
		return invalid("index name is too long")
	}
	return nil
}

var errClosed = errors.New("elasticsearch emulator is closed")

func nowMillis() int64 { return time.Now().UnixMilli() }
