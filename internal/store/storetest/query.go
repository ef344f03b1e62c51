package storetest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/query"
	"github.com/connhub/connhub/internal/store"
)

// queryData is the fixture of the records query tests: stream "users", keys
// U01…U31. U01–U15 are in workspace T1, the rest in T2; U01–U20 were updated
// at the source on 2024-01-01 plus their number of days (U01 on the 2nd),
// the rest have no such time; U29 and U30 vanished on 2024-03-01. "list"
// and "team.members" hold arrays, and things that are not, for HAS.
var queryData = []struct{ key, data string }{
	{"U01", `{"name":"ada","age":36,"admin":true,"score":1.5,"nick":"Countess","profile":{"email":"ada@example.com","real_name":"Ada Lovelace","title":"Analyst"},"tags":["math"],"mixed":1,"list":["ada","Bob",1,true,"it's"]}`},
	{"U02", `{"name":"Ada","age":36.0,"admin":false,"score":-2.25,"nick":null,"profile":{"email":"ADA@EXAMPLE.COM","real_name":"Ada King"},"mixed":"1","list":[1.0,"x"]}`},
	{"U03", `{"name":"bob","age":"42","admin":"true","score":0,"profile":{"email":"bob@example.org","real_name":"Bob O'Brien","title":""},"mixed":true,"list":"ada"}`},
	{"U04", `{"name":"Bob","age":42,"admin":1,"score":10,"profile":{"email":"bob@Example.com"},"mixed":null,"list":{"a":"ada","n":1,"t":true}}`},
	{"U05", `{"name":"Émile","age":29,"admin":false,"profile":{"real_name":"Émile Zola","email":"emile@example.fr"},"mixed":{"a":1},"list":[["ada"],{"a":"ada"},[1],[true]]}`},
	{"U06", `{"name":"émile","age":29.5,"profile":{"real_name":"émile zola"},"mixed":[1,2],"list":[null,false,0]}`},
	{"U07", `{"name":"ÉMILE","age":-1,"admin":true,"mixed":-3.5,"list":["1",2.5,-0.0]}`},
	{"U08", `{"name":"zoë","age":0,"admin":false,"nick":"Zo","profile":null,"mixed":"abc","list":[]}`},
	{"U09", `{"name":"Zed","age":100,"admin":true,"profile":"not an object","mixed":false,"list":null}`},
	{"U10", `{"name":"","age":null,"admin":null,"nick":"","mixed":"","list":["O'Brien","%","_","'; DROP TABLE records; --"]}`},
	{"U11", `{"age":18,"admin":false,"list":[1e2,9007199254740993,1.5]}`},
	{"U12", `{"name":"100%","age":1e2,"list":["ADA","Ada","émile","Émile"]}`},
	{"U13", `{"name":"under_score","age":7,"list":[true,true]}`},
	{"U14", `{"name":"back\\slash","age":8,"list":["","","say \"hi\"","\u00e9t\u00e9"]}`},
	{"U15", `{"name":"it's","age":9}`},
	{"U16", `{"name":"'; DROP TABLE records; --","age":10}`},
	{"U17", `{"name":"Ångström","age":11}`},
	{"U18", `{"name":"apple","age":12,"tags":[]}`},
	{"U19", `{"name":"Apple","age":12}`},
	{"U20", `{"name":"banana","age":2.5}`},
	{"U21", `{"name":"cherry","age":-0.5}`},
	{"U22", `{"name":"date","age":9007199254740993}`},
	{"U23", `{"name":"eel","age":3,"profile":{"email":null}}`},
	{"U24", `{"name":"fig","admin":true,"profile":{"title":"Boss","email":"fig@example.com"}}`},
	{"U25", `{"name":"grape","age":5,"nested":{"deep":{"er":"x"}},"team":{"members":["U123","U7"]}}`},
	{"U26", `{"name":"honey dew","age":6,"mixed":0,"team":{"members":"U123"}}`},
	{"U27", `{"name":"Île","age":13,"team":{"members":[["U123"]]}}`},
	{"U28", `{"name":"jack","age":14,"mixed":"ABC","team":["U123"]}`},
	{"U29", `{"name":"kiwi","age":15,"list":["ada"]}`},
	{"U30", `{"name":"lime","age":16}`},
	{"U31", ``}, // no data: stored as JSON null
}

var queryDeletedAt = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// queryFixture is the fixture stored in an organization of its own.
type queryFixture struct {
	e   *env
	org store.Organization
	in  store.Instance
	all []store.Record // as stored, deleted ones too, by key
}

func (e *env) queryFixture(t *testing.T) *queryFixture {
	t.Helper()
	fx := &queryFixture{e: e, org: e.org(t)}
	fx.in = e.instance(t, fx.org.ID, nil)
	var recs, seen []store.Record
	for i, d := range queryData {
		r := store.Record{Key: d.key, TeamID: "T1", Data: json.RawMessage(d.data)}
		if i >= 15 {
			r.TeamID = "T2"
		}
		if i < 20 {
			r.SourceUpdatedAt = time.Date(2024, 1, 2+i, 0, 0, 0, 0, time.UTC)
		}
		recs = append(recs, r)
		if d.key != "U29" && d.key != "U30" {
			seen = append(seen, r)
		}
	}
	_, err := e.s.UpsertRecords(ctx, fx.org.ID, fx.in.ID, "users", "run1", recs)
	must(t, err)
	_, err = e.s.UpsertRecords(ctx, fx.org.ID, fx.in.ID, "users", "run2", seen)
	must(t, err)
	_, err = e.s.MarkUnseen(ctx, fx.org.ID, fx.in.ID, "users", "run2", queryDeletedAt)
	must(t, err)
	fx.all, _, err = e.s.ListRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordFilter{IncludeDeleted: true}, store.Page{Limit: store.MaxPage})
	must(t, err)
	if len(fx.all) != len(queryData) {
		t.Fatalf("the fixture holds %d records, want %d", len(fx.all), len(queryData))
	}
	return fx
}

