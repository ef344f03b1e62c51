package slacksim_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
)

// lockedBuffer collects a sandbox's logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSaved runs a sandbox over real HTTP that keeps its state in path.
func startSaved(t *testing.T, cfg slacksim.Config, path string, logs *lockedBuffer) (*slacksim.Server, string) {
	t.Helper()
	srv, err := slacksim.New(cfg, slacksim.WithStateFile(path), slacksim.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatalf("slacksim.New with a state file: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil { // before the directory goes
			t.Error(err)
		}
	})
	return srv, ts.URL
}

// TestStateSurvivesARestart: a sandbox started again on its state file has
// the same app secret, every token it issued (refreshed, revoked and spent as
// they were), the workspaces granted to an org install, and the workspace's
// changes. A copy of the file taken the moment a refresh answered (a kill -9
// then) already holds the refreshed tokens.
func TestStateSurvivesARestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	cfg := slacksim.Config{Users: 60, Edition: slacksim.EditionEnterpriseGrid, Workspaces: 3, TokenRotation: true}
	logs := &lockedBuffer{}
	srv, base := startSaved(t, cfg, path, logs)
	if srv.StateLoaded() {
		t.Fatal("a sandbox with no state file yet says it loaded one")
	}
	teams := srv.Summary().Teams

	// The app's secret changes, as the Regenerate button does.
	secret := controlJSON(t, base, "POST", "/_sandbox/app/client-secret", "", 200)["client_secret"].(string)
	info := srv.Info(base)
	if info.ClientSecret != secret {
		t.Fatalf("Info has client secret %q after regeneration, want %q", info.ClientSecret, secret)
	}
	// An org-wide install added to the first workspace, then the third added
	// as an org admin would.
	code := consent(t, base, authorizeQuery(info, "users:read,team:read", ""), "allow",
		url.Values{"install_into": {info.EnterpriseID}, "org_team": {teams[0].ID}}).Query().Get("code")
	installed := exchange(t, base, info, url.Values{"code": {code}, "redirect_uri": {redirect}})
	wantOK(t, installed)
	controlJSON(t, base, "POST", "/_sandbox/org-install/teams", `{"team_id":"`+teams[2].ID+`"}`, 200)
	// A refresh spends the first refresh token.
	refreshed := exchange(t, base, info, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {installed["refresh_token"].(string)}})
	wantOK(t, refreshed)
	crash, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A workspace token, revoked.
	revoked := issue(t, srv, slacksim.TokenRequest{TeamID: teams[1].ID, Scopes: []string{"users:read"}})
	got, _ := webAPI(t, base, revoked.AccessToken, "auth.revoke", nil)
	wantOK(t, got)
	// A person added through the controls, and a message.
	ada := controlJSON(t, base, "POST", "/_sandbox/users", `{"team_id":"`+teams[0].ID+`","real_name":"Ada Lovelace","email":"ada@example.org"}`, 201)["user"].(map[string]any)["id"].(string)
	before := srv.Summary()

	// A clean stop writes what is pending.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the state file is %v; want 0600: it holds tokens", fi.Mode().Perm())
	}

	again, base2 := startSaved(t, cfg, path, logs)
	if !again.StateLoaded() {
		t.Fatal("the sandbox started again did not load its state")
	}
	info2 := again.Info(base2)
	if info2.ClientID != info.ClientID || info2.ClientSecret != secret || info2.SigningSecret != info.SigningSecret || info2.AppID != info.AppID {
		t.Errorf("after a restart the app is %s/%s…; want the same client ID and the regenerated secret", info2.ClientID, info2.ClientSecret[:4])
	}
	if after := again.Summary(); !reflect.DeepEqual(after, before) {
		t.Errorf("after a restart the workspace is\n%+v\nwant\n%+v", after, before)
	}
	bot := refreshed["access_token"].(string)
	got, _ = webAPI(t, base2, bot, "auth.test", nil)
	wantOK(t, got)
	got, _ = webAPI(t, base2, installed["access_token"].(string), "auth.test", nil)
	wantOK(t, got) // the access token a refresh replaced lives out its TTL
	got, _ = webAPI(t, base2, revoked.AccessToken, "auth.test", nil)
	wantError(t, got, "token_revoked")
	wantError(t, exchange(t, base2, info2, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {installed["refresh_token"].(string)}}), "invalid_refresh_token")
	list, _ := webAPI(t, base2, bot, "auth.teams.list", nil)
	wantOK(t, list)
	var granted []string
	for _, tm := range list["teams"].([]any) {
		granted = append(granted, tm.(map[string]any)["id"].(string))
	}
	slices.Sort(granted)
	if want := []string{teams[0].ID, teams[2].ID}; !slices.Equal(granted, want) {
		t.Errorf("after a restart the org install reaches %v; want %v", granted, want)
	}
	got, _ = webAPI(t, base2, bot, "users.info", url.Values{"user": {ada}, "team_id": {teams[0].ID}})
	wantOK(t, got)
	if name := got["user"].(map[string]any)["real_name"]; name != "Ada Lovelace" {
		t.Errorf("the person added before the restart: got %v", name)
	}
	// New objects do not take a saved one's ID.
	bob := controlJSON(t, base2, "POST", "/_sandbox/users", `{"team_id":"`+teams[0].ID+`","real_name":"Bob Byte"}`, 201)["user"].(map[string]any)["id"].(string)
	if bob == ada {
		t.Errorf("a user added after the restart got the ID of one added before: %s", bob)
	}
	// The refreshed tokens are spendable, with the regenerated secret.
	wantOK(t, exchange(t, base2, info2, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed["refresh_token"].(string)}}))

	// The file as it was when the refresh answered: the refreshed token is in it.
	crashPath := filepath.Join(t.TempDir(), "sandbox.json")
	if err := os.WriteFile(crashPath, crash, 0o600); err != nil {
		t.Fatal(err)
	}
	crashed, base3 := startSaved(t, cfg, crashPath, logs)
	got, _ = webAPI(t, base3, bot, "auth.test", nil)
	wantOK(t, got)
	if crashed.Info(base3).ClientSecret != secret {
		t.Error("the state written at the refresh lost the regenerated client secret")
	}

	for _, tok := range []string{bot, installed["access_token"].(string), installed["refresh_token"].(string), refreshed["refresh_token"].(string), revoked.AccessToken, secret} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the sandbox logged a token or secret: %s…", tok[:12])
		}
	}
}

