package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// Console sessions' times are the caller's clock: each test below keeps to
// a year of its own, so that one's sweep never reaches another's sessions
// on the shared database.

// session makes a console session of the user, signed in with cred ("": the
// Open Connectors secrets), that expires at expires, and returns its ID.
func (e *env) session(t *testing.T, u store.User, cred string, expires time.Time) (string, store.ConsoleSession) {
	t.Helper()
	id := store.NewSecretID("sess")
	s := store.ConsoleSession{IDHash: secrets.HashToken(id), OrgID: u.OrgID, UserID: u.ID, CredentialID: cred,
		CreatedAt: expires.Add(-time.Hour), ExpiresAt: expires}
	if cred == "" {
		s.UserSecretHash, s.OrgSecretHash = secrets.HashToken("user-"+id), secrets.HashToken("org-"+id)
	}
	got, err := e.s.CreateConsoleSession(ctx, s)
	must(t, err)
	return id, got
}

func (e *env) apiCredential(t *testing.T, u store.User) store.APICredential {
	t.Helper()
	c, err := e.s.CreateAPICredential(ctx, store.APICredential{OrgID: u.OrgID, UserID: u.ID, Name: "console",
		TokenHash: secrets.HashToken("chub_" + store.NewID("t")), Hint: "chub_"})
	must(t, err)
	return c
}