// keys runs where (with change applied to the query) and returns the keys
// of one page of up to 1000, failing the test on an error.
func (fx *queryFixture) keys(t *testing.T, where string, change func(*store.RecordQuery)) []string {
	t.Helper()
	e, err := query.Parse(where)
	if err != nil {
		t.Fatalf("Parse(%q): %v", where, err)
	}
	rq := store.RecordQuery{Where: e, Page: store.Page{Limit: store.MaxPage}}
	if change != nil {
		change(&rq)
	}
	recs, next, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", rq)
	if err != nil {
		t.Fatalf("where %s: %v", where, err)
	}
	if next != "" {
		t.Fatalf("where %s: a next page after %d records", where, len(recs))
	}
	return recordKeys(recs)
}

// evalKeys is what the semantics package query documents say where should
// return, worked out in Go by match.
func (fx *queryFixture) evalKeys(t *testing.T, e query.Expr, includeDeleted bool, teamID string) []string {
	t.Helper()
	var out []string
	for _, r := range fx.all {
		if (!includeDeleted && !r.DeletedAt.IsZero()) || (teamID != "" && r.TeamID != teamID) {
			continue
		}
		if e == nil || match(t, e, r) {
			out = append(out, r.Key)
		}
	}
	return out
}

func ukeys(nums ...int) []string {
	var out []string
	for _, n := range nums {
		out = append(out, fmt.Sprintf("U%02d", n))
	}
	return out
}

func ukeyRange(from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("U%02d", n))
	}
	return out
}

// liveExcept is every live key (U01–U28, U31) but those given.
func liveExcept(nums ...int) []string {
	var out []string
	for _, k := range append(ukeyRange(1, 28), "U31") {
		if !slices.Contains(ukeys(nums...), k) {
			out = append(out, k)
		}
	}
	return out
}

func testQueryRecords(t *testing.T, e *env) {
	fx := e.queryFixture(t)
	t.Run("Where", func(t *testing.T) { testQueryWhere(t, fx) })
	t.Run("AgreesWithTheDocumentedSemantics", func(t *testing.T) { testQueryParity(t, fx) })
	t.Run("HasFindsAUsersChannels", func(t *testing.T) { testQueryChannelMembers(t, fx) })
	t.Run("OrderAndPages", func(t *testing.T) { testQueryOrder(t, fx) })
	t.Run("KeysetPagesSurviveWrites", func(t *testing.T) { testQueryKeyset(t, e) })
	t.Run("Injection", func(t *testing.T) { testQueryInjection(t, fx) })
	t.Run("Tenancy", func(t *testing.T) { testQueryTenancy(t, fx) })
	t.Run("RefusesWhatItCannotRun", func(t *testing.T) { testQueryRefusals(t, fx) })
}

