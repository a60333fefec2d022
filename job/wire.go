package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// The numbers the API sends, one per PATCH answer and a hundred per list page, are read
// here rather than by json.Unmarshal into a struct, which cost the job more CPU than
// anything but the HTTP exchange itself. A small scanner checks the syntax as it goes,
// takes the members the job reads and steps over the others. What it returns is what
// json.Unmarshal into the same struct gives (wire_test.go holds it to that): names
// matched case-insensitively, the last member winning, null leaving a string as it was,
// a value of the wrong type an error, strings with escapes or invalid UTF-8 decoded by
// encoding/json itself.

// decodeNumber reads a PATCH answer: one number.
func decodeNumber(data []byte) (wireNumber, error) {
	var w wireNumber
	s := scanner{b: data}
	err := s.document(func() error {
		return s.object(func(key []byte) error { return s.number(key, &w) })
	})
	return w, err
}

// numberPage is a list page as sent: {data, meta{total, totalPages}} or {items, total}.
type numberPage struct {
	data, items       []wireNumber // nil when absent or null
	total             int
	metaTotal, metaTP int
}

// decodeNumberPage reads one page of GET /organization-phone-numbers.
func decodeNumberPage(data []byte) (numberPage, error) {
	var p numberPage
	s := scanner{b: data}
	var buf [maxName]byte
	err := s.document(func() error {
		return s.object(func(key []byte) error {
			switch string(fold(key, &buf)) {
			case "data":
				return s.numbers(&p.data)
			case "items":
				return s.numbers(&p.items)
			case "total":
				return s.int(&p.total)
			case "meta":
				return s.object(func(key []byte) error {
					switch string(fold(key, &buf)) {
					case "total":
						return s.int(&p.metaTotal)
					case "totalpages":
						return s.int(&p.metaTP)
					}
					return s.skip()
				})
			}
			return s.skip()
		})
	})
	return p, err
}

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// scanner reads JSON from b, at i.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// document reads the input with value, as json.Unmarshal would: bad syntax anywhere is
// reported ahead of a value of the wrong type.
func (s *scanner) document(value func() error) error {
	err := s.whole(value)
	if err != nil {
		t := &scanner{b: s.b}
		if serr := t.whole(t.skip); serr != nil { // skip finds only bad syntax
			return serr
		}
	}
	return err
}

// whole reads the input as one value, with value, and nothing but space after it.
func (s *scanner) whole(value func() error) error {
	s.space()
	if err := value(); err != nil {
		return err
	}
	s.space()
	if s.i < len(s.b) {
		return s.syntax("after the value")
	}
	return nil
}

// syntax describes bad JSON at the cursor.
func (s *scanner) syntax(where string) error {
	if s.i >= len(s.b) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %q %s, at byte %d", s.b[s.i], where, s.i)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek is the byte at the cursor, 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// literal moves past word (true, false, null) at the cursor.
func (s *scanner) literal(word string) error {
	for i := range len(word) {
		if s.peek() != word[i] {
			return s.syntax("in literal " + word)
		}
		s.i++
	}
	return nil
}

// object calls member for each member of the object at the cursor, with the cursor on
// the value, which member must read or skip. A null is no object and no error.
func (s *scanner) object(member func(key []byte) error) error {
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '{':
	default:
		return s.wrongType("an object")
	}
	return s.seq('}', func() error {
		if s.peek() != '"' {
			return s.syntax("looking for the beginning of an object key string")
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		s.space()
		if s.peek() != ':' {
			return s.syntax("after an object key")
		}
		s.i++
		s.space()
		return member(key)
	})
}

// array calls elem for each element of the array at the cursor, with the cursor on it.
func (s *scanner) array(elem func() error) error { return s.seq(']', elem) }

// seq reads an object's members or an array's elements, one by item, from the opening
// bracket at the cursor to end, its closing one.
func (s *scanner) seq(end byte, item func() error) error {
	if s.depth++; s.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	defer func() { s.depth-- }()
	s.i++
	s.space()
	if s.peek() == end {
		s.i++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case end:
			s.i++
			return nil
		default:
			return s.syntax("after an object member or array element")
		}
	}
}

// number reads a member of a number object into w, or skips it.
func (s *scanner) number(key []byte, w *wireNumber) error {
	var buf [maxName]byte
	dst := w.field(fold(key, &buf))
	if dst == nil {
		return s.skip()
	}
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
		v, err := s.str()
		*dst = v
		return err
	}
	return s.wrongType("a string")
}

// field is the field a folded member name stands for, or nil.
func (w *wireNumber) field(name []byte) *string {
	switch string(name) {
	case "id":
		return &w.ID
	case "phone_number":
		return &w.PhoneNumber
	case "agent_id":
		return &w.AgentID
	case "inbound_agent_id":
		return &w.InboundAgentID
	case "nickname":
		return &w.Nickname
	case "label":
		return &w.Label
	case "status":
		return &w.Status
	case "country_code":
		return &w.CountryCode
	case "type":
		return &w.Type
	}
	return nil
}

