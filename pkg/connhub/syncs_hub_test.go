package connhub_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/pkg/connhub"
)

// TestSyncsAndRecords runs a real sync of the sandbox's users through the
// hub, then reads what it wrote every way the API offers.
func TestSyncsAndRecords(t *testing.T) {
	t.Parallel()
	h := setup(t)
	inst := h.fromToken(t, "Synced")

	infos, err := h.c.Streams(ctx)
	i := slices.IndexFunc(infos, func(s connhub.StreamInfo) bool { return s.Name == "users" })
	if err != nil || i < 0 || infos[i].Method != "users.list" || !slices.Contains(infos[i].Fields, "is_bot") || !infos[i].Default {
		t.Fatalf("Streams: %v; want users, fetched by users.list, with its fields", err)
	}

	_, err = h.c.StartSync(ctx, inst.ID, connhub.StartSyncInput{Streams: []string{"no_such_stream"}})
	if e := wantError(t, err, http.StatusBadRequest, "unknown_stream"); !strings.Contains(e.Message, "users") {
		t.Errorf("unknown_stream says %q; want it to name the streams", e.Message)
	}
	run, err := h.c.StartSync(ctx, inst.ID, connhub.StartSyncInput{Streams: []string{"users"}})
	if err != nil || run.ID == "" || run.Finished() || !slices.Contains(run.Streams, "users") || run.Progress["users"].State != connhub.StreamPending {
		t.Fatalf("StartSync: %+v, %v; want a queued run of users", run, err)
	}
	if _, err := h.c.StartSync(ctx, inst.ID, connhub.StartSyncInput{}); err == nil {
		t.Error("a second StartSync while the first runs was accepted")
	} else if got, _ := h.c.GetSync(ctx, inst.ID, run.ID); !got.Finished() {
		// Only while the first has not ended can the hub refuse for it.
		wantError(t, err, http.StatusConflict, "sync_in_progress")
	}

	var snapshots []connhub.SyncRun
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	final, err := h.c.WaitSync(wctx, inst.ID, run.ID, connhub.WaitOptions{Interval: 20 * time.Millisecond,
		OnPoll: func(r connhub.SyncRun) { snapshots = append(snapshots, r) }})
	users := final.Progress["users"]
	if err != nil || final.Status != connhub.RunSucceeded || users.State != connhub.StreamDone || users.Records < 30 || users.Calls < 1 ||
		final.FinishedAt == nil || users.FinishedAt == nil {
		t.Fatalf("WaitSync: %+v, %v; want users done with the sandbox's 30 users and more", final, err)
	}
	if len(snapshots) == 0 || snapshots[len(snapshots)-1].Status != connhub.RunSucceeded {
		t.Errorf("OnPoll was given %d snapshots; want the last one succeeded", len(snapshots))
	}
	if got, err := h.c.GetSync(ctx, inst.ID, run.ID); err != nil || got.Status != connhub.RunSucceeded {
		t.Errorf("GetSync: %s, %v", got.Status, err)
	}
	if list, err := h.c.ListSyncs(ctx, inst.ID, connhub.ListOptions{Limit: 5}); err != nil || len(list.Syncs) == 0 || list.Syncs[0].Finished() != true {
		t.Errorf("ListSyncs: %d runs, %v", len(list.Syncs), err)
	}
	_, err = h.c.CancelSync(ctx, inst.ID, run.ID)
	wantError(t, err, http.StatusConflict, "sync_finished")
	_, err = h.c.ResumeSync(ctx, inst.ID, run.ID)
	wantError(t, err, http.StatusConflict, "sync_finished")
	_, err = h.c.GetSync(ctx, inst.ID, "run_nosuchrun")
	wantError(t, err, http.StatusNotFound, "not_found")

	// The runs, newest first, a page at a time.
	second, err := h.c.StartSync(ctx, inst.ID, connhub.StartSyncInput{Streams: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	if page, err := h.c.ListSyncs(ctx, inst.ID, connhub.ListOptions{Limit: 1}); err != nil || len(page.Syncs) != 1 || page.Syncs[0].ID != second.ID || page.NextCursor == "" {
		t.Errorf("ListSyncs(limit 1): %d runs, next %q, %v; want %s and a next page", len(page.Syncs), page.NextCursor, err, second.ID)
	}
	var ids []string
	for r, err := range h.c.AllSyncs(ctx, inst.ID) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{second.ID, run.ID}) {
		t.Errorf("AllSyncs: %v, want %s then %s", ids, second.ID, run.ID)
	}
	if _, err := h.c.CancelSync(ctx, inst.ID, second.ID); err != nil {
		t.Fatal(err)
	}

	// Every record, a page of 7 at a time.
	keys := map[string]bool{}
	bots := 0
	for rec, err := range h.c.AllRecords(ctx, inst.ID, "users", connhub.RecordQuery{PageSize: 7}) {
		if err != nil {
			t.Fatal(err)
		}
		var u struct {
			ID    string `json:"id"`
			IsBot bool   `json:"is_bot"`
		}
		if err := rec.Decode(&u); err != nil || u.ID != rec.Key || keys[rec.Key] {
			t.Fatalf("record %s: %+v, %v; want its data with its key as id, once", rec.Key, u, err)
		}
		keys[rec.Key] = true
		if u.IsBot {
			bots++
		}
	}
	if int64(len(keys)) != users.Records {
		t.Errorf("AllRecords: %d records; want the %d the sync wrote", len(keys), users.Records)
	}

	page, err := h.c.QueryRecords(ctx, inst.ID, "users", connhub.RecordQuery{Where: "is_bot = true", Fields: []string{"name", "is_bot"},
		OrderBy: []string{"name desc"}, PageSize: 1000})
	if err != nil || len(page.Records) != bots || bots == 0 || page.Stream != "users" {
		t.Fatalf("QueryRecords(is_bot = true): %d records, %v; want the %d bots", len(page.Records), err, bots)
	}
	var names []string
	for _, rec := range page.Records {
		var data map[string]any
		rec.Decode(&data)
		if len(data) != 2 || data["is_bot"] != true {
			t.Errorf("a record with fields name,is_bot has data %v", data)
		}
		names = append(names, data["name"].(string))
	}
	if !sort.IsSorted(sort.Reverse(sort.StringSlice(names))) {
		t.Errorf("ordered by name desc: %v", names)
	}
	_, err = h.c.QueryRecords(ctx, inst.ID, "users", connhub.RecordQuery{Where: "is_bot = = true"})
	if e := wantError(t, err, http.StatusBadRequest, "invalid_where"); e.Position < 1 {
		t.Errorf("invalid_where without the position: %+v", e)
	}
	_, err = h.c.QueryRecords(ctx, inst.ID, "users", connhub.RecordQuery{Where: "no_such_field = 1"})
	wantError(t, err, http.StatusBadRequest, "unknown_field")

	// The export of every user, whole: as many lines as the hub declared.
	r, err := h.c.Export(ctx, inst.ID, "users", connhub.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec connhub.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || !keys[rec.Key] {
			t.Fatalf("export line %d: %v, key %q", n+1, err, rec.Key)
		}
		n++
	}
	r.Close()
	if err := sc.Err(); err != nil || n != users.Records || r.Records() != n || !strings.HasPrefix(r.ContentType(), "application/x-ndjson") {
		t.Errorf("export: %d lines, %d declared, %q, %v; want %d", n, r.Records(), r.ContentType(), err, users.Records)
	}
	r, err = h.c.Export(ctx, inst.ID, "users", connhub.ExportOptions{Format: connhub.FormatCSV, Where: "is_bot = true", Fields: []string{"name", "is_bot"}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(r).ReadAll()
	r.Close()
	if err != nil || len(rows) != bots+1 || strings.Join(rows[0], ",") != "_key,_team_id,name,is_bot,_deleted_at" || r.Records() != int64(bots) {
		t.Errorf("CSV export of the bots: %d rows (header %v), %d declared, %v; want a header and %d rows", len(rows), rows[0], r.Records(), err, bots)
	}
	_, err = h.c.Export(ctx, inst.ID, "users", connhub.ExportOptions{Where: "(("})
	wantError(t, err, http.StatusBadRequest, "invalid_where")
}

func TestSyncSchedule(t *testing.T) {
	t.Parallel()
	h := setup(t)
	inst := h.fromToken(t, "Scheduled")
	_, err := h.c.GetSyncSchedule(ctx, inst.ID)
	if !connhub.IsNotFound(err) {
		t.Fatalf("GetSyncSchedule with none: %v; want a 404", err)
	}
	sc, err := h.c.SetSyncSchedule(ctx, inst.ID, connhub.ScheduleInput{Every: 6 * time.Hour, Streams: []string{"users"}, AnalyticsDays: 30, Enabled: true})
	if err != nil || sc.Interval() != 6*time.Hour || !sc.Enabled || !slices.Equal(sc.Streams, []string{"users"}) || sc.Options.AnalyticsDays != 30 ||
		sc.NextRunAt == nil || time.Until(*sc.NextRunAt) < 5*time.Hour {
		t.Fatalf("SetSyncSchedule: %+v, %v", sc, err)
	}
	sc, err = h.c.SetSyncSchedule(ctx, inst.ID, connhub.ScheduleInput{Every: 24 * time.Hour})
	if err != nil || sc.Every != "24h0m0s" || sc.Enabled || len(sc.Streams) != 0 {
		t.Errorf("SetSyncSchedule(disabled, default streams): %+v, %v", sc, err)
	}
	if got, err := h.c.GetSyncSchedule(ctx, inst.ID); err != nil || got.Every != sc.Every || got.Enabled {
		t.Errorf("GetSyncSchedule: %+v, %v", got, err)
	}
	_, err = h.c.SetSyncSchedule(ctx, inst.ID, connhub.ScheduleInput{Every: time.Minute, Enabled: true})
	wantError(t, err, http.StatusBadRequest, "invalid_schedule")
	if err := h.c.DeleteSyncSchedule(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.GetSyncSchedule(ctx, inst.ID); !connhub.IsNotFound(err) {
		t.Errorf("GetSyncSchedule after the delete: %v; want a 404", err)
	}
}
