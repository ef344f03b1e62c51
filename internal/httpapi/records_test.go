package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	syncsvc "github.com/connhub/connhub/internal/sync"
)

// record is a record as the contract shows it.
type record struct {
	Key         string          `json:"key"`
	TeamID      string          `json:"team_id"`
	Data        json.RawMessage `json:"data"`
	FirstSeenAt time.Time       `json:"first_seen_at"`
	LastSeenAt  time.Time       `json:"last_seen_at"`
	DeletedAt   *time.Time      `json:"deleted_at"`
}

type recordPage struct {
	Stream     string   `json:"stream"`
	Records    []record `json:"records"`
	NextCursor string   `json:"next_cursor"`
}

type queryErr struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Position int    `json:"position"`
}

// user is what the tests read of a users record.
type user struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	IsBot   bool   `json:"is_bot"`
	Deleted bool   `json:"deleted"`
	Profile struct {
		Email string `json:"email"`
	} `json:"profile"`
}

// syncedHub is a hub whose instance's users and channels were synced.
func syncedHub(t *testing.T, postgres bool) *syncHub {
	t.Helper()
	h := startSyncHub(t, hubtest.Options{Postgres: postgres, Sandbox: slacksim.Config{Users: 60, Channels: 6}}, syncsvc.Config{})
	run := h.start(t, map[string]any{"streams": []string{"users", "channels"}})
	h.execute(t, run.ID)
	if r := h.wait(t, run.ID); r.Status != store.RunSucceeded {
		t.Fatalf("the sync: %s (%s)", r.Status, r.Error)
	}
	return h
}

func (h *syncHub) recordsPath(stream string, q url.Values) string {
	return "/v1/instances/" + h.Instance.ID + "/records/" + stream + "?" + q.Encode()
}

