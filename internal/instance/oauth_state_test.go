package instance_test

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
)

// pendingInstall creates an instance and consents at the sandbox, without
// calling back: the install waits on its state.
func (e *env) pendingInstall(t *testing.T) (instance.Created, instance.CallbackInput) {
	t.Helper()
	c, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "pending"})
	if err != nil {
		t.Fatal(err)
	}
	loc := sandboxtest.Consent(t, c.AuthorizeURL, "allow", nil)
	return c, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")}
}

// sameAnswer says whether two callbacks answered alike: the same code and
// message, and no instance named (the page and the JSON are made from these).
func sameAnswer(a, b instance.CallbackResult) bool {
	return !a.OK && !b.OK && a.Code == b.Code && a.Message == b.Message && a.Instance.ID == "" && b.Instance.ID == ""
}

// answer prints what a callback told the browser.
func answer(r instance.CallbackResult) string {
	return fmt.Sprintf("{ok %v, code %q, message %q, instance %q}", r.OK, r.Code, r.Message, r.Instance.ID)
}

// offsetID is a NewID-style ID plus k: what a caller who counts guesses.
func offsetID(t *testing.T, id string, k int64) string {
	t.Helper()
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	_, body, _ := strings.Cut(id, "_")
	v := new(big.Int)
	for _, c := range body {
		v.Lsh(v, 5).Add(v, big.NewInt(int64(strings.IndexRune(alphabet, c))))
	}
	v.Add(v, big.NewInt(k))
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[new(big.Int).And(v, big.NewInt(31)).Int64()]
		v.Rsh(v, 5)
	}
	return string(out)
}

// TestAForgedStateSpendsNothing: a state with a real ID and a wrong MAC is
// refused before the store is asked, exactly as one connhub never issued, and
// the install it names still completes afterwards.
func TestAForgedStateSpendsNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	c, real := e.pendingInstall(t)
	id, mac, _ := strings.Cut(real.State, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(mac)
	raw[0] ^= 1
	forged, err := e.svc.Callback(ctx, instance.CallbackInput{State: id + "." + base64.RawURLEncoding.EncodeToString(raw), Code: real.Code})
	if err != nil || forged.OK || forged.Code != "invalid_state" {
		t.Fatalf("forged state: got %+v %v; want invalid_state", forged, err)
	}
	never, err := e.svc.Callback(ctx, instance.CallbackInput{State: store.NewSecretID("st") + "." + base64.RawURLEncoding.EncodeToString(raw), Code: real.Code})
	if err != nil || !sameAnswer(forged, never) {
		t.Errorf("a forged state answered %s, a state never issued %s (%v); want the same answer", answer(forged), answer(never), err)
	}
	if in, _ := e.store.GetInstance(ctx, e.admin.Org.ID, c.Instance.ID); in.Status != store.StatusPending || in.LastAuthError != "" {
		t.Errorf("after a forged state the instance is %s (%q), want pending and untouched", in.Status, in.LastAuthError)
	}
	res, err := e.svc.Callback(ctx, real)
	if err != nil || !res.OK || res.Instance.Status != store.StatusActive {
		t.Errorf("the real callback after a forged one: %s %v; want the install completed", answer(res), err)
	}
}

// TestTheStateCannotBeGuessedFromTheInstance: the state's ID is 256 random
// bits, unrelated to the instance ID the caller was shown, so counting from
// the instance ID (the state was once the instance ID + 1) finds nothing and
// spends nothing.
func TestTheStateCannotBeGuessedFromTheInstance(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	for range 3 {
		c, real := e.pendingInstall(t)
		id, mac, _ := strings.Cut(real.State, ".")
		if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, "st_")); err != nil || len(raw) != 32 {
			t.Fatalf("state ID %q: want st_ and 256 random bits (%v)", id, err)
		}
		for k := int64(-2); k <= 3; k++ {
			guess := "st_" + offsetID(t, c.Instance.ID, k)
			if guess == id {
				t.Fatalf("the state ID %s is the instance ID %s + %d", id, c.Instance.ID, k)
			}
			res, err := e.svc.Callback(ctx, instance.CallbackInput{State: guess + "." + mac, Code: "x"})
			if err != nil || res.OK || res.Code != "invalid_state" {
				t.Errorf("guessed state %s: got %+v %v", guess, res, err)
			}
		}
		if res, err := e.svc.Callback(ctx, real); err != nil || !res.OK {
			t.Errorf("the real callback after the guesses: %+v %v", res, err)
		}
	}
}

// TestAUsedStateAnswersLikeAnExpiredOne: a replayed state and an expired one
// get the same answer, which names no instance; the replay leaves the
// instance as it is.
func TestAUsedStateAnswersLikeAnExpiredOne(t *testing.T) {
	t.Parallel()
	e := setup(t, slacksim.Config{})
	c, real := e.pendingInstall(t)
	if res, err := e.svc.Callback(ctx, real); err != nil || !res.OK {
		t.Fatalf("first callback: %+v %v", res, err)
	}
	replayed, err := e.svc.Callback(ctx, real)
	if err != nil || replayed.OK {
		t.Fatalf("replay: %+v %v", replayed, err)
	}
	if in, _ := e.store.GetInstance(ctx, e.admin.Org.ID, c.Instance.ID); in.Status != store.StatusActive {
		t.Errorf("after a replay the instance is %s, want still active", in.Status)
	}

	late, lateIn := e.pendingInstall(t)
	e.offset.Add(int64(instance.StateTTL + time.Second))
	expired, err := e.svc.Callback(ctx, lateIn)
	if err != nil || !sameAnswer(replayed, expired) {
		t.Errorf("a replayed state answered %s, an expired one %s (%v); want the same answer", answer(replayed), answer(expired), err)
	}
	if !strings.Contains(expired.Message, "used or expired") {
		t.Errorf("message %q: want it to say the link was used or expired", expired.Message)
	}
	if in, _ := e.store.GetInstance(ctx, e.admin.Org.ID, late.Instance.ID); in.Status != store.StatusFailed {
		t.Errorf("after an expired callback the pending instance is %s, want failed", in.Status)
	}
}
