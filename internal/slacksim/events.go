package slacksim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"
)

// EventTypes are the event types the sandbox emits from workspace changes
// (its controls and Web API writes), for a subscription that wants them all.
var EventTypes = []string{
	"message", "user_change", "team_join", "channel_created", "channel_rename", "channel_archive",
	"channel_unarchive", "channel_deleted", "member_joined_channel", "member_left_channel",
	"subteam_created", "subteam_updated", "subteam_members_changed", "emoji_changed",
	"app_uninstalled", "tokens_revoked", "app_mention",
}

// Events: what changes in the world becomes an event in Slack's envelope,
// queued for the subscriptions that want it (eventdelivery.go sends them).
// The builders below run under the world lock, as the change they describe
// does; they draw objects with the Web API's renderers so that an event's
// user or message is the one users.info or conversations.history shows.

// envelope is Slack's event_callback wrapper, in Slack's field order.
type envelope struct {
	Token               string          `json:"token"`
	TeamID              string          `json:"team_id"`
	EnterpriseID        string          `json:"enterprise_id,omitempty"`
	ContextTeamID       string          `json:"context_team_id,omitempty"`
	ContextEnterpriseID string          `json:"context_enterprise_id,omitempty"`
	APIAppID            string          `json:"api_app_id"`
	Event               json.RawMessage `json:"event"`
	Type                string          `json:"type"`
	EventID             string          `json:"event_id"`
	EventTime           int64           `json:"event_time"`
	Authorizations      []authorization `json:"authorizations"`
	IsExtSharedChannel  bool            `json:"is_ext_shared_channel"`
	EventContext        string          `json:"event_context"`
}

