package instance_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
)

// appRow is an app's row as the database holds it, every column.
func (e *env) appRow(t *testing.T, id string) string {
	t.Helper()
	db := e.store.(interface{ DB() *sql.DB }).DB()
	rows, err := db.QueryContext(ctx, `SELECT * FROM apps WHERE id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("no app %s", id)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := ""
	for i, c := range cols {
		out += fmt.Sprintf("%s=%v; ", c, vals[i])
	}
	return out
}

func (e *env) rotatingToken(t *testing.T) secrets.Secret {
	t.Helper()
	tok, err := e.sandbox.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	return secrets.Secret(tok.RefreshToken)
}

// TestAFailedImportLeavesTheAppAlone: an import with a wrong client secret
// is refused by Slack before anything is stored; the registered app stays
// byte for byte as it was (name, secrets, version), and the app's other
// instances still refresh with it.
func TestAFailedImportLeavesTheAppAlone(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true, TokenTTL: time.Hour})
	other := e.install(t, instance.CreateInput{Name: "other"}, nil)
	before := e.appRow(t, other.AppID)
	refresh := e.rotatingToken(t)

	_, err := e.svc.ImportRefreshToken(ctx, e.admin, instance.ImportInput{Name: "imported", ClientID: e.info.ClientID,
		ClientSecret: "not-the-client-secret", RefreshToken: refresh})
	wantProblem(t, err, http.StatusBadRequest, "slack_bad_client_secret")
	if after := e.appRow(t, other.AppID); after != before {
		t.Errorf("a failed import changed the app:\nbefore %s\nafter  %s", before, after)
	}
	e.advance(2 * time.Hour)
	if _, err := e.svc.Ping(ctx, e.admin, other.ID); err != nil || e.sandbox.Stats().Refreshes != 1 {
		t.Errorf("the app's other instance after a failed import: %v, %d refreshes; want one good refresh", err, e.sandbox.Stats().Refreshes)
	}

	// The right secret imports, and still changes nothing of the app: not
	// its name, not its signing secret.
	imp, err := e.svc.ImportRefreshToken(ctx, e.admin, instance.ImportInput{Name: "imported", ClientID: e.info.ClientID,
		ClientSecret: secrets.Secret(e.info.ClientSecret), RefreshToken: refresh})
	if err != nil || imp.Instance.Status != store.StatusActive || imp.Instance.AppID != other.AppID {
		t.Fatalf("import with the right secret: %+v %v", imp.Instance, err)
	}
	if after := e.appRow(t, other.AppID); after != before {
		t.Errorf("a good import changed the app:\nbefore %s\nafter  %s", before, after)
	}
}

// TestAnImportWithAnotherGoodSecretIsAConflict: the registered app holds a
// stale secret and the import brings the one Slack takes: the import says
// so (409 app_secret_differs) and changes nothing; rotating the app's
// secret is an explicit act.
func TestAnImportWithAnotherGoodSecretIsAConflict(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	p := e.principal(t, store.RoleAdmin)
	stale, err := e.svc.CreateApp(ctx, p, instance.AppInput{Name: "ours", ClientID: e.info.ClientID, ClientSecret: "a-stale-secret", SigningSecret: "signing"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.appRow(t, stale.ID)
	_, err = e.svc.ImportRefreshToken(ctx, p, instance.ImportInput{Name: "imported", ClientID: e.info.ClientID,
		ClientSecret: secrets.Secret(e.info.ClientSecret), RefreshToken: e.rotatingToken(t)})
	wantProblem(t, err, http.StatusConflict, "app_secret_differs")
	if after := e.appRow(t, stale.ID); after != before {
		t.Errorf("a conflicting import changed the app:\nbefore %s\nafter  %s", before, after)
	}
	if list, _, _ := e.store.ListInstances(ctx, p.Org.ID, store.InstanceFilter{}, store.Page{}); len(list) != 0 {
		t.Errorf("a conflicting import made %d instances", len(list))
	}
}

// TestAnImportRegistersItsAppOnlyOnceSlackSaidYes: in an organization
// without the app, a refused import registers nothing; a good one registers
// the app with the secret Slack took.
func TestAnImportRegistersItsAppOnlyOnceSlackSaidYes(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{TokenRotation: true})
	p := e.principal(t, store.RoleAdmin)
	refresh := e.rotatingToken(t)
	_, err := e.svc.ImportRefreshToken(ctx, p, instance.ImportInput{Name: "imported", ClientID: e.info.ClientID,
		ClientSecret: "not-the-client-secret", RefreshToken: refresh})
	wantProblem(t, err, http.StatusBadRequest, "slack_bad_client_secret")
	if apps, _, _ := e.store.ListApps(ctx, p.Org.ID, store.Page{}); len(apps) != 0 {
		t.Fatalf("a refused import registered %d apps", len(apps))
	}
	imp, err := e.svc.ImportRefreshToken(ctx, p, instance.ImportInput{Name: "imported", ClientID: e.info.ClientID,
		ClientSecret: secrets.Secret(e.info.ClientSecret), RefreshToken: refresh})
	if err != nil || imp.Instance.Status != store.StatusActive {
		t.Fatalf("import: %+v %v", imp.Instance, err)
	}
	app, err := e.store.GetApp(ctx, p.Org.ID, imp.Instance.AppID)
	if err != nil || app.ClientID != e.info.ClientID || app.ClientSecret.Reveal() != e.info.ClientSecret {
		t.Errorf("the app the import registered: %+v %v", app, err)
	}
}