func testConsoleSessions(t *testing.T, e *env) {
	base := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	o := e.org(t)
	u := e.user(t, o.ID, "console@example.com")
	c := e.apiCredential(t, u)
	id, created := e.session(t, u, c.ID, base.Add(time.Hour))

	got, err := e.s.GetConsoleSession(ctx, secrets.HashToken(id), base)
	must(t, err)
	if !bytes.Equal(got.IDHash, secrets.HashToken(id)) || got.OrgID != o.ID || got.UserID != u.ID || got.CredentialID != c.ID ||
		got.UserSecretHash != nil || got.OrgSecretHash != nil || got.FlashWaiting ||
		!sameTime(got.CreatedAt, base) || !sameTime(got.ExpiresAt, base.Add(time.Hour)) {
		t.Errorf("got %+v, want %+v", got, created)
	}
	_, err = e.s.GetConsoleSession(ctx, secrets.HashToken(id+"x"), base)
	wantErr(t, "another ID's hash", err, store.ErrNotFound)
	_, err = e.s.GetConsoleSession(ctx, nil, base)
	wantErr(t, "no hash", err, store.ErrNotFound)

	// Expiry: refused from the moment it expires, before any sweep.
	_, err = e.s.GetConsoleSession(ctx, secrets.HashToken(id), base.Add(time.Hour-time.Millisecond))
	must(t, err)
	_, err = e.s.GetConsoleSession(ctx, secrets.HashToken(id), base.Add(time.Hour))
	wantErr(t, "at its expiry", err, store.ErrNotFound)

	// Signed in with the Open Connectors secrets: their hashes, no credential.
	sid, _ := e.session(t, u, "", base.Add(time.Hour))
	got, err = e.s.GetConsoleSession(ctx, secrets.HashToken(sid), base)
	must(t, err)
	if got.CredentialID != "" || !bytes.Equal(got.UserSecretHash, secrets.HashToken("user-"+sid)) || !bytes.Equal(got.OrgSecretHash, secrets.HashToken("org-"+sid)) {
		t.Errorf("secrets session: got %+v", got)
	}

	// The same hash twice; references that do not hold.
	_, err = e.s.CreateConsoleSession(ctx, store.ConsoleSession{IDHash: secrets.HashToken(id), OrgID: o.ID, UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	wantErr(t, "the same hash again", err, store.ErrAlreadyExists)
	other := e.org(t)
	stranger := e.user(t, other.ID, "stranger@example.com")
	colleague := e.user(t, o.ID, "colleague@example.com")
	for what, s := range map[string]store.ConsoleSession{
		"a user of another organization":   {OrgID: o.ID, UserID: stranger.ID},
		"a missing user":                   {OrgID: o.ID, UserID: "usr_missing"},
		"a missing organization":           {OrgID: "org_missing", UserID: u.ID},
		"a missing API credential":         {OrgID: o.ID, UserID: u.ID, CredentialID: "key_missing"},
		"another user's API credential":    {OrgID: o.ID, UserID: colleague.ID, CredentialID: c.ID},
		"an API credential of another org": {OrgID: other.ID, UserID: stranger.ID, CredentialID: c.ID},
	} {
		s.IDHash, s.CreatedAt, s.ExpiresAt = secrets.HashToken(store.NewSecretID("sess")), base, base.Add(time.Hour)
		_, err := e.s.CreateConsoleSession(ctx, s)
		wantErr(t, "a session of "+what, err, store.ErrNotFound)
	}

	// The ID is nowhere in the table: only its hash.
	if raw, ok := e.s.(rawDB); ok {
		rows, err := raw.DB().QueryContext(ctx, `SELECT * FROM console_sessions`)
		must(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		must(t, err)
		seen := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rows.Scan(ptrs...))
			for i, v := range vals {
				if b, ok := v.([]byte); ok && bytes.Equal(b, secrets.HashToken(id)) {
					seen++
				}
				if s := fmt.Sprintf("%s", v); bytes.Contains([]byte(s), []byte(id)) || bytes.Contains([]byte(s), []byte(id[len("sess_"):])) {
					t.Errorf("console_sessions.%s holds the session ID in clear", cols[i])
				}
			}
		}
		must(t, rows.Err())
		if seen != 1 {
			t.Errorf("the scan found the session's hash %d times, want once: is it reading the right table?", seen)
		}
	}

	// Sign-out.
	must(t, e.s.DeleteConsoleSession(ctx, secrets.HashToken(sid)))
	_, err = e.s.GetConsoleSession(ctx, secrets.HashToken(sid), base)
	wantErr(t, "a deleted session", err, store.ErrNotFound)
	must(t, e.s.DeleteConsoleSession(ctx, secrets.HashToken(sid))) // again: nothing to do, no error
	if _, err := e.s.GetConsoleSession(ctx, secrets.HashToken(id), base); err != nil {
		t.Errorf("deleting one session touched another: %v", err)
	}
}

func testConsoleFlash(t *testing.T, e *env) {
	base := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	o := e.org(t)
	u := e.user(t, o.ID, "flash@example.com")
	id, _ := e.session(t, u, "", base.Add(time.Hour))
	h := secrets.HashToken(id)
	if f, err := e.s.TakeConsoleFlash(ctx, h); err != nil || f != nil {
		t.Fatalf("a new session's flash: got %+v, %v; want none", f, err)
	}
	must(t, e.s.SetConsoleFlash(ctx, h, store.ConsoleFlash{OK: false, Message: "first"}))
	must(t, e.s.SetConsoleFlash(ctx, h, store.ConsoleFlash{OK: true, Message: "Renamed ‘général’ <ok>"}))
	got, err := e.s.GetConsoleSession(ctx, h, base)
	must(t, err)
	if !got.FlashWaiting {
		t.Error("a flash was left, and the session does not say one waits")
	}
	f, err := e.s.TakeConsoleFlash(ctx, h)
	must(t, err)
	if f == nil || !f.OK || f.Message != "Renamed ‘général’ <ok>" {
		t.Fatalf("took %+v, want the last message left", f)
	}
	if f, err := e.s.TakeConsoleFlash(ctx, h); err != nil || f != nil {
		t.Errorf("taken twice: got %+v, %v", f, err)
	}
	if got, err := e.s.GetConsoleSession(ctx, h, base); err != nil || got.FlashWaiting {
		t.Errorf("after the take, the session says a flash waits (%v)", err)
	}
	wantErr(t, "a flash for no session", e.s.SetConsoleFlash(ctx, secrets.HashToken(id+"x"), store.ConsoleFlash{Message: "m"}), store.ErrNotFound)
	if f, err := e.s.TakeConsoleFlash(ctx, secrets.HashToken(id+"x")); err != nil || f != nil {
		t.Errorf("the flash of no session: got %+v, %v", f, err)
	}

	// Tabs that load pages at once: one of them shows the message.
	for round := range 5 {
		msg := fmt.Sprintf("round %d", round)
		must(t, e.s.SetConsoleFlash(ctx, h, store.ConsoleFlash{OK: true, Message: msg}))
		var mu sync.Mutex
		var taken []string
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				f, err := e.s.TakeConsoleFlash(ctx, h)
				if err != nil {
					t.Error(err)
					return
				}
				if f != nil {
					mu.Lock()
					taken = append(taken, f.Message)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(taken) != 1 || taken[0] != msg {
			t.Fatalf("round %d: six takes at once got %q, want the message once", round, taken)
		}
	}
}

func testConsoleSessionSweep(t *testing.T, e *env) {
	base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	o := e.org(t)
	u := e.user(t, o.ID, "sweep@example.com")
	var ids []string
	for i := range 4 {
		id, _ := e.session(t, u, "", base.Add(time.Duration(i+1)*time.Hour))
		ids = append(ids, id)
	}
	// At base+3h, three have expired (the third that very millisecond); a
	// limit of two takes two of them, the next sweep the third.
	n, err := e.s.DeleteExpiredConsoleSessions(ctx, base.Add(3*time.Hour), 2)
	must(t, err)
	if n != 2 {
		t.Errorf("the first sweep removed %d, want 2 (its limit)", n)
	}
	n, err = e.s.DeleteExpiredConsoleSessions(ctx, base.Add(3*time.Hour), 100)
	must(t, err)
	if n != 1 {
		t.Errorf("the second sweep removed %d, want the 1 left expired", n)
	}
	for i, id := range ids {
		// Asked as of long before, to see whether the row is still there.
		_, err := e.s.GetConsoleSession(ctx, secrets.HashToken(id), base)
		if gone := err != nil; gone != (i < 3) {
			t.Errorf("session %d (expiring at +%dh): gone %v after sweeping at +3h (%v)", i, i+1, gone, err)
		}
	}
}

func testConsoleSessionCascade(t *testing.T, e *env) {
	expires := time.Date(2033, 1, 1, 0, 0, 0, 0, time.UTC)
	now := expires.Add(-time.Minute)
	o, other := e.org(t), e.org(t)
	alice, bob := e.user(t, o.ID, "alice@example.com"), e.user(t, o.ID, "bob@example.com")
	carol := e.user(t, other.ID, "carol@example.com")
	aliceKey, aliceOther := e.apiCredential(t, alice), e.apiCredential(t, alice)
	byKey, _ := e.session(t, alice, aliceKey.ID, expires)
	byOtherKey, _ := e.session(t, alice, aliceOther.ID, expires)
	bySecrets, _ := e.session(t, alice, "", expires)
	bobs, _ := e.session(t, bob, e.apiCredential(t, bob).ID, expires)
	carols, _ := e.session(t, carol, e.apiCredential(t, carol).ID, expires)

	live := func(step string, want map[string]bool) {
		t.Helper()
		for id, alive := range want {
			got, err := e.s.GetConsoleSession(ctx, secrets.HashToken(id), now)
			if (err == nil) != alive {
				t.Errorf("%s: session of %s is alive %v, want %v (%v)", step, got.UserID, err == nil, alive, err)
			}
		}
	}
	live("at first", map[string]bool{byKey: true, byOtherKey: true, bySecrets: true, bobs: true, carols: true})

	// Revoking is a mark, not a delete: the console ends such a session
	// when it loads the credential; the row stays until then.
	_, err := e.s.UpdateAPICredential(ctx, o.ID, aliceOther.ID, func(c *store.APICredential) error { c.RevokedAt = now; return nil })
	must(t, err)
	live("after a revocation", map[string]bool{byOtherKey: true})

	must(t, e.s.DeleteAPICredential(ctx, o.ID, aliceKey.ID))
	live("after deleting the API credential", map[string]bool{byKey: false, byOtherKey: true, bySecrets: true, bobs: true, carols: true})
	must(t, e.s.DeleteUser(ctx, o.ID, alice.ID))
	live("after deleting the user", map[string]bool{byOtherKey: false, bySecrets: false, bobs: true, carols: true})
	must(t, e.s.DeleteOrganization(ctx, o.ID))
	live("after deleting the organization", map[string]bool{bobs: false, carols: true})

	got, err := e.s.GetConsoleSession(ctx, secrets.HashToken(carols), now)
	must(t, err)
	if got.OrgID != other.ID || got.UserID != carol.ID {
		t.Errorf("the other organization's session: got org %s user %s, want %s %s", got.OrgID, got.UserID, other.ID, carol.ID)
	}
}
