package elasticsearch

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// writeParams are the parameters of single-document writes that cannot
// change the outcome on one emulated node (routing, waiting for shards,
// refresh: bleve makes writes visible immediately).
var writeParams = []string{"refresh", "routing", "timeout", "wait_for_active_shards", "require_data_stream", "master_timeout"}

const maxIDBytes = 512

func checkID(id string) error {
	if len(id) > maxIDBytes {
		return newError(http.StatusBadRequest, "action_request_validation_exception",
			"Validation Failed: 1: id [%s] is too long, must be no longer than 512 bytes but was: %d;", id, len(id))
	}
	return nil
}

// writeResponse renders a write result as the document APIs and _bulk do.
func writeResponse(ix *index, res writeResult, forcedRefresh bool) map[string]any {
	out := map[string]any{
		"_index":        ix.name,
		"_id":           res.id,
		"_version":      res.version,
		"result":        res.result,
		"_shards":       map[string]any{"total": 1 + ix.meta().Replicas, "successful": 1, "failed": 0},
		"_seq_no":       res.seqNo,
		"_primary_term": 1,
	}
	if forcedRefresh {
		out["forced_refresh"] = true
	}
	return out
}

// forcedRefresh reports whether the request asked for refresh=true, which
// ES acknowledges with "forced_refresh" (our writes are visible anyway).
func forcedRefresh(q *request) bool {
	v := q.params.Get("refresh")
	return q.params.Has("refresh") && (v == "" || v == "true")
}

func parseSeqNoParams(q *request) (ifSeqNo, ifPrimaryTerm *int64, err error) {
	for _, name := range []string{"if_seq_no", "if_primary_term"} {
		v := q.params.Get(name)
		if v == "" {
			continue
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return nil, nil, errIllegalArgument("Failed to parse long parameter [%s] with value [%s]", name, v)
		}
		if name == "if_seq_no" {
			ifSeqNo = &n
		} else {
			ifPrimaryTerm = &n
		}
	}
	return ifSeqNo, ifPrimaryTerm, nil
}

func (s *Server) indexDoc(q *request, name, id string, kind opKind) (int, any, error) {
	if err := q.allow(slices.Concat(writeParams, []string{"op_type", "if_seq_no", "if_primary_term"})...); err != nil {
		return 0, nil, err
	}
	switch q.params.Get("op_type") {
	case "", "index":
	case "create":
		kind = opCreate
	default:
		return 0, nil, errIllegalArgument("opType must be 'create' or 'index', found: [%s]", q.params.Get("op_type"))
	}
	if err := checkID(id); err != nil {
		return 0, nil, err
	}
	src := bytes.TrimSpace(q.body)
	if len(src) == 0 {
		return 0, nil, errParsing("request body is required")
	}
	ifSeqNo, ifTerm, err := parseSeqNoParams(q)
	if err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquireOrCreate(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	results, err := ix.apply([]writeOp{{kind: kind, id: id, source: src, ifSeqNo: ifSeqNo, ifPrimaryTerm: ifTerm}})
	if err != nil {
		return 0, nil, err
	}
	res := results[0]
	if res.err != nil {
		return 0, nil, res.err
	}
	return res.status, writeResponse(ix, res, forcedRefresh(q)), nil
}

func (s *Server) deleteDoc(q *request, name, id string) (int, any, error) {
	if err := q.allow(slices.Concat(writeParams, []string{"if_seq_no", "if_primary_term"})...); err != nil {
		return 0, nil, err
	}
	ifSeqNo, ifTerm, err := parseSeqNoParams(q)
	if err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	results, err := ix.apply([]writeOp{{kind: opDelete, id: id, ifSeqNo: ifSeqNo, ifPrimaryTerm: ifTerm}})
	if err != nil {
		return 0, nil, err
	}
	res := results[0]
	if res.err != nil {
		return 0, nil, res.err
	}
	return res.status, writeResponse(ix, res, forcedRefresh(q)), nil
}

// updateBody is the body of _update and of a bulk update action.
type updateBody struct {
	doc         map[string]any
	upsert      []byte
	docAsUpsert bool
	detectNoop  bool
}

func parseUpdateBody(raw []byte) (updateBody, error) {
	ub := updateBody{detectNoop: true}
	var obj map[string]json.RawMessage
	if err := decodeJSON(raw, &obj); err != nil || obj == nil {
		return ub, errParsing("failed to parse update request body")
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "doc":
			m, err := decodeSource(v)
			if err != nil {
				return ub, err
			}
			ub.doc = m
		case "upsert":
			if _, err := decodeSource(v); err != nil {
				return ub, err
			}
			ub.upsert = bytes.TrimSpace(v)
		case "doc_as_upsert":
			if err := json.Unmarshal(v, &ub.docAsUpsert); err != nil {
				return ub, errParsing("[doc_as_upsert] must be a boolean")
			}
		case "detect_noop":
			if err := json.Unmarshal(v, &ub.detectNoop); err != nil {
				return ub, errParsing("[detect_noop] must be a boolean")
			}
		case "script", "scripted_upsert", "_source", "lang", "params":
			return ub, errUnsupported("update option [%s]", k)
		default:
			return ub, errParsing("[UpdateRequest] unknown field [%s]", k)
		}
	}
	if ub.doc == nil {
		if ub.upsert != nil {
			return ub, errUnsupported("update with [upsert] but no [doc] (scripted updates)")
		}
		return ub, newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;")
	}
	return ub, nil
}

