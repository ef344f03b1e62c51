package events

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/sjson"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/store"
)

// MaxBody caps a delivery's body. Slack's events are a few KiB; a message
// with large blocks stays well under this.
const MaxBody = 1 << 20

// Window is how far a request's timestamp may be from now: Slack's advice,
// and slack-go's verifier's.
const Window = 5 * time.Minute

// envelope is what the receiver reads of a delivery before it is verified:
// enough to find the app, answer url_verification and keep the event.
type envelope struct {
	Type         string          `json:"type"`
	Challenge    string          `json:"challenge"`
	APIAppID     string          `json:"api_app_id"`
	TeamID       string          `json:"team_id"`
	EnterpriseID string          `json:"enterprise_id"`
	EventID      string          `json:"event_id"`
	EventTime    int64           `json:"event_time"`
	Event        json.RawMessage `json:"event"`
}

// Ack is the receiver's answer to a verified delivery.
type Ack struct {
	// Challenge is the url_verification's challenge, to answer as it came.
	Challenge string
	// ID names the kept event (evt_…); empty for a url_verification.
	ID string
	// Duplicate says Slack delivered the event before (a retry): it is
	// counted, and not processed again.
	Duplicate bool
}

// Receive verifies one delivery of Slack's Events API (the raw body and
// its headers) with the signing secret of the app it names, answers
// url_verification, and keeps an event_callback (deduplicated by its
// event_id) with its processing job, in one transaction. It does nothing
// else: processing runs on the queue, after the answer.
func (s *Service) Receive(ctx context.Context, h http.Header, body []byte) (Ack, error) {
	arrived := time.Now()
	if len(body) > MaxBody {
		return Ack{}, s.reject("body_too_large", http.StatusRequestEntityTooLarge, fmt.Sprintf("a delivery is at most %d bytes", MaxBody))
	}
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return Ack{}, s.reject("missing_signature", http.StatusUnauthorized, "X-Slack-Request-Timestamp and X-Slack-Signature are required")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Ack{}, s.reject("stale_request", http.StatusUnauthorized, "X-Slack-Request-Timestamp is not a Unix time")
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > Window || d < -Window {
		return Ack{}, s.reject("stale_request", http.StatusUnauthorized, "the request's timestamp is more than five minutes from now: a replay, or a clock far off")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Type == "" {
		return Ack{}, s.reject("malformed_event", http.StatusBadRequest, "the body is not an Events API envelope (JSON with a type)")
	}
	app, err := s.signer(ctx, env.APIAppID, ts, sig, body)
	if err != nil {
		return Ack{}, err
	}
	switch env.Type {
	case "url_verification":
		s.metrics.received.WithLabelValues(env.Type).Inc()
		return Ack{Challenge: env.Challenge}, nil
	case "event_callback":
	default:
		// app_rate_limited and whatever Slack adds: verified, acknowledged,
		// not kept.
		s.metrics.received.WithLabelValues(env.Type).Inc()
		s.log.Info("events: a delivery of another kind, acknowledged", "type", env.Type, "app", app.ID)
		return Ack{}, nil
	}
	var inner struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(env.Event, &inner) != nil || inner.Type == "" || env.EventID == "" {
		return Ack{}, s.reject("malformed_event", http.StatusBadRequest, "an event_callback needs an event with a type, and an event_id")
	}
	if app.SlackAppID == "" && env.APIAppID != "" {
		// The first verified event says which Slack app this is.
		if _, err := s.store.UpdateApp(ctx, app.OrgID, app.ID, func(a *store.App) error { a.SlackAppID = env.APIAppID; return nil }); err != nil {
			s.log.Warn("events: record the app's Slack app ID", "app", app.ID, "err", err)
		}
	}
	// The verification token is deprecated, and a credential: not kept.
	kept, err := sjson.DeleteBytes(body, "token")
	if err != nil {
		kept = body
	}
	e := store.SlackEvent{OrgID: app.OrgID, AppID: app.ID, EventID: env.EventID, Type: inner.Type, TeamID: env.TeamID,
		EnterpriseID: env.EnterpriseID, EventTime: time.Unix(env.EventTime, 0), ReceivedAt: s.now(), Body: kept}
	// One statement: the event kept, or counted as a duplicate. Its
	// processing job is queued after the answer, with others (batch.go).
	e, created, err := s.store.PutSlackEvent(ctx, e)
	if err != nil {
		// Not acknowledged: Slack delivers it again.
		return Ack{}, fmt.Errorf("events: keep %s: %w", env.EventID, err)
	}
	if !created {
		s.metrics.duplicates.Inc()
		return Ack{ID: e.ID, Duplicate: true}, nil
	}
	s.metrics.received.WithLabelValues(inner.Type).Inc()
	s.metrics.ack.Observe(time.Since(arrived).Seconds())
	s.queued(e)
	return Ack{ID: e.ID}, nil
}

// signer finds the app whose signing secret signed the request: among the
// apps known to be Slack's app slackAppID and those not yet known to be any
// (every app, for a url_verification, which names none). Each secret is
// compared in constant time.
func (s *Service) signer(ctx context.Context, slackAppID, ts, sig string, body []byte) (store.App, error) {
	apps, err := s.store.AppsForEvents(ctx, slackAppID)
	if err != nil {
		return store.App{}, fmt.Errorf("events: find the app: %w", err)
	}
	got, err := hex.DecodeString(trimV0(sig))
	if err == nil {
		for _, app := range apps {
			if app.SigningSecret.IsZero() {
				continue
			}
			mac := hmac.New(sha256.New, []byte(app.SigningSecret.Reveal()))
			mac.Write([]byte("v0:" + ts + ":"))
			mac.Write(body)
			if hmac.Equal(mac.Sum(nil), got) {
				return app, nil
			}
		}
	}
	return store.App{}, s.reject("bad_signature", http.StatusUnauthorized,
		"no app's signing secret verifies the request: check the app's signing secret in connhub against Slack's app settings")
}

func trimV0(sig string) string {
	if len(sig) > 3 && sig[:3] == "v0=" {
		return sig[3:]
	}
	return "-" // not hex: verifies with no secret
}

// reject counts and logs a refused delivery (never its body) and says why.
func (s *Service) reject(code string, status int, message string) error {
	s.metrics.rejected.WithLabelValues(code).Inc()
	s.log.Warn("events: a delivery refused", "code", code)
	return apierror.New(status, code, message)
}
