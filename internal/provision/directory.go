package provision

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format is a directory file's format.
type Format string

const (
	FormatCSV  Format = "csv"  // a header row, then one person a line
	FormatJSON Format = "json" // an array of objects, one a person
)

// The columns of a directory file (CSV header cells, JSON keys), matched
// without case.
const (
	ColUserName        = "userName"
	ColEmail           = "email"  // the primary email
	ColEmails          = "emails" // more emails; the first is primary when email is empty
	ColGivenName       = "givenName"
	ColFamilyName      = "familyName"
	ColDisplayName     = "displayName"
	ColTitle           = "title"
	ColActive          = "active" // true or false; empty means true
	ColGroups          = "groups" // group names
	ColGuestType       = "guest_type"
	ColGuestExpiration = "guest_expiration"
	ColGuestChannels   = "guest_channels"
)

// Columns lists every column a directory file may have.
var Columns = []string{ColUserName, ColEmail, ColEmails, ColGivenName, ColFamilyName, ColDisplayName, ColTitle,
	ColActive, ColGroups, ColGuestType, ColGuestExpiration, ColGuestChannels}

// listColumns hold several values: separated by ";" in a CSV cell, a JSON
// array (or such a string) in JSON.
var listColumns = map[string]bool{ColEmails: true, ColGroups: true, ColGuestChannels: true}

// column finds the canonical name of a header cell or JSON key.
func column(name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, c := range Columns {
		if strings.EqualFold(c, name) {
			return c, true
		}
	}
	return "", false
}

// Person is one row of a directory file. An empty string (and a nil list)
// means the file does not say: the plan leaves that attribute as Slack has
// it.
type Person struct {
	Row             int // see Problem.Row
	UserName        string
	Email           string // primary
	SecondaryEmail  string // Slack keeps one more
	GivenName       string
	FamilyName      string
	DisplayName     string
	Title           string
	Active          bool     // true unless the file says false
	Groups          []string // group names, each once
	GuestType       string   // "" or "multi"
	GuestExpiration time.Time
	GuestChannels   []string // channel IDs, for a new guest
}

// key is the person's value of the match key, lower-cased.
func (p Person) key(k MatchKey) string {
	if k == MatchUserName {
		return strings.ToLower(p.UserName)
	}
	return strings.ToLower(p.Email)
}

// Directory is a directory file without problems.
type Directory struct {
	Format  Format
	Columns []string // the columns the file has, canonical names
	People  []Person
}

// Has reports whether the file has the column.
func (d *Directory) Has(col string) bool { return slices.Contains(d.Columns, col) }

// Parse reads a directory file and checks every row. key is the match key
// the plan will use: every row needs it, once. A file with problems gives
// Problems, every one of them, and no Directory. A read error is returned
// as it is.
func Parse(r io.Reader, f Format, key MatchKey) (*Directory, error) {
	if err := key.validate(); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("provision: read the file: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a spreadsheet's byte order mark
	var rows []rawRow
	var cols []string
	var ps Problems
	switch f {
	case FormatCSV:
		rows, cols, ps = readCSV(data)
	case FormatJSON:
		rows, cols, ps = readJSON(data)
	default:
		return nil, fmt.Errorf(`provision: format must be "csv" or "json", got %q`, f)
	}
	d := &Directory{Format: f, Columns: cols}
	for _, row := range rows {
		p, rowProblems := row.person()
		ps = append(ps, rowProblems...)
		d.People = append(d.People, p)
	}
	ps = append(ps, checkKeys(d.People, key)...)
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b Problem) int { return a.Row - b.Row })
		return nil, ps
	}
	return d, nil
}

// cell is one value of a row: a CSV cell or a JSON value, trimmed.
type cell struct {
	text   string
	list   []string // a JSON array
	isList bool
	bad    string // a JSON value of the wrong type: what it was
}