func (s *Server) updateDoc(q *request, name, id string) (int, any, error) {
	if err := q.allow(slices.Concat(writeParams, []string{"if_seq_no", "if_primary_term", "retry_on_conflict", "lang"})...); err != nil {
		return 0, nil, err
	}
	if err := checkID(id); err != nil {
		return 0, nil, err
	}
	ifSeqNo, ifTerm, err := parseSeqNoParams(q)
	if err != nil {
		return 0, nil, err
	}
	ub, err := parseUpdateBody(q.body)
	if err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquireOrCreate(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	results, err := ix.apply([]writeOp{{kind: opUpdate, id: id, doc: ub.doc, upsert: ub.upsert,
		docAsUpsert: ub.docAsUpsert, detectNoop: ub.detectNoop, ifSeqNo: ifSeqNo, ifPrimaryTerm: ifTerm}})
	if err != nil {
		return 0, nil, err
	}
	res := results[0]
	if res.err != nil {
		return 0, nil, res.err
	}
	out := writeResponse(ix, res, forcedRefresh(q))
	if res.result == "noop" {
		out["_shards"] = map[string]any{"total": 0, "successful": 0, "failed": 0}
	}
	return res.status, out, nil
}

func (s *Server) getDoc(q *request, name, id string, sourceOnly bool) (int, any, error) {
	if err := q.allow("realtime", "refresh", "routing", "preference", "_source", "_source_includes", "_source_excludes"); err != nil {
		return 0, nil, err
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	src, version, seqNo, found, err := ix.storedDoc(id)
	if err != nil {
		return 0, nil, err
	}
	if !found {
		if sourceOnly {
			return 0, nil, newError(http.StatusNotFound, "resource_not_found_exception", "Document not found [%s]/[%s]", name, id)
		}
		return http.StatusNotFound, map[string]any{"_index": name, "_id": id, "found": false}, nil
	}
	sf := sourceFilter{enabled: true}
	if v := q.params.Get("_source"); v != "" {
		switch v {
		case "true":
		case "false":
			sf.enabled = false
		default:
			sf.includes = splitComma(v)
		}
	}
	if v := q.params.Get("_source_includes"); v != "" {
		sf.includes = splitComma(v)
	}
	if v := q.params.Get("_source_excludes"); v != "" {
		sf.excludes = splitComma(v)
	}
	var source any
	if sf.enabled {
		if source, err = sf.apply(src); err != nil {
			return 0, nil, err
		}
	}
	if sourceOnly {
		return http.StatusOK, source, nil
	}
	out := map[string]any{"_index": name, "_id": id, "_version": version, "_seq_no": seqNo, "_primary_term": 1, "found": true}
	if sf.enabled {
		out["_source"] = source
	}
	return http.StatusOK, out, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range bytes.Split([]byte(s), []byte(",")) {
		if len(p) > 0 {
			out = append(out, string(p))
		}
	}
	return out
}

func (s *Server) mget(q *request, defaultIndex string) (int, any, error) {
	if err := q.allow("realtime", "refresh", "routing", "preference", "_source", "_source_includes", "_source_excludes"); err != nil {
		return 0, nil, err
	}
	var body struct {
		Docs []struct {
			Index  string          `json:"_index"`
			ID     string          `json:"_id"`
			Source json.RawMessage `json:"_source"`
		} `json:"docs"`
		IDs []string `json:"ids"`
	}
	dec := json.NewDecoder(bytes.NewReader(q.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return 0, nil, errParsing("failed to parse mget body: %s", err)
	}
	type target struct{ index, id string }
	var targets []target
	for _, d := range body.Docs {
		if d.Source != nil {
			return 0, nil, errUnsupported("per-document [_source] in _mget")
		}
		idx := d.Index
		if idx == "" {
			idx = defaultIndex
		}
		targets = append(targets, target{idx, d.ID})
	}
	for _, id := range body.IDs {
		if defaultIndex == "" {
			return 0, nil, newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: index is missing for doc 0;")
		}
		targets = append(targets, target{defaultIndex, id})
	}
	docs := make([]any, 0, len(targets))
	for _, t := range targets {
		_, v, err := s.getDoc(&request{r: q.r, w: q.w, params: q.params}, t.index, t.id, false)
		if err != nil {
			e := asESError(err)
			docs = append(docs, map[string]any{"_index": t.index, "_id": t.id, "error": e.body()["error"]})
			continue
		}
		docs = append(docs, v)
	}
	return http.StatusOK, map[string]any{"docs": docs}, nil
}

// _bulk

type bulkItem struct {
	action string
	index  string
	op     writeOp
	err    *esError // set while parsing: the item fails without running
}

var bulkMetaKeys = []string{"_index", "_id", "routing", "if_seq_no", "if_primary_term", "retry_on_conflict", "require_alias", "dynamic_templates", "op_type", "_source"}

func (s *Server) bulk(q *request, defaultIndex string) (int, any, error) {
	if err := q.allow(slices.Concat(writeParams, []string{"_source", "_source_includes", "_source_excludes", "require_alias", "list_executed_pipelines"})...); err != nil {
		return 0, nil, err
	}
	start := time.Now()
	items, err := parseBulk(q.body, defaultIndex)
	if err != nil {
		return 0, nil, err
	}
	// Group by index, keeping each index's items in request order, and run
	// each group as one bleve batch: batching is what makes bleve fast.
	var order []string
	groups := map[string][]int{}
	for i, it := range items {
		if it.err != nil {
			continue
		}
		if _, ok := groups[it.index]; !ok {
			order = append(order, it.index)
		}
		groups[it.index] = append(groups[it.index], i)
	}
	results := make([]writeResult, len(items))
	indexOf := map[string]*index{}
	for _, name := range order {
		idxs := groups[name]
		onlyDeletes := !slices.ContainsFunc(idxs, func(i int) bool { return items[i].op.kind != opDelete })
		var ix *index
		var release func()
		if onlyDeletes {
			ix, release, err = s.acquire(name)
		} else {
			ix, release, err = s.acquireOrCreate(name)
		}
		if err != nil {
			e := asESError(err)
			if e.status >= 500 {
				return 0, nil, err
			}
			for _, i := range idxs {
				items[i].err = e
			}
			continue
		}
		ops := make([]writeOp, len(idxs))
		for j, i := range idxs {
			ops[j] = items[i].op
		}
		res, err := ix.apply(ops)
		release()
		if err != nil {
			return 0, nil, err
		}
		for j, i := range idxs {
			results[i] = res[j]
		}
		indexOf[name] = ix
	}

	hasErrors := false
	out := make([]any, len(items))
	for i, it := range items {
		var entry map[string]any
		e := it.err
		if e == nil {
			e = results[i].err
		}
		if e != nil {
			hasErrors = true
			// Bulk item errors carry the cause without root_cause, as in ES.
			cause, _ := e.body()["error"].(map[string]any)
			delete(cause, "root_cause")
			entry = map[string]any{"_index": it.index, "_id": it.op.id, "status": e.status, "error": cause}
			if results[i].id != "" {
				entry["_id"] = results[i].id
			}
		} else {
			entry = writeResponse(indexOf[it.index], results[i], forcedRefresh(q))
			entry["status"] = results[i].status
			if results[i].result == "not_found" {
				// ES counts a missing delete as a normal item, not an error.
				entry["status"] = http.StatusNotFound
			}
		}
		out[i] = map[string]any{it.action: entry}
	}
	return http.StatusOK, map[string]any{"took": time.Since(start).Milliseconds(), "errors": hasErrors, "items": out}, nil
}

// parseBulk reads the NDJSON body: an action line, then a source line for
// index, create and update.
func parseBulk(body []byte, defaultIndex string) ([]*bulkItem, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
	}
	if body[len(body)-1] != '\n' {
		return nil, errIllegalArgument("The bulk request must be terminated by a newline [\\n]")
	}
	lines := bytes.Split(body, []byte("\n"))
	var items []*bulkItem
	for ln := 0; ln < len(lines); ln++ {
		line := bytes.TrimSpace(lines[ln])
		if len(line) == 0 {
			continue
		}
		var action map[string]map[string]json.RawMessage
		if err := decodeJSON(line, &action); err != nil || len(action) != 1 {
			return nil, errIllegalArgument("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", ln+1)
		}
		for name, meta := range action {
			it := &bulkItem{action: name, index: defaultIndex}
			switch name {
			case "index":
				it.op.kind = opIndex
			case "create":
				it.op.kind = opCreate
			case "update":
				it.op.kind = opUpdate
			case "delete":
				it.op.kind = opDelete
			default:
				return nil, errIllegalArgument("Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", ln+1, name)
			}
			for _, k := range sortedKeys(meta) {
				v := meta[k]
				if !slices.Contains(bulkMetaKeys, k) {
					if k == "pipeline" || k == "version" || k == "version_type" {
						return nil, errUnsupported("bulk metadata [%s]", k)
					}
					return nil, errIllegalArgument("Action/metadata line [%d] contains an unknown parameter [%s]", ln+1, k)
				}
				var err error
				switch k {
				case "_index":
					err = json.Unmarshal(v, &it.index)
				case "_id":
					var id any
					if err = decodeJSON(v, &id); err == nil {
						it.op.id, _ = scalarString(id)
					}
				case "if_seq_no", "if_primary_term":
					var n int64
					if err = json.Unmarshal(v, &n); err == nil {
						if k == "if_seq_no" {
							it.op.ifSeqNo = &n
						} else {
							it.op.ifPrimaryTerm = &n
						}
					}
				case "require_alias":
					var b bool
					if err = json.Unmarshal(v, &b); err == nil && b {
						return nil, errUnsupported("bulk metadata [require_alias: true] (aliases)")
					}
				case "dynamic_templates", "_source":
					return nil, errUnsupported("bulk metadata [%s]", k)
				}
				if err != nil {
					return nil, errIllegalArgument("Action/metadata line [%d]: malformed [%s]", ln+1, k)
				}
			}
			if it.index == "" {
				it.err = newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
			} else if verr := validIndexName(it.index); verr != nil {
				it.err = verr
			} else if err := checkID(it.op.id); err != nil {
				it.err = asESError(err)
			}
			if name != "delete" {
				ln++
				for ln < len(lines) && len(bytes.TrimSpace(lines[ln])) == 0 {
					ln++
				}
				if ln >= len(lines) {
					return nil, errIllegalArgument("The bulk request must be terminated by a newline [\\n]")
				}
				src := bytes.TrimSpace(lines[ln])
				if name == "update" {
					if it.op.id == "" && it.err == nil {
						it.err = newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
					}
					ub, err := parseUpdateBody(src)
					if err != nil {
						if it.err == nil {
							it.err = asESError(err)
						}
					} else {
						it.op.doc, it.op.upsert, it.op.docAsUpsert, it.op.detectNoop = ub.doc, ub.upsert, ub.docAsUpsert, ub.detectNoop
					}
				} else {
					it.op.source = append([]byte(nil), src...)
				}
			} else if it.op.id == "" && it.err == nil {
				it.err = newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
			}
			items = append(items, it)
		}
	}
	return items, nil
}

// _delete_by_query

func (s *Server) deleteByQuery(q *request, name string) (int, any, error) {
	if err := q.allow("refresh", "conflicts", "wait_for_completion", "slices", "scroll_size", "timeout",
		"routing", "requests_per_second", "allow_no_indices", "ignore_unavailable", "expand_wildcards", "max_docs"); err != nil {
		return 0, nil, err
	}
	if v := q.params.Get("wait_for_completion"); v == "false" {
		return 0, nil, errUnsupported("asynchronous delete_by_query (tasks)")
	}
	maxDocs := -1
	if v := q.params.Get("max_docs"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, nil, errIllegalArgument("[max_docs] parameter must be positive, got [%s]", v)
		}
		maxDocs = n
	}
	ix, release, err := s.acquire(name)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	start := time.Now()
	var body map[string]json.RawMessage
	if err := decodeJSON(q.body, &body); err != nil {
		return 0, nil, errParsing("failed to parse delete_by_query body: %s", err)
	}
	rawQ, ok := body["query"]
	if !ok {
		return 0, nil, newError(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: query is missing;")
	}
	for k := range body {
		if k != "query" && k != "max_docs" {
			return 0, nil, errUnsupported("delete_by_query body key [%s]", k)
		}
	}
	if raw, ok := body["max_docs"]; ok {
		if err := json.Unmarshal(raw, &maxDocs); err != nil {
			return 0, nil, errParsing("[max_docs] must be an integer")
		}
	}
	qp := &queryParser{m: ix.meta().Mappings, now: start}
	bq, err := qp.parse(rawQ)
	if err != nil {
		return 0, nil, err
	}
	deleted, batches := 0, 0
	const batchSize = 1000
	for maxDocs < 0 || deleted < maxDocs {
		size := batchSize
		if maxDocs >= 0 {
			size = min(size, maxDocs-deleted)
		}
		req := bleve.NewSearchRequestOptions(bq, size, 0, false)
		req.Score = "none"
		res, err := ix.bidx.SearchInContext(q.r.Context(), req)
		if err != nil {
			return 0, nil, searchFailure(err)
		}
		if len(res.Hits) == 0 {
			break
		}
		ops := make([]writeOp, len(res.Hits))
		for i, h := range res.Hits {
			ops[i] = writeOp{kind: opDelete, id: h.ID}
		}
		if _, err := ix.apply(ops); err != nil {
			return 0, nil, err
		}
		deleted += len(ops)
		batches++
		if isNone(bq) {
			break
		}
	}
	return http.StatusOK, map[string]any{
		"took": time.Since(start).Milliseconds(), "timed_out": false, "total": deleted, "deleted": deleted,
		"batches": batches, "version_conflicts": 0, "noops": 0,
		"retries":             map[string]any{"bulk": 0, "search": 0},
		"throttled_millis":    0,
		"requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []any{},
	}, nil
}
