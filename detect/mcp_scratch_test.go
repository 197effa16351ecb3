package detect

import (
	"strings"
)

// schemaStrings is the definition jsonStrings must agree with: every
// string in a parsed schema (property names, titles, descriptions, enums,
// defaults, examples, at any depth) joined with NUL, by a walk of the
// tree.
func schemaStrings(schema *jsonNode) string {
	var b strings.Builder
	var walk func(n *jsonNode, depth int)
	walk = func(n *jsonNode, depth int) {
		if depth > maxJSONDepth {
			return
		}
		switch n.kind {
		case jsonString:
			b.WriteString(n.str)
			b.WriteByte(0)
		case jsonArray:
			for i := range n.kids {
				walk(&n.kids[i], depth+1)
			}
		case jsonObject:
			for i := range n.kids {
				k := &n.kids[i]
				if n.key == "properties" {
					b.WriteString(k.key)
					b.WriteByte(0)
				}
				walk(k, depth+1)
			}
		}
	}
	walk(schema, 0)
	return b.String()
}
