package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// A list is a plain stream's spec: a Slack method that answers a list of
// objects (cursor-paginated, in classic pages, or in one answer), each
// object a record keyed by some of its fields. A plain stream is a list and
// nothing else (its fetch is fetchList); the streams whose answers are
// shaped otherwise (objects keyed by ID, gzip files, messages with threads,
// a record per page of members, a plan to name from the catalog) keep a
// fetcher in fetch.go.
type list struct {
	// Args are sent with every call beside the cursor or page: the largest
	// page the method accepts, and what to include.
	Args url.Values
	// ArgsFor, when set, adds arguments that depend on the walk
	// (conversations.list's types, from the scopes granted).
	ArgsFor func(w *walker) url.Values
	// Field is the answer's list; with One, its one object (team.info's
	// team).
	Field string
	One   bool
	// Classic: the method pages by count and page, and says how many pages
	// there are in paging.pages (team.integrationLogs); otherwise by cursor.
	Classic bool
	// Key makes the record's key of the item's fields: parts joined by "/",
	// each a field, "a|b" for the first of a and b that is set, "#f" for a
	// hash of f (a user agent), "f?" for one left out of the key when it is
	// not set. The first part must be set.
	Key string
	// Team is the item's field naming its workspace, "" for the workspace
	// being walked (a fan-out stream: the parent record's).
	Team string
	// WithTeam adds the workspace as team_id to the data of an item that
	// has none (logs, which Slack gives per workspace without saying which).
	WithTeam bool
	// Updated are the item's fields that say when it last changed, in Unix
	// seconds: the first that is set wins. Millis: they are milliseconds
	// (or seconds: conversations' "updated" is milliseconds).
	Updated []string
	Millis  bool
	// ParentArg, for a stream that fans out over its Parent stream, is the
	// argument that names the parent record (bookmarks.list's channel_id).
	ParentArg string
	// Each, when set, makes a record of each element of an array of the
	// item, not of the item (usergroups.list's users: a record per member).
	Each *each

	parts  []keyPart
	fields map[string]int // the item's fields read, by name: their index in item
	item   reflect.Type   // a struct of those fields, to decode an item into
}

// each is a list whose records are the elements of an array of each item:
// an element's record is keyed "item's key/element", and its data names the
// item's key as Of, the element as As, and the workspace as team_id.
type each struct {
	Field string // the item's array of strings
	Of    string // usergroup_id
	As    string // user_id
}

// keyPart is a part of a list's record key.
type keyPart struct {
	fields   []string // the first that is set
	hashed   bool
	optional bool
}

// parseKey reads a list's Key.
func parseKey(spec string) []keyPart {
	var parts []keyPart
	for _, s := range strings.Split(spec, "/") {
		var p keyPart
		s, p.optional = strings.CutSuffix(s, "?")
		s, p.hashed = strings.CutPrefix(s, "#")
		p.fields = strings.Split(s, "|")
		if slices.Contains(p.fields, "") {
			panic("sync: a list key with an empty part: " + spec)
		}
		parts = append(parts, p)
	}
	if parts[0].optional {
		panic("sync: a list key whose first part is optional: " + spec)
	}
	return parts
}

// compile makes the struct an item is decoded into: a raw field for each
// field the key, the team and the updated time read, and the array of Each.
func (l *list) compile() {
	l.parts = parseKey(l.Key)
	l.fields = map[string]int{}
	var sf []reflect.StructField
	add := func(name string) {
		if _, ok := l.fields[name]; ok {
			return
		}
		l.fields[name] = len(sf)
		sf = append(sf, reflect.StructField{Name: fmt.Sprintf("F%d", len(sf)), Type: reflect.TypeFor[json.RawMessage](),
			Tag: reflect.StructTag(`json:"` + name + `"`)})
	}
	for _, p := range l.parts {
		for _, f := range p.fields {
			add(f)
		}
	}
	if l.Team != "" {
		add(l.Team)
	}
	for _, f := range l.Updated {
		add(f)
	}
	if l.Each != nil {
		sf = append(sf, reflect.StructField{Name: "Each", Type: reflect.TypeFor[[]string](), Tag: reflect.StructTag(`json:"` + l.Each.Field + `"`)})
	}
	l.item = reflect.StructOf(sf)
}