// values splits a list column's cell.
func (c cell) values() []string {
	src := c.list
	if !c.isList {
		src = strings.Split(c.text, ";")
	}
	var out []string
	for _, v := range src {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

type rawRow struct {
	n     int
	cells map[string]cell // by canonical column
}

func readCSV(data []byte) ([]rawRow, []string, Problems) {
	var ps Problems
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // counted here, to say which row is off
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, Problems{{Row: 0, Code: ProblemMalformedFile, Message: "the file is empty; a CSV file starts with a header row"}}
	}
	if err != nil {
		return nil, nil, Problems{csvProblem(err, 1)}
	}
	headerLine, _ := cr.FieldPos(0)
	cols := make([]string, len(header)) // "" for an unknown column
	var known []string
	for i, h := range header {
		c, ok := column(h)
		switch {
		case strings.TrimSpace(h) == "":
			ps = append(ps, Problem{Row: headerLine, Code: ProblemUnknownColumn, Message: fmt.Sprintf("column %d has no name", i+1)})
		case !ok:
			ps = append(ps, Problem{Row: headerLine, Column: h, Code: ProblemUnknownColumn,
				Message: fmt.Sprintf("unknown column %q; the columns are %s", h, strings.Join(Columns, ", "))})
		case slices.Contains(known, c):
			ps = append(ps, Problem{Row: headerLine, Column: c, Code: ProblemDuplicateColumn, Message: fmt.Sprintf("column %s is named twice", c)})
		default:
			cols[i] = c
			known = append(known, c)
		}
	}
	var rows []rawRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			ps = append(ps, csvProblem(err, 0))
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			ps = append(ps, Problem{Row: line, Code: ProblemMalformedRow,
				Message: fmt.Sprintf("the row has %d fields, the header %d", len(rec), len(header))})
			continue
		}
		row := rawRow{n: line, cells: map[string]cell{}}
		for i, v := range rec {
			if cols[i] != "" {
				row.cells[cols[i]] = cell{text: strings.TrimSpace(v)}
			}
		}
		rows = append(rows, row)
	}
	return rows, known, ps
}

// csvProblem is a record encoding/csv could not read: bad quoting.
func csvProblem(err error, line int) Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Problem{Row: pe.StartLine, Code: ProblemMalformedRow,
			Message: fmt.Sprintf("cannot read the row (line %d, column %d): %v", pe.Line, pe.Column, pe.Err)}
	}
	return Problem{Row: line, Code: ProblemMalformedRow, Message: "cannot read the row: " + err.Error()}
}

func readJSON(data []byte) ([]rawRow, []string, Problems) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
		return nil, nil, Problems{{Code: ProblemMalformedFile, Message: "a JSON directory file is an array of objects, one a person"}}
	}
	var ps Problems
	var rows []rawRow
	var cols []string
	unknown := map[string]bool{}
	n := 0
	for dec.More() {
		n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			// The decoder cannot find the next element after a syntax error.
			return rows, cols, append(ps, Problem{Row: n, Code: ProblemMalformedRow,
				Message: "not valid JSON, so the rest of the file was not read: " + err.Error()})
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			ps = append(ps, Problem{Row: n, Code: ProblemMalformedRow, Message: "the element is not an object"})
			continue
		}
		row := rawRow{n: n, cells: map[string]cell{}}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			c, ok := column(k)
			if !ok {
				if !unknown[k] { // once per key, where it first appears
					unknown[k] = true
					ps = append(ps, Problem{Row: n, Column: k, Code: ProblemUnknownColumn,
						Message: fmt.Sprintf("unknown key %q; the keys are %s", k, strings.Join(Columns, ", "))})
				}
				continue
			}
			if !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
			row.cells[c] = jsonCell(obj[k], listColumns[c])
		}
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil {
		ps = append(ps, Problem{Row: n, Code: ProblemMalformedFile, Message: "the array is not closed: " + err.Error()})
	} else if dec.More() {
		ps = append(ps, Problem{Code: ProblemMalformedFile, Message: "there is more after the array"})
	} else if _, err := dec.Token(); err != io.EOF {
		ps = append(ps, Problem{Code: ProblemMalformedFile, Message: "there is more after the array"})
	}
	slices.SortFunc(cols, func(a, b string) int { return slices.Index(Columns, a) - slices.Index(Columns, b) })
	return rows, cols, ps
}