func testQueryWhere(t *testing.T, fx *queryFixture) {
	deleted := func(q *store.RecordQuery) { q.IncludeDeleted = true }
	for _, tc := range []struct {
		where  string
		change func(*store.RecordQuery)
		want   []string
	}{
		{"", nil, liveExcept()},
		{"", deleted, ukeyRange(1, 31)},

		// Strings: equal as bytes; != only among strings; NOT is the complement.
		{"name = 'ada'", nil, ukeys(1)},
		{"name != 'ada'", nil, liveExcept(1, 11, 31)},
		{"name <> 'ada'", nil, liveExcept(1, 11, 31)},
		{"NOT name = 'ada'", nil, liveExcept(1)},
		{"name = ''", nil, ukeys(10)},
		{"name = 'it''s'", nil, ukeys(15)},
		{"name = 'Émile'", nil, ukeys(5)},
		// Byte order: upper case before lower case, é (C3 A9) after z.
		{"name > 'Zed'", nil, ukeys(1, 3, 5, 6, 7, 8, 13, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28)},
		{"name < 'B'", nil, ukeys(2, 10, 12, 16, 19)},
		{"name >= 'zoë'", nil, ukeys(5, 6, 7, 8, 17, 27)},
		{"name <= ''", nil, ukeys(10)},

		// Numbers: by value, whatever their form; never a string's digits.
		{"age = 36", nil, ukeys(1, 2)},
		{"age = 36.000", nil, ukeys(1, 2)},
		{"age = 42", nil, ukeys(4)},
		{"age = '42'", nil, ukeys(3)},
		{"age = 100", nil, ukeys(9, 12)},
		{"age > 29", nil, ukeys(1, 2, 4, 6, 9, 12, 22)},
		{"age <= 0", nil, ukeys(7, 8, 21)},
		{"age >= 2.5 AND age < 9", nil, ukeys(13, 14, 20, 23, 25, 26)},
		{"age != 36", nil, liveExcept(1, 2, 3, 10, 24, 31)},
		{"age > 9007199254740992", nil, ukeys(22)},
		{"age = 9007199254740992", nil, nil},
		{"age = 9007199254740993", nil, ukeys(22)},
		{"score = 1.50", nil, ukeys(1)},
		{"score > -3 AND score < 1", nil, ukeys(2, 3)},
		{"age IN (36, 100, '42')", nil, ukeys(1, 2, 3, 9, 12)},
		{"age NOT IN (36, 100)", nil, liveExcept(1, 2, 9, 12)},

		// Null and missing.
		{"age IS NULL", nil, ukeys(10, 24, 31)},
		{"age = null", nil, ukeys(10, 24, 31)},
		{"age IS NOT NULL", nil, liveExcept(10, 24, 31)},
		{"age != null", nil, liveExcept(10, 24, 31)},
		{"nick IS NULL", nil, liveExcept(1, 8, 10)},
		{"nick = ''", nil, ukeys(10)},
		{"NOT nick = 'Zo'", nil, liveExcept(8)},

		// Booleans: only true and false are booleans.
		{"admin = true", nil, ukeys(1, 7, 9, 24)},
		{"admin = false", nil, ukeys(2, 5, 8, 11)},
		{"admin != true", nil, ukeys(2, 5, 8, 11)},
		{"admin != false", nil, ukeys(1, 7, 9, 24)},
		{"NOT admin = true", nil, liveExcept(1, 7, 9, 24)},
		{"admin IN (true, 'true', 1)", nil, ukeys(1, 3, 4, 7, 9, 24)},
		{"admin IN (false, null)", nil, liveExcept(1, 3, 4, 7, 9, 24)},

		// LIKE: strings only, ASCII case folded, nothing else folded.
		{"name LIKE 'ada'", nil, ukeys(1, 2)},
		{"name LIKE 'ADA'", nil, ukeys(1, 2)},
		{"name LIKE 'émile'", nil, ukeys(6)},
		{"name LIKE 'É%'", nil, ukeys(5, 7)},
		{"name LIKE '_mile'", nil, ukeys(5, 6, 7)},
		{"name LIKE '%MILE'", nil, ukeys(5, 6, 7)},
		{"name LIKE 'Å%'", nil, ukeys(17)},
		{"name LIKE 'å%'", nil, nil},
		{"name LIKE 'ÅNGSTRÖM'", nil, nil},
		{"name LIKE 'ÎLE'", nil, ukeys(27)},
		{"name LIKE 'zo_'", nil, ukeys(8)},
		{`name LIKE '%\%'`, nil, ukeys(12)},
		{`name LIKE '%\_%'`, nil, ukeys(13)},
		{`name LIKE '%\\%'`, nil, ukeys(14)},
		{"name LIKE '%''%'", nil, ukeys(15, 16)},
		{"name LIKE '%'", nil, liveExcept(11, 31)},
		{"name NOT LIKE 'a%'", nil, liveExcept(1, 2, 18, 19)},
		{"age LIKE '4%'", nil, ukeys(3)},
		{"profile.email LIKE '%@example.com'", nil, ukeys(1, 2, 4, 24)},
		{"profile.real_name LIKE '%zola'", nil, ukeys(5, 6)},

		// IN mixes types.
		{"name IN ('ada', 'Bob', 'zoë', 42, null)", nil, ukeys(1, 4, 8, 11, 31)},
		{"name NOT IN ('ada', 'Ada')", nil, liveExcept(1, 2)},

		// Paths, objects and arrays.
		{"profile.email = 'ada@example.com'", nil, ukeys(1)},
		{"profile.email IS NULL", nil, liveExcept(1, 2, 3, 4, 5, 24)},
		{"profile IS NULL", nil, liveExcept(1, 2, 3, 4, 5, 6, 9, 23, 24)},
		{"profile = 'not an object'", nil, ukeys(9)},
		{"profile.title = ''", nil, ukeys(3)},
		{"profile.email.x IS NOT NULL", nil, nil},
		{"nested.deep.er = 'x'", nil, ukeys(25)},
		{"tags IS NOT NULL", nil, ukeys(1, 18)},
		{"tags = 'math'", nil, nil},
		{"NOT tags = 'math'", nil, liveExcept()},

		// HAS: an element of an array, typed as = has it.
		{"list HAS 'ada'", nil, ukeys(1)}, // not U03's string, U04's object, U05's nested array or object, U12's ADA
		{"list HAS 'ada'", deleted, ukeys(1, 29)},
		{"list has 'Ada'", nil, ukeys(12)},
		{"list HAS 'ADA'", nil, ukeys(12)},
		{"list HAS 'émile'", nil, ukeys(12)},
		{"list HAS 'Émile'", nil, ukeys(12)},
		{"list HAS 'EMILE'", nil, nil},
		{"list HAS 'été'", nil, ukeys(14)}, // written with \u escapes
		{"list HAS 'it''s'", nil, ukeys(1)},
		{"list HAS 'O''Brien'", nil, ukeys(10)},
		{"list HAS 'say \"hi\"'", nil, ukeys(14)},
		{"list HAS '%'", nil, ukeys(10)}, // no pattern: a string like any other
		{"list HAS '_'", nil, ukeys(10)},
		{"list HAS ''", nil, ukeys(14)},
		{"list HAS 'x'", nil, ukeys(2)},
		{"list HAS 1", nil, ukeys(1, 2)}, // 1 and 1.0, not U07's "1" or U04's {"n":1} or U05's [1]
		{"list HAS 1.000", nil, ukeys(1, 2)},
		{"list HAS '1'", nil, ukeys(7)},
		{"list HAS 0", nil, ukeys(6, 7)}, // 0 and -0.0
		{"list HAS -0", nil, ukeys(6, 7)},
		{"list HAS 100", nil, ukeys(11)}, // 1e2
		{"list HAS 2.5", nil, ukeys(7)},
		{"list HAS 1.5", nil, ukeys(11)},
		{"list HAS 9007199254740993", nil, ukeys(11)},
		{"list HAS 9007199254740992", nil, nil},
		{"list HAS true", nil, ukeys(1, 13)}, // not U04's {"t":true} or U05's [true]
		{"list HAS false", nil, ukeys(6)},
		{"list NOT HAS 'ada'", nil, liveExcept(1)},
		{"list not has 'ada'", deleted, append(append(ukeyRange(2, 28), "U30"), "U31")},
		{"NOT list HAS 'ada'", nil, liveExcept(1)},
		{"list NOT HAS 1", nil, liveExcept(1, 2)},
		{"list NOT HAS true", nil, liveExcept(1, 13)},
		{"NOT list NOT HAS 1", nil, ukeys(1, 2)},
		{"name HAS 'ada'", nil, nil},     // a string
		{"profile HAS 'x'", nil, nil},    // an object
		{"nothing.here HAS 1", nil, nil}, // missing
		{"list.a HAS 'ada'", nil, nil},   // U04's list.a is a string
		{"NOT nothing HAS 1", nil, liveExcept()},
		{"tags HAS 'math'", nil, ukeys(1)},
		{"tags NOT HAS 'math'", nil, liveExcept(1)},
		{"mixed HAS 2", nil, ukeys(6)},
		{"team.members HAS 'U123'", nil, ukeys(25)}, // not U26's string, U27's nested array, U28's team
		{"team.members HAS 'U7'", nil, ukeys(25)},
		{"team HAS 'U123'", nil, ukeys(28)},
		{"team.members NOT HAS 'U123'", nil, liveExcept(25)},
		{"list HAS 'ada' OR list HAS 'Ada'", nil, ukeys(1, 12)},
		{"list HAS 1 AND list HAS 'x'", nil, ukeys(2)},
		{"list HAS 'ada' OR name = 'Zed'", nil, ukeys(1, 9)},
		{"NOT (list HAS true OR list HAS false)", nil, liveExcept(1, 6, 13)},
		{"(list HAS 1 OR list HAS 0) AND list NOT HAS '1'", nil, ukeys(1, 2, 6)},
		{"list HAS 1 AND NOT (list HAS true OR team.members HAS 'U7')", nil, ukeys(2)},
		{"list IS NOT NULL AND list NOT HAS 'ada' AND list NOT HAS 1", nil, ukeys(3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14)},

		// A field of many types.
		{"mixed = 1", nil, ukeys(1)},
		{"mixed = '1'", nil, ukeys(2)},
		{"mixed = true", nil, ukeys(3)},
		{"mixed = false", nil, ukeys(9)},
		{"mixed IS NULL", nil, liveExcept(1, 2, 3, 5, 6, 7, 8, 9, 10, 26, 28)},
		{"mixed > 0", nil, ukeys(1)},
		{"mixed < 'b'", nil, ukeys(2, 8, 10, 28)},
		{"NOT (mixed = 1)", nil, liveExcept(1)},
		{"NOT mixed < 'b'", nil, liveExcept(2, 8, 10, 28)},

		// Precedence: NOT, then AND, then OR.
		{"(name LIKE 'a%' OR name LIKE 'b%') AND NOT admin = false", nil, ukeys(1, 3, 4, 14, 18, 19, 20)},
		{"name = 'ada' OR age = 42 AND admin = 1", nil, ukeys(1, 4)},
		{"(name = 'ada' OR age = 42) AND admin = 1", nil, ukeys(4)},
		{"NOT name = 'ada' AND NOT name = 'Ada' AND age = 36", nil, nil},
		{"NOT (NOT name = 'ada')", nil, ukeys(1)},

		// Meta fields.
		{"_key = 'U03'", nil, ukeys(3)},
		{"_key >= 'U28'", nil, ukeys(28, 31)},
		{"_key IN ('U01', 'U29', 'nope')", nil, ukeys(1)},
		{"_key IN ('U01', 'U29', 'nope')", deleted, ukeys(1, 29)},
		{"_key LIKE 'u0%'", nil, ukeyRange(1, 9)},
		{"_team_id = 'T2' AND age < 10", nil, ukeys(20, 21, 23, 25, 26)},
		{"_team_id LIKE 't1'", nil, ukeyRange(1, 15)},
		{"_team_id > 'T1'", nil, append(ukeyRange(16, 28), "U31")},
		{"_source_updated_at >= '2024-01-10'", nil, ukeyRange(9, 20)},
		{"_source_updated_at < '2024-01-04T00:00:00Z'", nil, ukeys(1, 2)},
		{"_source_updated_at = '2024-01-05'", nil, ukeys(4)},
		{"_source_updated_at = '2024-01-05T01:00:00+01:00'", nil, ukeys(4)},
		{"_source_updated_at IS NULL", nil, append(ukeyRange(21, 28), "U31")},
		{"NOT _source_updated_at > '2024-01-20'", nil, liveExcept(20)},
		{"_source_updated_at IN ('2024-01-02', '2024-01-03T00:00:00+00:00', null)", nil, append(ukeys(1, 2), append(ukeyRange(21, 28), "U31")...)},
		{"_deleted_at IS NOT NULL", nil, nil},
		{"_deleted_at IS NOT NULL", deleted, ukeys(29, 30)},
		{"_deleted_at = '2024-03-01'", deleted, ukeys(29, 30)},
		{"NOT _deleted_at < '2024-03-01'", deleted, ukeyRange(1, 31)},
	} {
		got := fx.keys(t, tc.where, tc.change)
		if !slices.Equal(got, tc.want) {
			t.Errorf("where %s\n got %v\nwant %v", tc.where, got, tc.want)
		}
		// The Go reading of the documented semantics agrees with the table.
		e, _ := query.Parse(tc.where)
		var rq store.RecordQuery
		if tc.change != nil {
			tc.change(&rq)
		}
		if ev := fx.evalKeys(t, e, rq.IncludeDeleted, rq.TeamID); !slices.Equal(ev, tc.want) {
			t.Errorf("where %s: the table says %v, but the documented semantics say %v", tc.where, tc.want, ev)
		}
	}

	// Times the store's clock set: every record was first seen after 2000,
	// none before.
	if got := fx.keys(t, "_first_seen_at > '2000-01-01' AND _last_seen_at > '2000-01-01T00:00:00Z'", nil); !slices.Equal(got, liveExcept()) {
		t.Errorf("seen since 2000: got %v, want every live record", got)
	}
	if got := fx.keys(t, "_last_seen_at < '2000-01-01'", nil); len(got) != 0 {
		t.Errorf("seen before 2000: got %v, want none", got)
	}
	// TeamID narrows to one workspace.
	if got := fx.keys(t, "age > 29", func(q *store.RecordQuery) { q.TeamID = "T1" }); !slices.Equal(got, ukeys(1, 2, 4, 6, 9, 12)) {
		t.Errorf("age > 29 in T1: got %v", got)
	}
}

