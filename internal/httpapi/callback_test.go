package httpapi_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
)

// TestTheCallbackTellsAForgerNothing replays the security review's finding
// over HTTP: a state with a pending install's real ID and a wrong MAC gets
// the very page (and JSON) a state connhub never issued gets, spends
// nothing, and the install completes afterwards; a replay of the used link
// gets a page that names no instance.
func TestTheCallbackTellsAForgerNothing(t *testing.T) {
	t.Parallel()
	h := start(t)
	var created struct {
		ID           string `json:"id"`
		AuthorizeURL string `json:"authorize_url"`
	}
	wantStatus(t, h.call(t, "POST", "/v1/instances", "", map[string]any{"name": "Pending"}, &created), http.StatusCreated)
	loc := sandboxtest.Consent(t, created.AuthorizeURL, "allow", nil)
	id, mac, _ := strings.Cut(loc.Query().Get("state"), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(mac)
	raw[0] ^= 1
	wrong := base64.RawURLEncoding.EncodeToString(raw)

	get := func(state, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+"/v1/oauth/slack/callback?"+url.Values{"state": {state}, "code": {loc.Query().Get("code")}}.Encode(), nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, accept := range []string{"text/html", "application/json"} {
		forgedStatus, forged := get(id+"."+wrong, accept)
		neverStatus, never := get(store.NewSecretID("st")+"."+wrong, accept)
		if forgedStatus != http.StatusBadRequest || forgedStatus != neverStatus || forged != never || !strings.Contains(forged, "invalid_state") {
			t.Errorf("%s: a forged state got %d %q; a state never issued got %d %q; want the same 400 invalid_state answer",
				accept, forgedStatus, forged, neverStatus, never)
		}
	}
	if page := browse(t, loc); !strings.Contains(page, "is connected") {
		t.Fatalf("the real callback after forged ones: %.400s", page)
	}
	if page := browse(t, loc); !strings.Contains(page, "used or expired") || strings.Contains(page, created.ID) || strings.Contains(page, "Pending") {
		t.Errorf("a replayed link: %.600s; want 'used or expired' and no instance named", page)
	}
}