// numbers reads an array of number objects into *dst; null makes it nil.
func (s *scanner) numbers(dst *[]wireNumber) error {
	switch s.peek() {
	case 'n':
		*dst = nil
		return s.literal("null")
	case '[':
	default:
		return s.wrongType("an array")
	}
	out := make([]wireNumber, 0, PageSize)
	err := s.array(func() error {
		var w wireNumber
		err := s.object(func(key []byte) error { return s.number(key, &w) })
		out = append(out, w)
		return err
	})
	*dst = out
	return err
}

// int reads a whole number into *dst; null leaves it as it was.
func (s *scanner) int(dst *int) error {
	switch c := s.peek(); {
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		if err := s.skip(); err != nil {
			return err
		}
		n, err := strconv.Atoi(string(s.b[start:s.i]))
		if err != nil {
			return fmt.Errorf("%s is not a whole number", s.b[start:s.i])
		}
		*dst = n
		return nil
	}
	return s.wrongType("a number")
}

// key reads a member name: the bytes themselves unless it has escapes.
func (s *scanner) key() ([]byte, error) {
	start := s.i
	plain, err := s.strEnd()
	switch {
	case err != nil:
		return nil, err
	case plain:
		return s.b[start+1 : s.i-1], nil
	}
	v, err := unquote(s.b[start:s.i])
	return []byte(v), err
}

// str reads a string value.
func (s *scanner) str() (string, error) {
	start := s.i
	plain, err := s.strEnd()
	switch {
	case err != nil:
		return "", err
	case plain:
		return string(s.b[start+1 : s.i-1]), nil
	}
	return unquote(s.b[start:s.i])
}

// strEnd moves the cursor past the string at it, and says whether the string is plain:
// no escape, valid UTF-8.
func (s *scanner) strEnd() (plain bool, err error) {
	plain, ascii := true, true
	start := s.i + 1
	for s.i = start; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			if plain && !ascii {
				plain = utf8.Valid(s.b[start:s.i])
			}
			s.i++
			return plain, nil
		case c == '\\':
			plain = false
			if err := s.escape(); err != nil {
				return false, err
			}
		case c < 0x20:
			return false, s.syntax("in a string literal")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return false, s.syntax("in a string literal")
}

// escape checks the escape sequence at the cursor (on its backslash) and leaves the
// cursor on its last byte.
func (s *scanner) escape() error {
	s.i++
	switch s.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return nil
	case 'u':
		for range 4 {
			s.i++
			c := s.peek()
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return s.syntax("in \\u hexadecimal character escape")
			}
		}
		return nil
	}
	return s.syntax("in string escape code")
}

// unquote decodes a JSON string literal as encoding/json does (escapes, surrogate pairs,
// invalid UTF-8 replaced).
func unquote(lit []byte) (string, error) {
	var v string
	err := json.Unmarshal(lit, &v)
	return v, err
}

// skip moves the cursor past the value at it.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '"':
		_, err := s.strEnd()
		return err
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.numberLit()
	}
	return s.syntax("looking for beginning of value")
}

// numberLit moves past a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) numberLit() error {
	digits := func() bool {
		start := s.i
		for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
			s.i++
		}
		return s.i > start
	}
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		digits()
	default:
		return s.syntax("in numeric literal")
	}
	if s.peek() == '.' {
		s.i++
		if !digits() {
			return s.syntax("after decimal point in numeric literal")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !digits() {
			return s.syntax("in exponent of numeric literal")
		}
	}
	return nil
}

// wrongType describes the value at the cursor when it is not what the member needs,
// and moves past it.
func (s *scanner) wrongType(want string) error {
	kind := "a number"
	switch s.peek() {
	case '"':
		kind = "a string"
	case '{':
		kind = "an object"
	case '[':
		kind = "an array"
	case 't', 'f':
		kind = "a boolean"
	}
	at := s.i
	if err := s.skip(); err != nil {
		return err
	}
	return fmt.Errorf("%s where %s belongs, at byte %d", kind, want, at)
}

// maxName is the longest member name fold folds; a longer one is no field's.
const maxName = 32

// fold is a member name as encoding/json compares it with a field name, in lower case:
// ASCII letters folded, and the non-ASCII letters that fold to ASCII ones (ſ is an s, the
// Kelvin sign a k). A name that can match no field (too long, other non-ASCII letters)
// folds to nothing. The result is key itself, or is written in buf.
func fold(key []byte, buf *[maxName]byte) []byte {
	plain := true
	for _, c := range key {
		plain = plain && c < utf8.RuneSelf && !('A' <= c && c <= 'Z')
	}
	if plain {
		return key
	}
	out := buf[:0]
	for _, r := range string(key) {
		for { // the smallest rune of r's fold orbit, as encoding/json takes
			f := unicode.SimpleFold(r)
			if f <= r {
				r = f
				break
			}
			r = f
		}
		if r >= utf8.RuneSelf || len(out) == maxName {
			return nil
		}
		out = append(out, byte(unicode.ToLower(r)))
	}
	return out
}