// fetchList makes a list's fetch: a walk of the method by cursor or by
// classic page, or for a stream with a parent, a cursor walk of each
// parent's list.
func fetchList(l *list) func(context.Context, *walker) error {
	l.compile()
	return func(ctx context.Context, w *walker) error {
		args := cloneArgs(l.Args)
		if l.ArgsFor != nil {
			for k, v := range l.ArgsFor(w) {
				args[k] = v
			}
		}
		build := func(team string) builder {
			return func(raw json.RawMessage, add func(store.Record)) error { return l.records(w, raw, team, add) }
		}
		switch {
		case l.ParentArg != "":
			return w.fanOut(ctx, func(ctx context.Context, parent store.Record, cursor string, _ int, emit func([]store.Record, string) error) error {
				a := cloneArgs(args)
				a.Set(l.ParentArg, parent.Key)
				return w.cursorPages(ctx, w.s.Method, a, l.Field, cursor, build(parent.TeamID), emit)
			})
		case l.One:
			return w.one(ctx, w.s.Method, args, l.Field, build(w.teamID()))
		case l.Classic:
			return w.classicWalk(ctx, w.s.Method, args, l.Field, build(w.teamID()))
		}
		return w.cursorWalk(ctx, w.s.Method, args, l.Field, build(w.teamID()))
	}
}

// records makes the records of an item of the list, in the workspace team
// unless the item names its own: the item's, or with Each its elements'.
func (l *list) records(w *walker, raw json.RawMessage, team string, add func(store.Record)) error {
	v := reflect.New(l.item)
	if err := json.Unmarshal(raw, v.Interface()); err != nil {
		return fmt.Errorf("an item of %q is not an object: %w", l.Field, err)
	}
	item := v.Elem()
	field := func(name string) json.RawMessage { return item.Field(l.fields[name]).Interface().(json.RawMessage) }
	key, err := l.key(field)
	if err != nil {
		return err
	}
	if l.Team != "" {
		team = w.teamOf(jsonString(field(l.Team)))
	}
	if l.Each != nil {
		for _, e := range item.Field(item.NumField() - 1).Interface().([]string) {
			data, _ := json.Marshal(map[string]string{l.Each.Of: key, l.Each.As: e, "team_id": team})
			add(store.Record{Key: key + "/" + e, TeamID: team, Data: data})
		}
		return nil
	}
	var at time.Time
	for _, f := range l.Updated {
		if l.Millis {
			at = unixMillisOrSeconds(field(f))
		} else {
			at = unix(field(f))
		}
		if !at.IsZero() {
			break
		}
	}
	if l.WithTeam {
		raw = withField(raw, "team_id", team)
	}
	add(store.Record{Key: key, TeamID: team, Data: raw, SourceUpdatedAt: at})
	return nil
}

// key makes an item's record key from its fields.
func (l *list) key(field func(string) json.RawMessage) (string, error) {
	var b strings.Builder
	for i, p := range l.parts {
		var s string
		for _, f := range p.fields {
			if s = jsonString(field(f)); s != "" {
				break
			}
		}
		switch {
		case s == "" && i == 0:
			return "", fmt.Errorf("an item of %q without %q", l.Field, strings.Join(p.fields, " or "))
		case s == "" && p.optional:
			continue
		case p.hashed:
			h := sha256.Sum256([]byte(s))
			s = hex.EncodeToString(h[:6])
		}
		if len(l.parts) == 1 {
			return s, nil
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// jsonString is a JSON string's text, or a number's; "" for anything else.
func jsonString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0:
		return string(raw[1 : len(raw)-1])
	case len(raw) > 0 && raw[0] == '"':
		var s string
		json.Unmarshal(raw, &s)
		return s
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		return string(raw)
	}
	return ""
}

// one fetches a method that answers one object in field, and commits its
// record.
func (w *walker) one(ctx context.Context, method string, args url.Values, field string, build builder) error {
	res, err := w.call(ctx, method, args)
	if err != nil {
		return err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(res.Body, &out); err != nil {
		return fmt.Errorf("%s: the answer is not a JSON object: %w", method, err)
	}
	obj, ok := out[field]
	if !ok {
		return fmt.Errorf("%s: the answer has no %q", method, field)
	}
	w.add(counts{Fewest: 1})
	var recs []store.Record
	if err := build(obj, func(r store.Record) { recs = append(recs, r) }); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return w.commit(ctx, recs, w.pos)
}

// classicWalk fetches a list paged by count and page, from the position's
// page to the last, committing each page's records with the number of the
// next page.
func (w *walker) classicWalk(ctx context.Context, method string, args url.Values, field string, build builder) error {
	walk := w.pageCounter(method)
	for page := max(w.pos.Page, 1); ; page++ {
		a := cloneArgs(args)
		a.Set("page", strconv.Itoa(page))
		p, recs, err := w.fetchPage(ctx, method, a, field, build)
		if err != nil {
			return err
		}
		last := p.pages == 0 || page >= p.pages || len(p.items) == 0
		walk.page(len(p.items), last)
		next := w.pos
		next.Page = page + 1
		if last {
			next.Page = 0
		}
		if err := w.commit(ctx, recs, next); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}