// stored reads a stream's live records from the store, by key.
func (h *syncHub) stored(t *testing.T, stream string) []store.Record {
	t.Helper()
	var out []store.Record
	for after := ""; ; {
		page, next, err := h.Store.ListRecords(ctx, h.Admin.Org.ID, h.Instance.ID, stream, store.RecordFilter{}, store.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if after = next; after == "" {
			return out
		}
	}
}

func decodeUser(t *testing.T, data []byte) user {
	t.Helper()
	var u user
	if err := json.Unmarshal(data, &u); err != nil {
		t.Fatalf("a user's data: %v: %s", err, data)
	}
	return u
}

func keysOf(data json.RawMessage) []string {
	var m map[string]json.RawMessage
	json.Unmarshal(data, &m)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestRecordsOverHTTP(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := syncedHub(t, b.postgres)
			all := h.stored(t, "users")

			t.Run("where, fields, order_by and paging", func(t *testing.T) {
				// What the query should answer, worked out here from every record.
				var want []store.Record
				for _, r := range all {
					if u := decodeUser(t, r.Data); !u.IsBot && !u.Deleted && u.Profile.Email != "" {
						want = append(want, r)
					}
				}
				name := func(r store.Record) string { return decodeUser(t, r.Data).Name }
				sort.SliceStable(want, func(i, j int) bool {
					if a, b := name(want[i]), name(want[j]); a != b {
						return a > b
					}
					return want[i].Key < want[j].Key
				})
				if len(want) < 10 || len(want) == len(all) {
					t.Fatalf("the sandbox's %d users hold %d live humans: a poor test", len(all), len(want))
				}
				for _, order := range []string{"name desc", "-name"} {
					q := url.Values{"where": {"is_bot = false AND deleted = false AND profile.email IS NOT NULL"}, "fields": {"id,name,profile.email"}, "order_by": {order}, "page_size": {"7"}}
					var got []record
					pages := 0
					for {
						var page recordPage
						wantStatus(t, h.api.call(t, "GET", h.recordsPath("users", q), "", nil, &page), http.StatusOK)
						if page.Stream != "users" || len(page.Records) > 7 {
							t.Fatalf("a page: stream %q, %d records", page.Stream, len(page.Records))
						}
						got = append(got, page.Records...)
						pages++
						if page.NextCursor == "" {
							break
						}
						q.Set("cursor", page.NextCursor)
					}
					if pages != (len(want)+6)/7 && pages != (len(want)+6)/7+1 {
						t.Errorf("order_by %s: %d pages of 7 for %d records", order, pages, len(want))
					}
					if len(got) != len(want) {
						t.Fatalf("order_by %s: %d records, want %d", order, len(got), len(want))
					}
					for i, r := range got {
						if r.Key != want[i].Key {
							t.Fatalf("order_by %s: record %d is %s, want %s", order, i, r.Key, want[i].Key)
						}
						if keys := keysOf(r.Data); !slices.Equal(keys, []string{"id", "name", "profile"}) {
							t.Fatalf("fields id,name,profile.email kept %v of %s", keys, r.Data)
						}
						u, w := decodeUser(t, r.Data), decodeUser(t, want[i].Data)
						if u.ID != w.ID || u.Name != w.Name || u.Profile.Email != w.Profile.Email || u.Profile.Email == "" {
							t.Fatalf("record %s: %+v, want %+v", r.Key, u, w)
						}
						if keys := keysOf(mustGet(t, r.Data, "profile")); !slices.Equal(keys, []string{"email"}) {
							t.Fatalf("profile.email kept %v of the profile", keys)
						}
						if r.FirstSeenAt.IsZero() || r.LastSeenAt.IsZero() || r.DeletedAt != nil {
							t.Fatalf("record %s: times %v %v %v", r.Key, r.FirstSeenAt, r.LastSeenAt, r.DeletedAt)
						}
					}
				}
			})

			t.Run("meta fields and whole records", func(t *testing.T) {
				var page recordPage
				q := url.Values{"where": {"_key = '" + all[3].Key + "'"}}
				wantStatus(t, h.api.call(t, "GET", h.recordsPath("users", q), "", nil, &page), http.StatusOK)
				if len(page.Records) != 1 || page.Records[0].Key != all[3].Key || page.NextCursor != "" {
					t.Fatalf("_key = %s: %+v", all[3].Key, page)
				}
				var gotData, wantData any
				json.Unmarshal(page.Records[0].Data, &gotData)
				json.Unmarshal(all[3].Data, &wantData)
				if !jsonEqual(gotData, wantData) {
					t.Errorf("without fields, the data is not the record's whole data:\n%s\n%s", page.Records[0].Data, all[3].Data)
				}
			})

			t.Run("errors name what is valid", func(t *testing.T) {
				for _, tt := range []struct {
					stream   string
					q        url.Values
					code     string
					position int
					mentions []string
				}{
					{"users", url.Values{"where": {"deleted = "}}, "invalid_where", 11, []string{"position 11"}},
					{"users", url.Values{"where": {"real_name LIKE 'a%' AND ((is_bot = true)"}}, "invalid_where", 41, []string{"position 41", `to close the "(" at position 25`}},
					{"users", url.Values{"where": {"ß = 1"}}, "invalid_where", 1, []string{"position 1"}},
					{"users", url.Values{"where": {"deleted = 'true'"}}, "invalid_where", 11, []string{"position 11", "deleted is a boolean", "true or false"}},
					{"users", url.Values{"where": {"is_bot = false AND tz_offset > '30'"}}, "invalid_where", 32, []string{"tz_offset is a number", "a number such as 30"}},
					{"users", url.Values{"where": {"name = 5"}}, "invalid_where", 8, []string{"name is a string"}},
					{"users", url.Values{"where": {"teams LIKE 'T%'"}}, "invalid_where", 7, []string{"LIKE matches strings, and teams is an array"}},
					{"userz", nil, "unknown_stream", 0, []string{"userz", "users", "channels", "license_summary"}},
					{"users", url.Values{"where": {"nope = 1"}}, "unknown_field", 0, []string{"nope", "real_name", "profile", "_key"}},
					{"users", url.Values{"where": {"profil.email = 'a'"}}, "unknown_field", 0, []string{"profil.email", "profile"}},
					{"users", url.Values{"fields": {"id,nope"}}, "unknown_field", 0, []string{"fields", "nope", "real_name"}},
					{"users", url.Values{"order_by": {"-nope"}}, "unknown_field", 0, []string{"order_by", "nope", "real_name"}},
					{"channels", url.Values{"where": {"real_name = 'x'"}}, "unknown_field", 0, []string{"channels", "num_members"}},
					{"users", url.Values{"order_by": {"name sideways"}}, "invalid_order_by", 6, []string{"position 6"}},
					{"users", url.Values{"fields": {"id,,name"}}, "invalid_fields", 4, []string{"position 4"}},
					{"users", url.Values{"order_by": {"name"}, "cursor": {"garbage"}}, "invalid_cursor", 0, []string{"next_cursor"}},
				} {
					var e queryErr
					resp := h.api.call(t, "GET", h.recordsPath(tt.stream, tt.q), "", nil, &e)
					if resp.StatusCode != http.StatusBadRequest || e.Code != tt.code || e.Position != tt.position {
						t.Errorf("%s %v: %d %s at %d (%s), want 400 %s at %d", tt.stream, tt.q, resp.StatusCode, e.Code, e.Position, e.Message, tt.code, tt.position)
					}
					for _, m := range tt.mentions {
						if !strings.Contains(e.Message, m) {
							t.Errorf("%s %v: the message %q does not mention %q", tt.stream, tt.q, e.Message, m)
						}
					}
				}
				var e apiErr
				wantError(t, h.api.call(t, "GET", "/v1/instances/ins_nope/records/users", "", nil, &e), &e, http.StatusNotFound, "not_found")
			})

			t.Run("export jsonl", func(t *testing.T) {
				var want []store.Record
				for _, r := range all {
					if !decodeUser(t, r.Data).IsBot {
						want = append(want, r)
					}
				}
				resp, body, err := h.export(t, "users", url.Values{"where": {"is_bot = false"}, "fields": {"id,name"}})
				if err != nil {
					t.Fatal(err)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
					t.Errorf("Content-Type %q", ct)
				}
				lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
				if len(lines) != len(want) {
					t.Fatalf("%d lines, want %d", len(lines), len(want))
				}
				for i, line := range lines {
					var r record
					if err := json.Unmarshal([]byte(line), &r); err != nil {
						t.Fatalf("line %d: %v: %s", i+1, err, line)
					}
					if r.Key != want[i].Key || !slices.Equal(keysOf(r.Data), []string{"id", "name"}) || decodeUser(t, r.Data).Name != decodeUser(t, want[i].Data).Name {
						t.Fatalf("line %d: %s, want the record %s with its id and name", i+1, line, want[i].Key)
					}
				}
				if got := resp.Trailer.Get("Connhub-Export-Records"); got != strconv.Itoa(len(want)) {
					t.Errorf("the trailer says %q records, want %d", got, len(want))
				}
			})

			t.Run("a Slack field named as a record's own column has its own", func(t *testing.T) {
				_, body, err := h.export(t, "users", url.Values{"format": {"csv"}, "fields": {"team_id,deleted"}})
				if err != nil {
					t.Fatal(err)
				}
				rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]int{}
				for _, c := range rows[0] {
					seen[c]++
				}
				for c, n := range seen {
					if n != 1 {
						t.Errorf("the header %v has %s %d times", rows[0], c, n)
					}
				}
				if want := []string{"_key", "_team_id", "team_id", "deleted", "_deleted_at"}; !slices.Equal(rows[0], want) {
					t.Errorf("header %v, want %v", rows[0], want)
				}
			})

			t.Run("export csv", func(t *testing.T) {
				resp, body, err := h.export(t, "users", url.Values{"format": {"csv"}, "fields": {"id,real_name,profile.email,is_admin"}})
				if err != nil {
					t.Fatal(err)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "text/csv" {
					t.Errorf("Content-Type %q", ct)
				}
				rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"_key", "_team_id", "id", "real_name", "profile.email", "is_admin", "_deleted_at"}; !slices.Equal(rows[0], want) {
					t.Fatalf("header %v, want %v", rows[0], want)
				}
				if len(rows)-1 != len(all) {
					t.Fatalf("%d rows, want %d", len(rows)-1, len(all))
				}
				for i, row := range rows[1:] {
					var u struct {
						ID       string `json:"id"`
						RealName string `json:"real_name"`
						IsAdmin  bool   `json:"is_admin"`
						Profile  struct {
							Email string `json:"email"`
						} `json:"profile"`
					}
					json.Unmarshal(all[i].Data, &u)
					want := []string{all[i].Key, all[i].TeamID, u.ID, u.RealName, u.Profile.Email, strconv.FormatBool(u.IsAdmin), ""}
					if !slices.Equal(row, want) {
						t.Fatalf("row %d: %q, want %q", i+1, row, want)
					}
				}
				if got := resp.Trailer.Get("Connhub-Export-Records"); got != strconv.Itoa(len(all)) {
					t.Errorf("the trailer says %q records, want %d", got, len(all))
				}

				// Without fields, every field of the stream, nested ones as JSON.
				_, body, err = h.export(t, "channels", url.Values{"format": {"csv"}})
				if err != nil {
					t.Fatal(err)
				}
				rows, err = csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				fields := streamFields(t, "channels")
				if want := append(append([]string{"_key", "_team_id"}, fields...), "_deleted_at"); !slices.Equal(rows[0], want) {
					t.Fatalf("header %v, want %v", rows[0], want)
				}
				topic := slices.Index(rows[0], "topic")
				var v map[string]any
				if err := json.Unmarshal([]byte(rows[1][topic]), &v); err != nil {
					t.Errorf("a nested value is not JSON: %q", rows[1][topic])
				}
			})

			t.Run("export errors before the body are JSON", func(t *testing.T) {
				var e queryErr
				resp := h.api.call(t, "GET", "/v1/instances/"+h.Instance.ID+"/records/users/export?where="+url.QueryEscape("name = 'x"), "", nil, &e)
				if resp.StatusCode != http.StatusBadRequest || e.Code != "invalid_where" || e.Position != 8 {
					t.Errorf("a bad where: %d %+v", resp.StatusCode, e)
				}
			})

			t.Run("an export that breaks off has no trailer", func(t *testing.T) {
				// The hub's store, failing from the third page an export reads.
				failing := &failingStore{Store: h.Store, after: 2}
				base := h.serve(t, failing)
				req, _ := http.NewRequest("GET", base+"/v1/instances/"+h.Instance.ID+"/records/users/export", nil)
				req.Header.Set("Authorization", "Bearer "+h.api.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				wantStatus(t, resp, http.StatusOK)
				lines := 0
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					lines++
				}
				if sc.Err() == nil {
					t.Errorf("the body ended cleanly after %d lines", lines)
				}
				if lines != 14 {
					t.Errorf("%d lines arrived, want the 2 pages of 7 read before the failure", lines)
				}
				if got := resp.Trailer.Get("Connhub-Export-Records"); got != "" {
					t.Errorf("a broken export has the trailer %q", got)
				}
				if !strings.Contains(h.Logs.String(), "export broke off") {
					t.Errorf("the failure was not logged")
				}
			})
		})
	}
}