// jsonCell reads a JSON value: a string, null (empty), a boolean or a
// number (as their text), or, for a list column, an array of strings.
func jsonCell(raw json.RawMessage, list bool) cell {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return cell{bad: "not JSON"}
	}
	switch x := v.(type) {
	case nil:
		return cell{}
	case string:
		return cell{text: strings.TrimSpace(x)}
	case bool:
		return cell{text: fmt.Sprint(x)}
	case json.Number:
		return cell{text: x.String()}
	case []any:
		if !list {
			return cell{bad: "an array"}
		}
		c := cell{isList: true}
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return cell{bad: "an array of other things than strings"}
			}
			c.list = append(c.list, s)
		}
		return c
	}
	return cell{bad: "an object"}
}

// person checks a row's cells and makes the person.
func (row rawRow) person() (Person, Problems) {
	p := Person{Row: row.n, Active: true}
	var ps Problems
	bad := func(col string, code ProblemCode, format string, args ...any) {
		ps = append(ps, Problem{Row: row.n, Column: col, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	text := func(col string) string {
		c := row.cells[col]
		if c.bad != "" {
			bad(col, ProblemInvalidValue, "%s must be a string, not %s", col, c.bad)
			return ""
		}
		if c.isList {
			bad(col, ProblemInvalidValue, "%s must be a string, not an array", col)
			return ""
		}
		if strings.ContainsFunc(c.text, unicode.IsControl) {
			bad(col, ProblemInvalidValue, "%s has a control character", col)
			return ""
		}
		return c.text
	}
	list := func(col string) []string {
		c := row.cells[col]
		if c.bad != "" {
			bad(col, ProblemInvalidValue, "%s must be a list of strings, not %s", col, c.bad)
			return nil
		}
		var out []string
		for _, v := range c.values() {
			if strings.ContainsFunc(v, unicode.IsControl) {
				bad(col, ProblemInvalidValue, "%s has a control character", col)
				continue
			}
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, v) }) {
				out = append(out, v)
			}
		}
		return out
	}

	if v := text(ColUserName); v != "" {
		if !validUserName(v) {
			bad(ColUserName, ProblemInvalidValue, "userName %q must be at most %d letters, digits, periods, underscores and hyphens", v, maxUserName)
		}
		p.UserName = v
	}
	var emails []string
	if v := text(ColEmail); v != "" {
		emails = append(emails, v)
	}
	for _, v := range list(ColEmails) {
		if !slices.ContainsFunc(emails, func(e string) bool { return strings.EqualFold(e, v) }) {
			emails = append(emails, v)
		}
	}
	for i, e := range emails {
		col := ColEmails
		if i == 0 && row.cells[ColEmail].text != "" {
			col = ColEmail
		}
		if !validEmail(e) {
			bad(col, ProblemInvalidEmail, "%q is not an email address", e)
		}
	}
	if len(emails) > 2 {
		bad(ColEmails, ProblemInvalidValue, "Slack keeps a primary email and one more; the row has %d", len(emails))
	}
	if len(emails) > 0 {
		p.Email = emails[0]
	}
	if len(emails) > 1 {
		p.SecondaryEmail = emails[1]
	}
	p.GivenName, p.FamilyName, p.Title = text(ColGivenName), text(ColFamilyName), text(ColTitle)
	if v := text(ColDisplayName); v != "" {
		switch {
		case utf8.RuneCountInString(v) > maxDisplayName:
			bad(ColDisplayName, ProblemInvalidValue, "displayName is over %d characters", maxDisplayName)
		case strings.HasPrefix(v, "@"):
			bad(ColDisplayName, ProblemInvalidValue, "displayName must not start with @")
		}
		p.DisplayName = v
	}
	if v := text(ColActive); v != "" {
		b, ok := parseBool(v)
		if !ok {
			bad(ColActive, ProblemInvalidBoolean, "active must be true or false, not %q", v)
		}
		p.Active = b || !ok
	}
	p.Groups = list(ColGroups)
	switch v := text(ColGuestType); {
	case v == "":
	case strings.EqualFold(v, "multi"):
		p.GuestType = "multi"
	default:
		bad(ColGuestType, ProblemInvalidValue, `guest_type must be "multi" (a multi-channel guest), not %q; SCIM makes no other kind`, v)
	}
	if v := text(ColGuestExpiration); v != "" {
		t, ok := parseTime(v)
		if !ok {
			bad(ColGuestExpiration, ProblemInvalidValue, "guest_expiration %q must be a date (2027-01-31) or an RFC 3339 time", v)
		}
		p.GuestExpiration = t
		if p.GuestType == "" {
			bad(ColGuestExpiration, ProblemInvalidValue, `guest_expiration needs guest_type "multi"`)
		}
	}
	p.GuestChannels = list(ColGuestChannels)
	for _, ch := range p.GuestChannels {
		if !channelID.MatchString(ch) {
			bad(ColGuestChannels, ProblemInvalidValue, "%q is not a channel ID (C0123ABCD)", ch)
		}
	}
	if len(p.GuestChannels) > 0 && p.GuestType == "" {
		bad(ColGuestChannels, ProblemInvalidValue, `guest_channels needs guest_type "multi"`)
	}
	return p, ps
}