// testQueryChannelMembers is the use HAS is for: the channel_members stream
// keeps a record per page of a channel's members, and user_ids HAS 'U…'
// finds the channels a user is in.
func testQueryChannelMembers(t *testing.T, fx *queryFixture) {
	const stream = "channel_members"
	page := func(channel string, n int, users ...string) store.Record {
		data, err := json.Marshal(map[string]any{"channel_id": channel, "page": n, "user_ids": append([]string{}, users...)})
		must(t, err)
		return store.Record{Key: fmt.Sprintf("%s/%04d", channel, n), TeamID: "T1", Data: data}
	}
	full := make([]string, 1000)
	for i := range full {
		full[i] = fmt.Sprintf("U%04d", i)
	}
	_, err := fx.e.s.UpsertRecords(ctx, fx.org.ID, fx.in.ID, stream, "run1", []store.Record{
		page("C1", 0, "U1", "U123", "U2"),
		page("C2", 0, full...),
		page("C2", 1, "U123"),
		page("C3", 0, "U1"),
		page("C4", 0),
	})
	must(t, err)
	for _, tc := range []struct {
		where, orderBy string
		want           []string
	}{
		{"user_ids HAS 'U123'", "", []string{"C1/0000", "C2/0001"}},
		{"user_ids HAS 'U0999'", "", []string{"C2/0000"}},
		{"user_ids HAS 'u123'", "", nil},
		{"user_ids HAS 123", "", nil},
		{"user_ids HAS 'U1' AND channel_id != 'C1'", "", []string{"C3/0000"}},
		{"user_ids NOT HAS 'U1'", "", []string{"C2/0000", "C2/0001", "C4/0000"}},
		{"user_ids HAS 'U1' OR user_ids HAS 'U123'", "channel_id DESC, page", []string{"C3/0000", "C2/0001", "C1/0000"}},
	} {
		e, err := query.Parse(tc.where)
		must(t, err)
		order, err := query.ParseOrder(tc.orderBy)
		must(t, err)
		recs, _, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, stream, store.RecordQuery{Where: e, OrderBy: order})
		must(t, err)
		if got := recordKeys(recs); !slices.Equal(got, tc.want) {
			t.Errorf("where %s order_by %q: got %v, want %v", tc.where, tc.orderBy, got, tc.want)
		}
	}
}

