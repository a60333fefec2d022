package planfile

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fieldWords are the words that make a title look like a field's, with the field each
// suggests ("" when the word fits several: name is an agent's or a nickname).
var fieldWords = map[string]string{
	"agent": FieldAgent, "agents": FieldAgent, "nickname": FieldNickname, "nick": FieldNickname,
	"label": FieldLabel, "name": "", "phone": FieldPhoneNumber, "number": FieldPhoneNumber,
	"e164": FieldPhoneNumber, "did": FieldPhoneNumber, "msisdn": FieldPhoneNumber,
}

// lookAlike is a column the job would not read whose title looks like a field's.
type lookAlike struct {
	column int
	field  string // the field it looks like; "" when it could be several
}

// lookAlikes are the columns the job would ignore (not named by --ignore-columns, not
// one of KnownColumns) whose titles look like a field's: they hold a field's word
// (New Agent, Label (new), Customer Name), a word one edit from a long one (Agnet,
// Nummer), or, as a whole, hold a field's name or alias (E.164 new) or are a near miss
// of one (Agent Nmae, Nickanme, PhoneNumbr). A person who edits such a column means it
// to be read.
func (h *header) lookAlikes() []lookAlike {
	var out []lookAlike
	for i, name := range h.names {
		if h.kinds[i] != columnOther {
			continue
		}
		if f, ok := looksLikeField(name); ok {
			out = append(out, lookAlike{i, f})
		}
	}
	return out
}

// looksLikeField reports whether title looks like a field's, and which field.
func looksLikeField(title string) (field string, ok bool) {
	for _, w := range titleWords(title) {
		if f, ok := fieldWords[w]; ok {
			return f, true
		}
		for fw, f := range fieldWords {
			// A long word one edit away (Agnet, Lable, Nummer); short words are too
			// often other words (same, lane).
			if len(fw) >= 5 && len(w) >= 5 && osaDistance(w, fw) == 1 {
				return f, true
			}
		}
	}
	// The title as a whole: holding a field's name or alias (E.164 new, NewAgentID), or
	// a near miss of one (Agent Nmae, PhoneNumbr).
	key := headerKey(title)
	for _, f := range Fields {
		for _, k := range aliases[f] {
			if len(k) >= 4 && strings.Contains(key, k) || len(k) >= 5 && osaDistance(key, k) <= max(1, len([]rune(k))/4) {
				return f, true
			}
		}
	}
	return "", false
}

// camel splits words written together where a lower-case letter meets an upper-case
// one (TargetAgent, newNickname).
var camel = regexp.MustCompile(`(\p{Ll})(\p{Lu})`)

// titleWords are a title's words, lower case in NFC: runs of letters and digits, split
// where case changes inside them.
func titleWords(title string) []string {
	title = camel.ReplaceAllString(norm.NFC.String(title), "$1 $2")
	return strings.FieldsFunc(strings.ToLower(title), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// osaDistance is the optimal string alignment distance between a and b, in runes:
// edits, a swap of two neighbours counting as one (Nmae is one from Name).
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// lookAlikeReason says which columns look like fields and the two ways on: map them,
// or say they are to be ignored.
func lookAlikeReason(h *header, alike []lookAlike) string {
	var shown, maps, titles []string
	for _, a := range alike {
		title := h.names[a.column]
		shown = append(shown, quoteCell(title))
		field := a.field
		if field == "" {
			field = "FIELD"
		}
		maps = append(maps, field+"="+shellWord(title))
		titles = append(titles, shellWord(Titles{title}.String()))
	}
	if len(alike) == 1 {
		return fmt.Sprintf("header: column %s looks like a field, but the job would not read it; map it (--columns %s) or say it is to be ignored (--ignore-columns %s)",
			shown[0], maps[0], titles[0])
	}
	return fmt.Sprintf("header: columns %s look like fields, but the job would not read them; map each (--columns %s) or say they are to be ignored (--ignore-columns %s)",
		strings.Join(shown, ", "), strings.Join(maps, ","), strings.Join(titles, ","))
}

// plainWord is text a shell passes as it is.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=-]+$`)

// shellWord writes s as a shell passes it on: as it is, in single quotes, or in double
// quotes when it holds a single quote. A title a message cannot show on one line (a
// line break, a character that does not print) or whole (very long) is shown quoted
// with escapes, cut short: a message stays one line.
func shellWord(s string) string {
	switch {
	case utf8.RuneCountInString(s) > 60 || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0:
		return quoteCell(s)
	case plainWord.MatchString(s):
		return s
	case !strings.Contains(s, "'"):
		return "'" + s + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return `"` + r.Replace(s) + `"`
}
