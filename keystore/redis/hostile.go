package redis

import (
	"strings"
	"unicode"
)

// Fields read from Redis are written by whoever can write to it: before
// they are shown (status, errors), a key id must have its hex form and
// any other text loses its control and format characters (terminal escape
// sequences such as a screen clear, a hyperlink or an OSC 52 clipboard
// write; bidi overrides) and is cut to a length.

// maxShown is the most runes of a Redis field that are shown.
const maxShown = 100

// printable returns s without control or format characters (each becomes
// '?'), cut to maxShown runes.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxShown {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// shownKeyID returns id if it has a key id's form (12 lowercase hex
// digits), else a mark that it does not.
func shownKeyID(id string) string {
	if len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" {
		return "(not a key id)"
	}
	return id
}
