package traffic

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mossdev/mossdev/stack"
)

// Flow names, in the order figures are reported.
const (
	Read   = "read"   // a card, cache-aside
	View   = "view"   // a card viewed: view log, unique count, flush job
	Post   = "post"   // a new card in every store
	Search = "search" // hashtag prefix (MariaDB), full text or geo (Elasticsearch)
	Image  = "image"  // a card image through the CDN
)

// Flows lists every flow.
var Flows = []string{Read, View, Post, Search, Image}

// Mix is each flow's share of the operations, in parts (they need not add
// up to 100).
type Mix map[string]int

// DefaultMix is mostly reads, as an app's traffic is.
const DefaultMix = "read=60,view=20,post=5,search=5,image=10"

// ParseMix reads "read=70,view=20,post=5,search=5". A flow left out gets
// no operations; an unknown flow, a negative or non-numeric share, a flow
// named twice or shares summing to 0 are bad input.
func ParseMix(s string) (Mix, error) {
	bad := func(detail string) error {
		return &stack.Error{Op: "parse --mix", Err: stack.ErrBadInput, Detail: detail,
			Fix: "give flow=parts pairs, e.g. --mix " + DefaultMix + " (flows: " + strings.Join(Flows, ", ") + ")"}
	}
	m := Mix{}
	if strings.TrimSpace(s) == "" {
		return nil, bad("empty mix")
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, bad(fmt.Sprintf("%q is not flow=parts", part))
		}
		if !slices.Contains(Flows, name) {
			return nil, bad(fmt.Sprintf("no flow %q", name))
		}
		if _, dup := m[name]; dup {
			return nil, bad(fmt.Sprintf("flow %q named twice", name))
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 {
			return nil, bad(fmt.Sprintf("%s=%s: parts must be a whole number >= 0", name, val))
		}
		m[name] = n
	}
	if m.total() == 0 {
		return nil, bad("the shares sum to 0: no operation would run")
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, n := range m {
		t += n
	}
	return t
}

// String is the mix in Flows order, e.g. "read=70,view=20".
func (m Mix) String() string {
	var parts []string
	for _, f := range Flows {
		if n, ok := m[f]; ok {
			parts = append(parts, f+"="+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, ",")
}

// pick maps x in [0, total) to a flow.
func (m Mix) pick(x int) string {
	for _, f := range Flows {
		if x < m[f] {
			return f
		}
		x -= m[f]
	}
	return Read
}