// testQueryParity runs every test the language can write of the fixture's
// fields against a set of literals, each and its NOT, and a few hundred
// random combinations, and compares the store's answer with match's.
func testQueryParity(t *testing.T, fx *queryFixture) {
	fields := []string{"name", "age", "admin", "nick", "mixed", "score", "profile", "profile.email", "tags", "nothing.here",
		"list", "team.members", "_key", "_team_id", "_source_updated_at", "_deleted_at"}
	literals := []string{"'ada'", "'Ada'", "''", "'Émile'", "'b'", "'1'", "'42'", "1", "36", "0", "-1", "2.5", "100",
		"true", "false", "null", "'2024-01-10'", "'U10'", "'T2'"}
	var atoms []string
	for _, f := range fields {
		for _, op := range []string{"=", "!=", "<", "<=", ">", ">="} {
			for _, l := range literals {
				atoms = append(atoms, f+" "+op+" "+l)
			}
		}
		for _, p := range []string{"'a%'", "'%E%'", "'_'", "'%'", "'é%'", `'%\_%'`} {
			atoms = append(atoms, f+" LIKE "+p)
		}
		atoms = append(atoms, f+" IN ('ada', 36, true, null)", f+" IN ('2024-01-02', 'U01', 'T1')", f+" IS NULL")
		for _, l := range []string{"'ada'", "'Ada'", "''", "'1'", "'U123'", "'it''s'", "1", "1.0", "0", "2", "100", "1.5", "true", "false", "null"} {
			atoms = append(atoms, f+" HAS "+l, f+" NOT HAS "+l)
		}
	}
	var parsed []query.Expr
	for _, a := range atoms {
		if e, err := query.Parse(a); err == nil {
			parsed = append(parsed, e)
		}
	}
	if len(parsed) < 600 {
		t.Fatalf("only %d of %d tests parse; the list is broken", len(parsed), len(atoms))
	}
	r := rand.New(rand.NewPCG(1, 2))
	var combos []query.Expr
	for range 300 {
		var pick func(depth int) query.Expr
		pick = func(depth int) query.Expr {
			if depth == 0 || r.IntN(3) == 0 {
				return parsed[r.IntN(len(parsed))]
			}
			switch r.IntN(3) {
			case 0:
				return &query.Not{X: pick(depth - 1)}
			case 1:
				return &query.And{Terms: []query.Expr{pick(depth - 1), pick(depth - 1)}}
			}
			return &query.Or{Terms: []query.Expr{pick(depth - 1), pick(depth - 1), pick(depth - 1)}}
		}
		combos = append(combos, pick(3))
	}
	checked := 0
	for _, e := range append(parsed, combos...) {
		for _, e := range []query.Expr{e, &query.Not{X: e}} {
			recs, _, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{Where: e, IncludeDeleted: true, Page: store.Page{Limit: store.MaxPage}})
			if err != nil {
				t.Fatalf("where %s: %v", e, err)
			}
			if got, want := recordKeys(recs), fx.evalKeys(t, e, true, ""); !slices.Equal(got, want) {
				t.Errorf("where %s\n got %v\nwant %v", e, got, want)
			}
			checked++
		}
	}
	t.Logf("%d queries agree with the documented semantics", checked)
}

// match is the documented semantics of package query, in Go.
func match(t *testing.T, e query.Expr, r store.Record) bool {
	switch e := e.(type) {
	case *query.And:
		for _, x := range e.Terms {
			if !match(t, x, r) {
				return false
			}
		}
		return true
	case *query.Or:
		for _, x := range e.Terms {
			if match(t, x, r) {
				return true
			}
		}
		return false
	case *query.Not:
		return !match(t, e.X, r)
	case *query.IsNull:
		return (valueOf(t, r, e.Field) == nil) != e.Not
	case *query.Compare:
		return compareValue(valueOf(t, r, e.Field), e.Op, e.Value)
	case *query.In:
		for _, v := range e.Values {
			if compareValue(valueOf(t, r, e.Field), query.Eq, v) {
				return !e.Not
			}
		}
		return e.Not
	case *query.Like:
		s, ok := valueOf(t, r, e.Field).(string)
		return (ok && like(foldASCII(s), foldASCII(e.Pattern))) != e.Not
	case *query.Has:
		return hasValue(t, valueOf(t, r, e.Field), e.Value) != e.Not
	}
	t.Fatalf("match: %T", e)
	return false
}

// valueOf is the field's value in r: nil for missing or null, a string, a
// *big.Rat, a bool, an int64 for a meta time, or something else for an
// object or array.
func valueOf(t *testing.T, r store.Record, f query.Field) any {
	if f.Meta {
		ms := func(at time.Time) any {
			if at.IsZero() {
				return nil
			}
			return at.UnixMilli()
		}
		switch f.Path[0] {
		case query.MetaKey:
			return r.Key
		case query.MetaTeamID:
			return r.TeamID
		case query.MetaFirstSeenAt:
			return ms(r.FirstSeenAt)
		case query.MetaLastSeenAt:
			return ms(r.LastSeenAt)
		case query.MetaSourceUpdatedAt:
			return ms(r.SourceUpdatedAt)
		case query.MetaDeletedAt:
			return ms(r.DeletedAt)
		}
		t.Fatalf("valueOf: meta field %s", f.Name())
	}
	d := json.NewDecoder(bytes.NewReader(r.Data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("record %s: %v", r.Key, err)
	}
	for _, s := range f.Path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[s]
	}
	if n, ok := v.(json.Number); ok {
		rat, ok := new(big.Rat).SetString(n.String())
		if !ok {
			t.Fatalf("record %s: number %s", r.Key, n)
		}
		return rat
	}
	return v
}