// export reads a whole export.
func (h *syncHub) export(t *testing.T, stream string, q url.Values) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", h.api.url+"/v1/instances/"+h.Instance.ID+"/records/"+stream+"/export?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+h.api.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export %s: %d %s", stream, resp.StatusCode, b)
	}
	// Go's client moves the Trailer header's names into resp.Trailer.
	if _, declared := resp.Trailer["Connhub-Export-Records"]; !declared {
		t.Errorf("the export does not declare the trailer Connhub-Export-Records (Trailer: %v)", resp.Trailer)
	}
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func streamFields(t *testing.T, name string) []string {
	t.Helper()
	for _, s := range syncsvc.Streams() {
		if s.Name == name {
			return s.Fields
		}
	}
	t.Fatalf("no stream %s", name)
	return nil
}

func mustGet(t *testing.T, data json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m[key] == nil {
		t.Fatalf("no %s in %s", key, data)
	}
	return m[key]
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// failingStore is the hub's real store, whose QueryRecords fails once it has
// answered a number of times: a database lost in the middle of an export.
type failingStore struct {
	store.Store
	after int32
	calls atomic.Int32
}

func (s *failingStore) QueryRecords(ctx context.Context, orgID, instanceID, stream string, q store.RecordQuery) ([]store.Record, string, error) {
	if s.calls.Add(1) > s.after {
		return nil, "", errors.New("the database went away")
	}
	return s.Store.QueryRecords(ctx, orgID, instanceID, stream, q)
}