// TestStateRefusesWhatItCannotKeep: a state file saved for another world, or
// one that is not a state file, stops New with an error that says so and
// what to do; the file is left as it was.
func TestStateRefusesWhatItCannotKeep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sandbox.json")
	srv, err := slacksim.New(slacksim.Config{Users: 40}, slacksim.WithStateFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SaveState(); err != nil {
		t.Fatal(err)
	}
	saved, err := slacksim.ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (slacksim.WorldConfig{Seed: 1, Users: 40, Channels: 40, Workspaces: 1, Edition: slacksim.EditionBusinessPlus}); saved.Config != want {
		t.Errorf("ReadState: got %+v, want %+v", saved.Config, want)
	}
	data, _ := os.ReadFile(path)

	_, err = slacksim.New(slacksim.Config{Users: 41, Edition: slacksim.EditionFree}, slacksim.WithStateFile(path))
	var mismatch *slacksim.StateMismatchError
	if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), "users: saved 40, asked 41") ||
		!strings.Contains(err.Error(), "edition: saved business_plus, asked free") || !strings.Contains(err.Error(), "remove the file") {
		t.Errorf("a state file for another world: got %v; want a StateMismatchError naming users and edition", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, data) {
		t.Error("a refused state file was changed")
	}

	for name, content := range map[string]string{
		"corrupt":        `{"version":1,"world":`,
		"not state":      `{"hello":"world"}`,
		"newer format":   `{"version":99}`,
		"broken world":   strings.Replace(string(data), `"Owner":"`, `"Owner":"X`, 1),
		"unknown member": strings.Replace(string(data), `"Members":["`, `"Members":["NOBODY","`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := slacksim.New(slacksim.Config{Users: 40}, slacksim.WithStateFile(p))
			if err == nil || !strings.Contains(err.Error(), "sandbox state "+p) {
				t.Errorf("got %v; want an error naming the state file", err)
			}
		})
	}
}