type authorization struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              *string `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

// event is one inner event about to be emitted: its JSON object and where it
// happened.
type event struct {
	body    map[string]any
	teams   []*team  // the workspaces it is visible in, the one it happened in first
	channel *channel // the conversation it concerns, if any
	to      *grant   // for tokens_revoked and app_uninstalled: the (revoked) grant it goes to
}

func (e event) typ() string { s, _ := e.body["type"].(string); return s }

// eventTS is an event_ts at now, in a message timestamp's shape.
func eventTS(now time.Time) string { return formatTS(now.UnixMicro()) }

// newEventID makes an event ID in Slack's shape: "Ev" and ten upper-case
// letters and digits, random so that IDs stay unique across restarts (a hub
// deduplicates on them).
func newEventID() string {
	var b [10]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return "Ev" + string(b[:])
}

// marshalEvent encodes v as Slack does, leaving <, > and & as they are.
func marshalEvent(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("slacksim: encode event: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// asObject turns one of the render package's structs into a JSON object so
// that an event can add fields to it.
func asObject(v any) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(marshalEvent(v), &m); err != nil {
		panic("slacksim: event object: " + err.Error())
	}
	return m
}

// emit queues ev for every subscription that wants it and answers the event
// IDs it was given (none when nobody subscribed to it). The caller holds the
// world lock (read or write).
//
// Routing: for each workspace the event is visible in, in order, the app's
// live grants that reach it and whose kind the subscription asks the event's
// type of (bot_events for bot grants, user_events for user grants) are its
// audience; one delivery goes to the first workspace that has an audience,
// with one authorization (a bot grant when there is one), as Slack has done
// since authorizations were truncated to one (2021-02-24). An org-wide
// install reached in several of the workspaces gets the event once.
func (s *Server) emit(w *world, ev event) []string {
	h := s.events
	h.mu.Lock()
	sub := h.subs[s.app.ID]
	live := sub != nil && sub.state == SubscriptionEnabled && !h.closed
	h.mu.Unlock()
	if !live {
		return nil
	}
	typ := ev.typ()
	if _, ok := ev.body["event_ts"]; !ok && typ != "app_uninstalled" {
		ev.body["event_ts"] = eventTS(s.now())
	}
	if ev.to != nil {
		if sub.wants(typ, true) || sub.wants(typ, false) {
			return s.enqueue(sub, s.wrap(w, ev, ev.teams[0], ev.to))
		}
		return nil
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	served := map[*grant]bool{}
	for _, t := range ev.teams {
		var pick *grant
		for _, g := range s.auth.grants {
			if g.revoked || g.app != sub.app || served[g] || !g.inTeam(t) || !sub.wants(typ, g.kind == kindBot) {
				continue
			}
			served[g] = true
			if pick == nil || pick.kind != kindBot && g.kind == kindBot {
				pick = g
			}
		}
		if pick != nil {
			return s.enqueue(sub, s.wrap(w, ev, t, pick))
		}
	}
	return nil
}

// wrap puts ev in Slack's envelope for workspace t and the authorization g.
func (s *Server) wrap(w *world, ev event, t *team, g *grant) *delivery {
	a := s.app
	env := envelope{
		Token: verificationToken(a), TeamID: t.ID, APIAppID: a.ID, Event: marshalEvent(ev.body),
		Type: "event_callback", EventID: newEventID(), EventTime: s.now().Unix(),
	}
	auth := authorization{UserID: g.user.ID, IsBot: g.kind == kindBot, IsEnterpriseInstall: g.orgInstall}
	tid := t.ID
	auth.TeamID = &tid
	if w.enterprise != nil {
		eid := w.enterprise.ID
		auth.EnterpriseID = &eid
		env.EnterpriseID, env.ContextEnterpriseID, env.ContextTeamID = eid, eid, t.ID
		if ev.channel != nil {
			env.ContextTeamID = ev.channel.Team.ID
		}
	}
	env.Authorizations = []authorization{auth}
	ctx := map[string]string{"et": ev.typ(), "tid": t.ID, "aid": a.ID}
	if ev.channel != nil {
		ctx["cid"] = ev.channel.ID
	}
	env.EventContext = "4-" + base64.RawURLEncoding.EncodeToString(marshalEvent(ctx))
	d := &delivery{body: marshalEvent(env)}
	d.EventID, d.Type, d.TeamID = env.EventID, ev.typ(), t.ID
	return d
}

// EmitEvent sends an arbitrary inner event, as if it happened in the
// workspace teamID (empty: the primary one): the sandbox wraps and signs it
// like any other and it goes to the subscriptions that want its type.
// event_ts is added when the event has none. It answers the event IDs given
// to its deliveries: none when no subscription wants its type or no install
// of the app is in the workspace.
func (s *Server) EmitEvent(teamID string, body map[string]any) ([]string, error) {
	if typ, _ := body["type"].(string); !errorCodeShape.MatchString(typ) {
		return nil, errInvalidEvent
	}
	w := s.world.Load()
	w.mu.RLock()
	defer w.mu.RUnlock()
	t := w.teams[0]
	if teamID != "" {
		if t = w.team(teamID); t == nil {
			return nil, errNoTeam
		}
	}
	return s.emit(w, event{body: body, teams: []*team{t}}), nil
}

// channelTeams lists the workspaces a conversation is visible in, its own first.
func channelTeams(ch *channel) []*team { return append([]*team{ch.Team}, ch.Shared...) }

// channelType is a message event's channel_type.
func channelType(ch *channel) string {
	return [...]string{"channel", "group", "im", "mpim"}[ch.Kind]
}

// messageEvent is the message event for m, a new message or thread reply.
func messageEvent(ch *channel, m *message) event {
	body := asObject(renderMessage(ch, m))
	body["channel"], body["channel_type"], body["event_ts"] = ch.ID, channelType(ch), formatTS(m.TS)
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// messageChangedEvent is the message_changed event for m, edited from prev.
func messageChangedEvent(ch *channel, m *message, prev messageJSON, now time.Time) event {
	ts := eventTS(now)
	body := map[string]any{"type": "message", "subtype": "message_changed", "hidden": true, "channel": ch.ID,
		"channel_type": channelType(ch), "ts": ts, "event_ts": ts, "message": renderMessage(ch, m), "previous_message": prev}
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// messageDeletedEvent is the message_deleted event for a message drawn as prev.
func messageDeletedEvent(ch *channel, prev messageJSON, now time.Time) event {
	ts := eventTS(now)
	body := map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true, "channel": ch.ID,
		"channel_type": channelType(ch), "ts": ts, "deleted_ts": prev.TS, "event_ts": ts, "previous_message": prev}
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// userEvent is user_change or team_join for u, in each of u's workspaces.
func (w *world) userEvent(typ string, u *user, now time.Time) event {
	body := map[string]any{"type": typ, "user": w.renderUser(u, userView{email: true})}
	if typ == "user_change" {
		body["cache_ts"] = now.Unix()
	}
	return event{body: body, teams: slices.Clone(u.Teams)}
}

// channelPrefix is channel_ for public channels and group_ for private
// ones, as Slack names the events of a private channel's life.
func channelPrefix(ch *channel) string {
	if ch.Kind == kindPublic {
		return "channel_"
	}
	return "group_"
}

// channelCreatedEvent is channel_created for a public channel.
func channelCreatedEvent(ch *channel) event {
	body := map[string]any{"type": "channel_created", "channel": map[string]any{
		"id": ch.ID, "is_channel": true, "name": ch.Name, "name_normalized": ch.Name, "created": ch.Created,
		"creator": ch.Creator.ID, "is_shared": len(ch.Shared) > 0, "is_org_shared": len(ch.Shared) > 0,
		"context_team_id": ch.Team.ID,
	}}
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// channelRenameEvent is channel_rename (group_rename for a private channel).
func channelRenameEvent(ch *channel) event {
	body := map[string]any{"type": channelPrefix(ch) + "rename", "channel": map[string]any{
		"id": ch.ID, "name": ch.Name, "name_normalized": ch.Name, "created": ch.Created,
		"is_channel": ch.Kind == kindPublic, "is_mpim": false,
	}}
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// channelStateEvent is channel_archive, channel_unarchive or channel_deleted
// (group_… for a private channel), by by.
func channelStateEvent(ch *channel, what string, by *user) event {
	body := map[string]any{"type": channelPrefix(ch) + what, "channel": ch.ID}
	if what != "deleted" && by != nil {
		body["user"] = by.ID
	}
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// memberEvent is member_joined_channel or member_left_channel for u.
func memberEvent(ch *channel, u *user, joined bool, inviter *user) event {
	ct := "C"
	if ch.Kind != kindPublic {
		ct = "G"
	}
	body := map[string]any{"type": "member_left_channel", "user": u.ID, "channel": ch.ID, "channel_type": ct, "team": ch.Team.ID}
	if joined {
		body["type"] = "member_joined_channel"
		if inviter != nil && inviter != u {
			body["inviter"] = inviter.ID
		}
	}
	return event{body: body, teams: channelTeams(ch), channel: ch}
}

// subteamEvent is subteam_created or subteam_updated for g.
func subteamEvent(typ string, g *usergroup) event {
	return event{body: map[string]any{"type": typ, "subteam": renderUsergroup(g, true, true)}, teams: []*team{g.Team}}
}

// emitMembersChanged tells of a change of g's members from prev (last
// updated at prevUpdate): subteam_members_changed with the difference, then
// subteam_updated, as Slack sends both. Nothing when the members are the same;
// it reports whether they changed.
func (s *Server) emitMembersChanged(w *world, g *usergroup, prev []*user, prevUpdate int64) bool {
	added, removed := []string{}, []string{}
	for _, u := range g.users {
		if !slices.Contains(prev, u) {
			added = append(added, u.ID)
		}
	}
	for _, u := range prev {
		if !slices.Contains(g.users, u) {
			removed = append(removed, u.ID)
		}
	}
	if len(added)+len(removed) == 0 {
		return false
	}
	s.emit(w, subteamMembersEvent(g, prevUpdate, added, removed))
	s.emit(w, subteamEvent("subteam_updated", g))
	return true
}

// subteamMembersEvent is subteam_members_changed. The counts are numbers, as
// Slack sends them, though its documentation's example shows strings.
func subteamMembersEvent(g *usergroup, prevUpdate int64, added, removed []string) event {
	body := map[string]any{"type": "subteam_members_changed", "subteam_id": g.ID, "team_id": g.Team.ID,
		"date_previous_update": prevUpdate, "date_update": g.Updated,
		"added_users": added, "added_users_count": len(added), "removed_users": removed, "removed_users_count": len(removed)}
	return event{body: body, teams: []*team{g.Team}}
}

// tokensRevokedEvent is tokens_revoked for the grants revoked together in t:
// the user IDs of their user tokens (oauth) and bot tokens (bot).
func tokensRevokedEvent(t *team, gs []*grant) event {
	oauth, bot := []string{}, []string{}
	for _, g := range gs {
		if g.kind == kindBot {
			bot = append(bot, g.user.ID)
		} else {
			oauth = append(oauth, g.user.ID)
		}
	}
	return event{body: map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"oauth": oauth, "bot": bot}}, teams: []*team{t}}
}
