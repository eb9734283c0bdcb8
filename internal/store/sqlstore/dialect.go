package sqlstore

import (
	"strconv"
	"strings"
)

// Dialect is what differs between SQL databases.
type Dialect struct {
	// Name is the database's name, for messages.
	Name string
	// Numbered is true when placeholders are $1, $2 … instead of ?.
	Numbered bool
	// Serial is the column type of an auto-incrementing int64 primary key.
	Serial string
	// IsUniqueViolation recognises a unique-constraint error.
	IsUniqueViolation func(error) bool
}

// rebind turns ?-placeholders into the dialect's form.
func (d Dialect) rebind(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
