package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	syncsvc "github.com/connhub/connhub/internal/sync"
)

// TestExportCSVNeutralisesFormulas exports, over HTTP, users whose names a
// spreadsheet would run as formulas: each cell comes out with a single quote
// before it, and harmless cells as they are.
func TestExportCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	h := startSyncHub(t, hubtest.Options{Sandbox: slacksim.Config{Users: 3, Channels: 2}}, syncsvc.Config{})
	users := []struct{ id, name, title string }{
		{"U0000000001", `=HYPERLINK("http://x","y")`, "Ada"},
		{"U0000000002", "+1+1", "@SUM(A1:A9)"},
		{"U0000000003", "-5", "\t=1"},
		{"U0000000004", "\r=1", "plain, with a comma"},
	}
	recs := make([]store.Record, len(users))
	for i, u := range users {
		data, _ := json.Marshal(map[string]any{"id": u.id, "name": u.name, "profile": map[string]any{"title": u.title}})
		recs[i] = store.Record{Key: u.id, Data: data}
	}
	if _, err := h.Store.UpsertRecords(ctx, h.Admin.Org.ID, h.Instance.ID, "users", "", recs); err != nil {
		t.Fatal(err)
	}

	_, body, err := h.export(t, "users", url.Values{"format": {"csv"}, "fields": {"id,name,profile.title"}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"_key", "_team_id", "id", "name", "profile.title", "_deleted_at"},
		{"U0000000001", "", "U0000000001", `'=HYPERLINK("http://x","y")`, "Ada", ""},
		{"U0000000002", "", "U0000000002", "'+1+1", "'@SUM(A1:A9)", ""},
		{"U0000000003", "", "U0000000003", "'-5", "'\t=1", ""},
		{"U0000000004", "", "U0000000004", "'\r=1", "plain, with a comma", ""},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("the export:\n%q\nwant\n%q", rows, want)
	}
}