// hasValue is "v HAS lit": v is an array with an element that equals lit
// as compareValue has it (a null element equals nothing: HAS takes no null).
func hasValue(t *testing.T, v any, lit query.Value) bool {
	elems, ok := v.([]any)
	if !ok {
		return false
	}
	for _, el := range elems {
		if n, ok := el.(json.Number); ok {
			rat, ok := new(big.Rat).SetString(n.String())
			if !ok {
				t.Fatalf("number %s", n)
			}
			el = rat
		}
		if el != nil && compareValue(el, query.Eq, lit) {
			return true
		}
	}
	return false
}

// compareValue is "v op lit": false between different types.
func compareValue(v any, op query.Op, lit query.Value) bool {
	if lit.Kind == query.KindNull {
		return (v == nil) == (op == query.Eq)
	}
	var c int
	switch v := v.(type) {
	case string:
		if lit.Kind != query.KindString {
			return false
		}
		c = strings.Compare(v, lit.Text)
	case *big.Rat:
		n, ok := new(big.Rat).SetString(lit.Text)
		if lit.Kind != query.KindNumber || !ok {
			return false
		}
		c = v.Cmp(n)
	case bool:
		if lit.Kind != query.KindBool {
			return false
		}
		if v == lit.Bool {
			c = 0
		} else {
			c = 1
		}
	case int64:
		if lit.Kind != query.KindTime {
			return false
		}
		c = cmp.Compare(v, lit.Millis)
	default:
		return false
	}
	switch op {
	case query.Eq:
		return c == 0
	case query.Ne:
		return c != 0
	case query.Lt:
		return c < 0
	case query.Le:
		return c <= 0
	case query.Gt:
		return c > 0
	case query.Ge:
		return c >= 0
	}
	return false
}

func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// like matches s against a LIKE pattern, character by character.
func like(s, pattern string) bool {
	sr, pr := []rune(s), []rune(pattern)
	var m func(i, j int) bool
	m = func(i, j int) bool {
		for j < len(pr) {
			switch pr[j] {
			case '%':
				for k := i; k <= len(sr); k++ {
					if m(k, j+1) {
						return true
					}
				}
				return false
			case '_':
				if i == len(sr) {
					return false
				}
			case '\\':
				j++
				fallthrough
			default:
				if i == len(sr) || sr[i] != pr[j] {
					return false
				}
			}
			i, j = i+1, j+1
		}
		return i == len(sr)
	}
	return m(0, 0)
}

// rank is where a value's type sorts: missing or null, false, true, number,
// string, anything else; meta times sort null first too.
func rank(v any) int {
	switch v := v.(type) {
	case nil:
		return 0
	case bool:
		if v {
			return 2
		}
		return 1
	case *big.Rat, int64:
		return 3
	case string:
		return 4
	}
	return 5
}