// checkKeys finds missing and repeated match keys, and repeats of the other
// unique attribute (two people cannot share an email or a userName).
func checkKeys(people []Person, key MatchKey) Problems {
	var ps Problems
	keyCol, otherCol := ColEmail, ColUserName
	if key == MatchUserName {
		keyCol, otherCol = ColUserName, ColEmail
	}
	seenKey, seenOther := map[string]int{}, map[string]int{}
	for _, p := range people {
		k := p.key(key)
		other := strings.ToLower(p.UserName)
		if key == MatchUserName {
			other = strings.ToLower(p.Email)
		}
		switch first, dup := seenKey[k]; {
		case k == "":
			ps = append(ps, Problem{Row: p.Row, Column: keyCol, Code: ProblemMissingKey,
				Message: fmt.Sprintf("no %s: it is the match key, every row needs one", keyCol)})
		case dup:
			ps = append(ps, Problem{Row: p.Row, OtherRow: first, Column: keyCol, Code: ProblemDuplicateKey,
				Message: fmt.Sprintf("%s %q is on rows %d and %d", keyCol, k, first, p.Row)})
		default:
			seenKey[k] = p.Row
		}
		if other == "" {
			continue
		}
		if first, dup := seenOther[other]; dup {
			ps = append(ps, Problem{Row: p.Row, OtherRow: first, Column: otherCol, Code: ProblemDuplicateValue,
				Message: fmt.Sprintf("%s %q is on rows %d and %d; Slack keeps it unique", otherCol, other, first, p.Row)})
		} else {
			seenOther[other] = p.Row
		}
	}
	return ps
}

const (
	maxUserName    = 21
	maxDisplayName = 80
)

var (
	userNameShape = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	channelID     = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
)

// validUserName says whether Slack keeps the name as it is, case aside:
// matching by userName finds nothing if Slack changed it.
func validUserName(s string) bool { return len(s) <= maxUserName && userNameShape.MatchString(s) }

// validEmail accepts a bare address: one @, a local part, a dotted domain.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Count(s, "@") == 1 && strings.Contains(domain, ".") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// parseBool reads true and false, yes and no, 1 and 0, case aside.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return false, false
}

// parseTime reads the forms a guest expiration comes in: RFC 3339, or a
// date (midnight UTC).
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
