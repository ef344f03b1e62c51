package slack_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/connhub/connhub/internal/connector/slack"
)

// A success read on its first key is still checked whole: a page cut short
// is a bad response, whatever it starts with.
func TestParseEnvelope(t *testing.T) {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for _, tt := range []struct {
		body string
		want slack.Envelope
		bad  bool
	}{
		{body: `{"ok":true,"members":[{"id":"U1"}],"response_metadata":{"next_cursor":""}}`, want: slack.Envelope{OK: true}},
		{body: `{"ok":true,"members":[{"id":"U1"},{"id":`, bad: true},
		{body: `{"ok":true}`, want: slack.Envelope{OK: true}},
		{body: `{"members":[],"ok":true}`, want: slack.Envelope{OK: true}},
		{body: `{"ok":false,"error":"missing_scope","needed":"users:read","provided":"chat:write"}`,
			want: slack.Envelope{Error: "missing_scope", Needed: "users:read", Provided: "chat:write"}},
		{body: `{"members":[]}`, bad: true},
		{body: `<html>502</html>`, bad: true},
	} {
		got, err := slack.ParseEnvelope(h, []byte(tt.body))
		if tt.bad {
			if !errors.Is(err, slack.ErrBadResponse) {
				t.Errorf("%s: got %+v %v, want ErrBadResponse", tt.body, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v %v, want %+v", tt.body, got, err, tt.want)
		}
	}
}