// sortRecords sorts records as the documented order has it.
func sortRecords(t *testing.T, recs []store.Record, order []query.Order) {
	byKey := false
	slices.SortStableFunc(recs, func(a, b store.Record) int {
		for _, o := range order {
			byKey = byKey || (o.Field.Meta && o.Field.Path[0] == query.MetaKey)
			va, vb := valueOf(t, a, o.Field), valueOf(t, b, o.Field)
			c := cmp.Compare(rank(va), rank(vb))
			if c == 0 {
				switch va := va.(type) {
				case *big.Rat:
					c = va.Cmp(vb.(*big.Rat))
				case int64:
					c = cmp.Compare(va, vb.(int64))
				case string:
					c = strings.Compare(va, vb.(string))
				}
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// pages reads every page of a query, failing on a record seen twice.
func (fx *queryFixture) pages(t *testing.T, where, orderBy string, size int, includeDeleted bool) []string {
	t.Helper()
	e, err := query.Parse(where)
	must(t, err)
	order, err := query.ParseOrder(orderBy)
	must(t, err)
	var got []string
	seen := map[string]bool{}
	after := ""
	for n := 0; ; n++ {
		if n > len(queryData)+1 {
			t.Fatalf("order_by %s: more pages than records", orderBy)
		}
		page, next, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{Where: e, OrderBy: order, IncludeDeleted: includeDeleted, Page: store.Page{After: after, Limit: size}})
		must(t, err)
		if len(page) > size || (next != "" && len(page) != size) {
			t.Fatalf("order_by %s, pages of %d: a page of %d with next %q", orderBy, size, len(page), next)
		}
		for _, r := range page {
			if seen[r.Key] {
				t.Fatalf("order_by %s, pages of %d: %s seen twice", orderBy, size, r.Key)
			}
			seen[r.Key] = true
			got = append(got, r.Key)
		}
		if next == "" {
			return got
		}
		after = next
	}
}

func testQueryOrder(t *testing.T, fx *queryFixture) {
	// The documented order of a field of every type, written out.
	mixedAsc := append(append(ukeys(4), ukeyRange(11, 25)...), ukeys(27, 31, 9, 3, 7, 26, 1, 10, 2, 28, 8, 5, 6)...)
	if got := fx.pages(t, "", "mixed", 4, false); !slices.Equal(got, mixedAsc) {
		t.Errorf("order_by mixed\n got %v\nwant %v", got, mixedAsc)
	}
	mixedDesc := append(ukeys(5, 6, 8, 28, 2, 10, 1, 26, 7, 3, 9, 4), append(ukeyRange(11, 25), ukeys(27, 31)...)...)
	if got := fx.pages(t, "", "mixed DESC", 4, false); !slices.Equal(got, mixedDesc) {
		t.Errorf("order_by mixed DESC\n got %v\nwant %v", got, mixedDesc)
	}

	for _, tc := range []struct {
		where, orderBy string
		deleted        bool
	}{
		{"", "", false},
		{"", "name", false},
		{"", "name DESC", true},
		{"", "age DESC, name", false},
		{"", "age, _key DESC", true},
		{"", "profile.email DESC, age", false},
		{"", "admin, mixed DESC, name", false},
		{"", "_source_updated_at DESC", false},
		{"", "_deleted_at, name DESC", true},
		{"", "_team_id DESC, score", false},
		{"", "_key DESC", false},
		{"", "_first_seen_at, _last_seen_at DESC", false},
		{"age > 0", "age DESC", false},
		{"name LIKE '%e%' OR age IS NULL", "profile.real_name, name DESC", false},
	} {
		e, err := query.Parse(tc.where)
		must(t, err)
		order, err := query.ParseOrder(tc.orderBy)
		must(t, err)
		var want []store.Record
		for _, r := range fx.all {
			if (tc.deleted || r.DeletedAt.IsZero()) && (e == nil || match(t, e, r)) {
				want = append(want, r)
			}
		}
		sortRecords(t, want, order)
		for _, size := range []int{1, 3, 7, 100} {
			if got := fx.pages(t, tc.where, tc.orderBy, size, tc.deleted); !slices.Equal(got, recordKeys(want)) {
				t.Errorf("where %q order_by %q, pages of %d\n got %v\nwant %v", tc.where, tc.orderBy, size, got, recordKeys(want))
			}
		}
	}

	// Without an order_by the cursor is the last key, as ListRecords has it.
	page, next, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{Page: store.Page{Limit: 2}})
	must(t, err)
	if !slices.Equal(recordKeys(page), ukeys(1, 2)) || next != "U02" {
		t.Errorf("first page by key: %v, next %q; want [U01 U02], next U02", recordKeys(page), next)
	}
}

// testQueryKeyset shows pages are keyset pages: a record written before the
// cursor between two pages shifts nothing, as it would an offset.
func testQueryKeyset(t *testing.T, e *env) {
	fx := e.queryFixture(t)
	order, err := query.ParseOrder("name")
	must(t, err)
	rq := store.RecordQuery{OrderBy: order, Page: store.Page{Limit: 5}}
	first, next, err := e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", rq)
	must(t, err)
	got := recordKeys(first)
	// "!" sorts before every name but the missing ones, so before the
	// cursor: with an offset, the next page would repeat a record.
	_, err = e.s.UpsertRecords(ctx, fx.org.ID, fx.in.ID, "users", "run3", []store.Record{{Key: "U40", Data: json.RawMessage(`{"name":"!"}`)}})
	must(t, err)
	for n := 0; next != ""; n++ {
		if n > len(queryData) {
			t.Fatalf("more pages than records: the cursor does not move on (got %v so far)", got)
		}
		rq.Page.After = next
		var page []store.Record
		page, next, err = e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", rq)
		must(t, err)
		got = append(got, recordKeys(page)...)
	}
	want := slices.Clone(fx.all)
	want = slices.DeleteFunc(want, func(r store.Record) bool { return !r.DeletedAt.IsZero() })
	sortRecords(t, want, order)
	if !slices.Equal(got, recordKeys(want)) {
		t.Errorf("pages with a write between them\n got %v\nwant %v", got, recordKeys(want))
	}
}

func testQueryInjection(t *testing.T, fx *queryFixture) {
	for _, tc := range []struct {
		where string
		want  []string
	}{
		{"name = '''; DROP TABLE records; --'", ukeys(16)},
		{"name = 'x'' OR ''1''=''1'", nil},
		{"name LIKE '%'' OR 1=1 --'", nil},
		{"name IN ('a''); DELETE FROM records; --', 'x')", nil},
		{"list HAS '''; DROP TABLE records; --'", ukeys(10)},
		{"list HAS 'x'') OR 1=1 --'", nil},
		{"DROP.TABLE.records = 1", nil},
		{"select = 'x' OR from.records IS NOT NULL", nil},
	} {
		if got := fx.keys(t, tc.where, nil); !slices.Equal(got, tc.want) {
			t.Errorf("where %s: got %v, want %v", tc.where, got, tc.want)
		}
	}
	// Quotes cannot reach a path: the language has no way to write one, and
	// the store refuses one built by hand.
	for _, src := range []string{`"name" = 'x'`, "na'me = 'x'", "a.'b' = 1", "a.b\"); DROP TABLE records; -- = 1"} {
		if _, err := query.Parse(src); err == nil {
			t.Errorf("Parse(%q) accepted a quote in a path", src)
		}
	}
	nameIs := func(f query.Field) query.Expr {
		return &query.Compare{Field: f, Op: query.Eq, Value: query.Value{Kind: query.KindString, Text: "x"}}
	}
	for _, e := range []query.Expr{
		nameIs(query.Field{Path: []string{`name"); DROP TABLE records; --`}}),
		nameIs(query.Field{Path: []string{"profile", `$."x"`}}),
		nameIs(query.Field{Path: []string{"a'b"}}),
		nameIs(query.Field{Path: []string{"record_key) OR (1=1"}, Meta: true}),
		&query.Compare{Field: query.Field{Path: []string{"age"}}, Op: "= 1 OR 1 =", Value: query.Value{Kind: query.KindNumber, Text: "1"}},
		&query.Compare{Field: query.Field{Path: []string{"age"}}, Op: query.Eq, Value: query.Value{Kind: query.KindNumber, Text: "1 OR 1=1"}},
		&query.Like{Field: query.Field{Path: []string{"name"}}, Pattern: `x\`},
		&query.Has{Field: query.Field{Path: []string{`list", "$") OR 1=1 --`}}, Value: query.Value{Kind: query.KindString, Text: "x"}},
		&query.Has{Field: query.Field{Path: []string{"list"}}, Value: query.Value{Kind: query.KindNumber, Text: "1) OR (1=1"}},
	} {
		recs, _, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{Where: e})
		if !errors.Is(err, query.ErrInvalid) {
			t.Errorf("where %#v: got %d records and error %v, want it refused as query.ErrInvalid", e, len(recs), err)
		}
	}
	bad := []query.Order{{Field: query.Field{Path: []string{"name DESC; DROP TABLE records"}}}}
	if _, _, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{OrderBy: bad}); !errors.Is(err, query.ErrInvalid) {
		t.Errorf("an order_by field with SQL in it: got %v, want query.ErrInvalid", err)
	}
	// A cursor's values are bound too: one forged to hold SQL finds nothing
	// worse than records after it.
	if got, _, err := fx.e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{Page: store.Page{After: "' OR 1=1; DROP TABLE records; --"}}); err != nil || len(got) != 29 {
		t.Errorf("a key cursor holding SQL: %d records, %v; want the 29 live ones (every key sorts after a quote)", len(got), err)
	}
	// And the table is all there.
	if got := fx.keys(t, "", func(q *store.RecordQuery) { q.IncludeDeleted = true }); !slices.Equal(got, ukeyRange(1, 31)) {
		t.Errorf("after the attempts the stream holds %v", got)
	}
}

func testQueryTenancy(t *testing.T, fx *queryFixture) {
	e := fx.e
	// Another organization with the same stream, keys and data.
	other := e.queryFixture(t)
	recs, _, err := e.s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{IncludeDeleted: true, Page: store.Page{Limit: store.MaxPage}})
	must(t, err)
	for _, r := range recs {
		if r.OrgID != fx.org.ID || r.InstanceID != fx.in.ID {
			t.Errorf("record %s of organization %s, instance %s, in a query of %s, %s", r.Key, r.OrgID, r.InstanceID, fx.org.ID, fx.in.ID)
		}
	}
	if len(recs) != len(queryData) {
		t.Errorf("got %d records, want %d: the other organization's must not be among them", len(recs), len(queryData))
	}
	// Another organization's instance, named with this organization's ID,
	// and the other way round: nothing.
	where, err := query.Parse("name IS NOT NULL OR name IS NULL")
	must(t, err)
	for _, ids := range [][2]string{{fx.org.ID, other.in.ID}, {other.org.ID, fx.in.ID}} {
		recs, _, err := e.s.QueryRecords(ctx, ids[0], ids[1], "users", store.RecordQuery{Where: where, IncludeDeleted: true})
		must(t, err)
		if len(recs) != 0 {
			t.Errorf("organization %s, instance %s: got %d records, want none", ids[0], ids[1], len(recs))
		}
	}
	// Another stream of the same instance is another set.
	_, err = e.s.UpsertRecords(ctx, fx.org.ID, fx.in.ID, "channels", "run1", []store.Record{{Key: "C1", Data: json.RawMessage(`{"name":"ada"}`)}})
	must(t, err)
	if got := fx.keys(t, "name = 'ada'", nil); !slices.Equal(got, ukeys(1)) {
		t.Errorf("users named ada: got %v, want [U01] (not the channel)", got)
	}
}

