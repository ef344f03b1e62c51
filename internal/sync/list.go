package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// A list is a plain stream's spec: a Slack method that answers a list of
// objects, cursor-paginated or in one answer, each object a record keyed by
// one of its fields. A plain stream is a list and nothing else (its fetch is
// fetchList); the streams whose answers are shaped otherwise (objects keyed
// by ID, gzip files, classic paging, keys made of several fields, messages
// with threads, a record per page of members) keep a fetcher in fetch.go.
type list struct {
	// Args are sent with every call beside the cursor: the largest page the
	// method accepts, and what to include.
	Args url.Values
	// ArgsFor, when set, adds arguments that depend on the instance
	// (conversations.list's types, from the scopes granted).
	ArgsFor func(w *walker) url.Values
	Field   string // the answer's list
	Key     string // the item's field that keys the record
	// Team is the item's field naming its workspace, "" for the workspace
	// being walked (a fan-out stream: the parent record's).
	Team string
	// Updated are the item's fields that say when it last changed, in Unix
	// seconds: the first that is set wins. Millis: they are milliseconds
	// (or seconds: conversations' "updated" is milliseconds).
	Updated []string
	Millis  bool
	// ParentArg, for a stream that fans out over its Parent stream, is the
	// argument that names the parent record (bookmarks.list's channel_id).
	ParentArg string

	item reflect.Type // a struct of the fields above, to decode an item into
}

// fetchList makes a list's fetch: a cursor walk of the method, or for a
// stream with a parent, a walk of each parent's list.
func fetchList(l *list) func(context.Context, *walker) error {
	fields := []reflect.StructField{{Name: "Key", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`json:"` + l.Key + `"`)}}
	if l.Team != "" {
		fields = append(fields, reflect.StructField{Name: "Team", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`json:"` + l.Team + `"`)})
	}
	for i, f := range l.Updated {
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Updated%d", i), Type: reflect.TypeFor[json.RawMessage](),
			Tag: reflect.StructTag(`json:"` + f + `"`)})
	}
	l.item = reflect.StructOf(fields)
	return func(ctx context.Context, w *walker) error {
		args := cloneArgs(l.Args)
		if l.ArgsFor != nil {
			for k, v := range l.ArgsFor(w) {
				args[k] = v
			}
		}
		if l.ParentArg == "" {
			return w.cursorWalk(ctx, w.s.Method, args, l.Field, func(raw json.RawMessage) (store.Record, bool, error) {
				return l.record(w, raw, w.teamID())
			})
		}
		return w.fanOut(ctx, func(ctx context.Context, parent store.Record, cursor string, _ int, emit func([]store.Record, string) error) error {
			a := cloneArgs(args)
			a.Set(l.ParentArg, parent.Key)
			return w.cursorPages(ctx, w.s.Method, a, l.Field, cursor, func(raw json.RawMessage) (store.Record, bool, error) {
				return l.record(w, raw, parent.TeamID)
			}, emit)
		})
	}
}

// record makes the record of an item of the list, in the workspace team
// unless the item names its own.
func (l *list) record(w *walker, raw json.RawMessage, team string) (store.Record, bool, error) {
	v := reflect.New(l.item)
	if err := json.Unmarshal(raw, v.Interface()); err != nil {
		return store.Record{}, false, fmt.Errorf("%s: an item of %q is not an object: %w", w.s.Method, l.Field, err)
	}
	item := v.Elem()
	key := item.Field(0).String()
	if key == "" {
		return store.Record{}, false, fmt.Errorf("%s: an item of %q without %q", w.s.Method, l.Field, l.Key)
	}
	n := 1
	if l.Team != "" {
		team = w.teamOf(item.Field(1).String())
		n++
	}
	var at time.Time
	for i := n; i < item.NumField() && at.IsZero(); i++ {
		updated := item.Field(i).Interface().(json.RawMessage)
		if l.Millis {
			at = unixMillisOrSeconds(updated)
		} else {
			at = unix(updated)
		}
	}
	return store.Record{Key: key, TeamID: team, Data: raw, SourceUpdatedAt: at}, true, nil
}