func testQueryRefusals(t *testing.T, fx *queryFixture) {
	s := fx.e.s
	order, err := query.ParseOrder("age DESC")
	must(t, err)
	_, next, err := s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{OrderBy: order, Page: store.Page{Limit: 2}})
	must(t, err)
	if next == "" {
		t.Fatal("no next page")
	}
	other, err := query.ParseOrder("age")
	must(t, err)
	for name, rq := range map[string]store.RecordQuery{
		"a cursor of another order":     {OrderBy: other, Page: store.Page{After: next}},
		"a cursor that is not base64":   {OrderBy: order, Page: store.Page{After: "not a cursor!"}},
		"a cursor cut short":            {OrderBy: order, Page: store.Page{After: next[:len(next)-3]}},
		"a key as an ordered cursor":    {OrderBy: order, Page: store.Page{After: "U01"}},
		"an AND without terms":          {Where: &query.And{}},
		"a time compared with a number": {Where: &query.Compare{Field: query.Field{Path: []string{"_deleted_at"}, Meta: true}, Op: query.Lt, Value: query.Value{Kind: query.KindNumber, Text: "5"}}},
		"a boolean ordered":             {Where: &query.Compare{Field: query.Field{Path: []string{"admin"}}, Op: query.Lt, Value: query.Value{Kind: query.KindBool}}},
		"too many order fields":         {OrderBy: slices.Repeat(order, query.MaxOrder+1)},
		"HAS on a meta field":           {Where: &query.Has{Field: query.Field{Path: []string{"_key"}, Meta: true}, Value: query.Value{Kind: query.KindString, Text: "U01"}}},
		"HAS null":                      {Where: &query.Has{Field: query.Field{Path: []string{"list"}}, Value: query.Value{Kind: query.KindNull}}},
		"HAS a time":                    {Where: &query.Has{Field: query.Field{Path: []string{"list"}}, Value: query.Value{Kind: query.KindTime, Text: "2024-01-01"}}},
	} {
		if _, _, err := s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", rq); !errors.Is(err, query.ErrInvalid) {
			t.Errorf("%s: got %v, want query.ErrInvalid", name, err)
		}
	}

	// Big but within the limits: an IN list of 1000 values, and an OR of
	// 1500 tests (built by hand: deeper than SQLite's 1000 if chained).
	in := "_key IN ('U01'" + strings.Repeat(",'x'", query.MaxIn-1) + ")"
	if got := fx.keys(t, in, nil); !slices.Equal(got, ukeys(1)) {
		t.Errorf("an IN of 1000: got %v, want [U01]", got)
	}
	var terms []query.Expr
	for i := range 1500 {
		terms = append(terms, &query.Compare{Field: query.Field{Path: []string{"age"}}, Op: query.Eq, Value: query.Value{Kind: query.KindNumber, Text: fmt.Sprint(1000 + i)}})
	}
	terms = append(terms, &query.Compare{Field: query.Field{Path: []string{"name"}}, Op: query.Eq, Value: query.Value{Kind: query.KindString, Text: "zoë"}})
	recs, _, err := s.QueryRecords(ctx, fx.org.ID, fx.in.ID, "users", store.RecordQuery{Where: &query.Or{Terms: terms}})
	must(t, err)
	if got := recordKeys(recs); !slices.Equal(got, ukeys(8)) {
		t.Errorf("an OR of 1501: got %v, want [U08]", got)
	}
}
