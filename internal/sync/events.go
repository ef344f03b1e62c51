package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// ApplyEvent brings the records an event of Slack's Events API concerns up
// to date without a sync, for an instance that has synced their stream
// before (an event makes no partial copy of a stream never synced):
//
//   - users on user_change and team_join (the event carries the whole user,
//     drawn as users.list draws it);
//   - channels on channel_created, channel_rename, channel_archive,
//     channel_unarchive and channel_deleted (group_… for private channels):
//     a new channel's record holds what the event tells of it, the others
//     change the fields they name;
//   - channel_members on member_joined_channel and member_left_channel: the
//     member is added to the channel's last page, or taken from its page;
//   - usergroups and usergroup_members on subteam_created, subteam_updated
//     and subteam_members_changed;
//   - emoji on emoji_changed (add, remove, rename);
//   - messages on message, and its message_changed and message_deleted
//     subtypes.
//
// A record it writes or marks deleted is seen by the event (its SeenRunID
// is the event's ID), so that it says which event changed it, and the next
// full sync reports where Slack's answer differed (see reconcile). A
// record the event is older than is left alone, as Slack may deliver
// events late and out of order: one whose own "updated" time is later, or
// one that a later event wrote. It returns the streams it changed.
func (s *Service) ApplyEvent(ctx context.Context, in store.Instance, e store.SlackEvent, event json.RawMessage) ([]string, error) {
	var ev struct {
		Type    string `json:"type"`
		Subtype string `json:"subtype"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("sync: an event that is not an object: %w", err)
	}
	a := &applying{s: s, in: in, e: e, team: e.TeamID, synced: map[string]bool{}}
	if a.team == "" {
		a.team = in.TeamID
	}
	var err error
	if apply, ok := eventAppliers[ev.Type]; ok {
		err = apply(ctx, a, ev.Type, ev.Subtype, event)
	}
	if err != nil {
		return nil, fmt.Errorf("sync: %s: %w", ev.Type, err)
	}
	if len(a.changed) > 0 {
		s.log.Debug("sync: records kept fresh by an event", "instance", in.ID, "event", e.ID, "type", ev.Type, "streams", a.changed)
	}
	return a.changed, nil
}

// An applier brings a stream's records up to date with an event of type
// typ (and subtype, for messages).
type applier func(ctx context.Context, a *applying, typ, subtype string, event json.RawMessage) error

// eventAppliers are the event types ApplyEvent knows, each with what it does:
// every type is named by the streams it keeps fresh (stream.Events), and a
// test checks that the two agree.
var eventAppliers = map[string]applier{}

func init() {
	on := func(f applier, types ...string) {
		for _, t := range types {
			eventAppliers[t] = f
		}
	}
	on(func(ctx context.Context, a *applying, _, _ string, event json.RawMessage) error {
		return a.user(ctx, event)
	},
		"user_change", "team_join")
	on(func(ctx context.Context, a *applying, typ, _ string, event json.RawMessage) error {
		return a.channel(ctx, typ[strings.IndexByte(typ, '_')+1:], event) // created, rename, archive…
	}, "channel_created", "channel_rename", "channel_archive", "channel_unarchive", "channel_deleted",
		"group_rename", "group_archive", "group_unarchive", "group_deleted")
	on(func(ctx context.Context, a *applying, typ, _ string, event json.RawMessage) error {
		return a.member(ctx, typ == "member_joined_channel", event)
	}, "member_joined_channel", "member_left_channel")
	on(func(ctx context.Context, a *applying, _, _ string, event json.RawMessage) error {
		return a.usergroup(ctx, event)
	},
		"subteam_created", "subteam_updated")
	on(func(ctx context.Context, a *applying, _, _ string, event json.RawMessage) error {
		return a.usergroupMembers(ctx, event)
	},
		"subteam_members_changed")
	on(func(ctx context.Context, a *applying, _, _ string, event json.RawMessage) error {
		return a.emoji(ctx, event)
	},
		"emoji_changed")
	on(func(ctx context.Context, a *applying, _, subtype string, event json.RawMessage) error {
		return a.message(ctx, subtype, event)
	}, "message")
}

// applying is one event's application to one instance's records.
type applying struct {
	s       *Service
	in      store.Instance
	e       store.SlackEvent
	team    string          // the workspace the event is of
	synced  map[string]bool // by stream: whether the instance synced it
	changed []string        // the streams it changed, in order
}

// edit is what an event does to one record of a stream.
type edit struct {
	stream string
	key    string
	// data replaces the record, or is written as a new one; with merge set,
	// merge is applied to the stored record instead, and data is the
	// record to write if there is none (nil: then nothing is written).
	data    json.RawMessage
	merge   func(map[string]any)
	gone    bool      // the object is gone: the record is marked deleted
	updated time.Time // the object's own updated time, if the event gives it
}

// apply makes edits in one transaction.
func (a *applying) apply(ctx context.Context, edits ...edit) error {
	var streams []string
	for _, ed := range edits {
		streams = append(streams, ed.stream)
	}
	return a.plan(ctx, streams, func(store.Queries) ([]edit, error) { return edits, nil })
}

// plan makes the edits that edits plans from what is stored, in one
// transaction: each in its stream, if the instance synced it. The
// transaction is not begun when the instance synced none of streams, the
// ones the edits may be of: most events concern no stream an instance
// synced, and a write transaction costs every other writer a wait.
func (a *applying) plan(ctx context.Context, streams []string, edits func(q store.Queries) ([]edit, error)) error {
	wanted := false
	for _, st := range streams {
		ok, err := a.wants(ctx, a.s.store, st)
		if err != nil {
			return err
		}
		wanted = wanted || ok
	}
	if !wanted {
		return nil
	}
	var changed []string
	err := a.s.store.InTx(ctx, func(q store.Queries) error {
		changed = nil
		eds, err := edits(q)
		if err != nil {
			return err
		}
		for _, ed := range eds {
			if ok, err := a.wants(ctx, q, ed.stream); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			done, err := a.edit(ctx, q, ed)
			if err != nil {
				return err
			}
			if done && !slices.Contains(changed, ed.stream) {
				changed = append(changed, ed.stream)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, st := range changed {
		if !slices.Contains(a.changed, st) {
			a.changed = append(a.changed, st)
		}
	}
	return nil
}

// wants says whether the instance has synced stream, so that an event
// keeps it fresh.
func (a *applying) wants(ctx context.Context, q store.Queries, stream string) (bool, error) {
	if ok, known := a.synced[stream]; known {
		return ok, nil
	}
	_, err := q.GetCheckpoint(ctx, a.in.OrgID, a.in.ID, stream)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	a.synced[stream] = err == nil
	return err == nil, nil
}

// newer says whether the record old is newer than the event: its own
// updated time is after the one the event gives (updated; zero: none), or
// an event later than this one wrote it.
func (a *applying) newer(ctx context.Context, q store.Queries, old store.Record, updated time.Time) (bool, error) {
	if !updated.IsZero() && old.SourceUpdatedAt.After(updated) {
		return true, nil
	}
	if !old.WrittenByEvent() || old.SeenRunID == a.e.ID {
		return false, nil
	}
	by, err := q.GetSlackEvent(ctx, old.OrgID, old.SeenRunID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil // pruned: older than any event still kept
	case err != nil:
		return false, err
	}
	return by.EventTime.After(a.e.EventTime), nil
}

// edit makes one edit, and says whether it changed the record.
func (a *applying) edit(ctx context.Context, q store.Queries, ed edit) (bool, error) {
	old, err := q.GetRecord(ctx, a.in.OrgID, a.in.ID, ed.stream, ed.key)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if found {
		if newer, err := a.newer(ctx, q, old, ed.updated); err != nil || newer {
			return false, err
		}
	}
	switch {
	case ed.gone:
		if !found {
			return false, nil
		}
		return q.MarkRecordDeleted(ctx, a.in.OrgID, a.in.ID, ed.stream, ed.key, a.e.ID, a.s.now())
	case ed.merge != nil && found && old.DeletedAt.IsZero():
		var obj map[string]any
		if err := json.Unmarshal(old.Data, &obj); err != nil || obj == nil {
			return false, fmt.Errorf("the stored %s record %s is not an object", ed.stream, ed.key)
		}
		ed.merge(obj)
		if ed.data, err = json.Marshal(obj); err != nil {
			return false, err
		}
	case ed.data == nil:
		return false, nil // a change to a record there is no copy of
	}
	rec := store.Record{Key: ed.key, TeamID: a.team, Data: ed.data, SourceUpdatedAt: ed.updated}
	if found {
		rec.TeamID = old.TeamID
		if rec.SourceUpdatedAt.IsZero() {
			rec.SourceUpdatedAt = old.SourceUpdatedAt
		}
	}
	_, err = q.UpsertRecords(ctx, a.in.OrgID, a.in.ID, ed.stream, a.e.ID, []store.Record{rec})
	return err == nil, err
}

func (a *applying) user(ctx context.Context, event json.RawMessage) error {
	var ev struct {
		User json.RawMessage `json:"user"`
	}
	var u struct {
		ID      string          `json:"id"`
		TeamID  string          `json:"team_id"`
		Updated json.RawMessage `json:"updated"`
	}
	if json.Unmarshal(event, &ev) != nil || json.Unmarshal(ev.User, &u) != nil || u.ID == "" {
		return errors.New("no user")
	}
	if u.TeamID != "" {
		a.team = u.TeamID
	}
	return a.apply(ctx, edit{stream: "users", key: u.ID, data: ev.User, updated: unix(u.Updated)})
}

// channel applies channel_what (group_what for a private channel).
func (a *applying) channel(ctx context.Context, what string, event json.RawMessage) error {
	var ev struct {
		Channel json.RawMessage `json:"channel"`
	}
	if json.Unmarshal(event, &ev) != nil {
		return errors.New("no channel")
	}
	var id string
	var obj map[string]any
	if json.Unmarshal(ev.Channel, &id) != nil { // archive, unarchive, deleted: the ID
		if json.Unmarshal(ev.Channel, &obj) != nil {
			return errors.New("no channel")
		}
		id, _ = obj["id"].(string)
	}
	if id == "" {
		return errors.New("a channel without an ID")
	}
	set := func(fields map[string]any) func(map[string]any) {
		return func(rec map[string]any) {
			for k, v := range fields {
				rec[k] = v
			}
		}
	}
	ed := edit{stream: "channels", key: id}
	switch what {
	case "created":
		if team, _ := obj["context_team_id"].(string); team != "" {
			a.team = team
		}
		ed.data, ed.merge = ev.Channel, set(obj)
		if creator, _ := obj["creator"].(string); creator != "" {
			// A new channel's first member is its creator, of whom Slack
			// sends no member_joined_channel.
			if err := a.apply(ctx, ed); err != nil {
				return err
			}
			return a.membership(ctx, true, creator, id)
		}
	case "rename":
		ed.merge = func(rec map[string]any) {
			if was, _ := rec["name"].(string); was != "" && was != obj["name"] {
				// As conversations.list draws it: the latest name first.
				prev, _ := rec["previous_names"].([]any)
				rec["previous_names"] = append([]any{was}, prev...)
			}
			set(map[string]any{"name": obj["name"], "name_normalized": obj["name_normalized"]})(rec)
		}
	case "archive", "unarchive":
		ed.merge = set(map[string]any{"is_archived": what == "archive"})
	case "deleted":
		ed.gone = true
	default:
		return nil // not a change of the channel's record
	}
	return a.apply(ctx, ed)
}

// membersPage is a record of channel_members: a page of a channel's
// members (fetchChannelMembers).
type membersPage struct {
	ChannelID string   `json:"channel_id"`
	Page      int      `json:"page"`
	Count     int      `json:"count"`
	UserIDs   []string `json:"user_ids"`
}

// member applies member_joined_channel (joined) or member_left_channel:
// a member who joined goes at the end of the channel's last page, or on a
// new page when it is full; one who left is taken from the page that holds
// them (a page left empty is marked deleted, as a sync writes none).
func (a *applying) member(ctx context.Context, joined bool, event json.RawMessage) error {
	var ev struct {
		User    string `json:"user"`
		Channel string `json:"channel"`
	}
	if json.Unmarshal(event, &ev) != nil || ev.User == "" || ev.Channel == "" {
		return errors.New("no user or channel")
	}
	return a.membership(ctx, joined, ev.User, ev.Channel)
}

// membership adds user to channel's channel_members pages, or takes them
// from them.
func (a *applying) membership(ctx context.Context, joined bool, user, channel string) error {
	ev := struct{ User, Channel string }{user, channel}
	return a.plan(ctx, []string{"channel_members"}, func(q store.Queries) ([]edit, error) {
		recs, _, err := q.ListRecords(ctx, a.in.OrgID, a.in.ID, "channel_members", store.RecordFilter{KeyPrefix: ev.Channel + "/"}, store.Page{Limit: 1000})
		if err != nil {
			return nil, err
		}
		pages := make([]membersPage, len(recs))
		for i, r := range recs {
			p := &pages[i]
			if err := json.Unmarshal(r.Data, p); err != nil {
				return nil, fmt.Errorf("the stored channel_members record %s: %w", r.Key, err)
			}
			at := slices.Index(p.UserIDs, ev.User)
			switch {
			case at < 0:
			case joined:
				return nil, nil // a member already
			default:
				p.UserIDs = slices.Delete(p.UserIDs, at, at+1)
				if p.Count = len(p.UserIDs); p.Count == 0 {
					return []edit{{stream: "channel_members", key: r.Key, gone: true}}, nil
				}
				return []edit{membersEdit(r.Key, *p)}, nil
			}
		}
		if !joined {
			return nil, nil // not a member
		}
		p := membersPage{ChannelID: ev.Channel}
		if n := len(pages); n > 0 {
			if p = pages[n-1]; p.Count >= 1000 {
				p = membersPage{ChannelID: ev.Channel, Page: p.Page + 1}
			}
		}
		p.UserIDs = append(slices.Clone(p.UserIDs), ev.User)
		p.Count = len(p.UserIDs)
		return []edit{membersEdit(fmt.Sprintf("%s/%04d", ev.Channel, p.Page), p)}, nil
	})
}

func membersEdit(key string, p membersPage) edit {
	data, _ := json.Marshal(p)
	return edit{stream: "channel_members", key: key, data: data}
}

// usergroup applies subteam_created and subteam_updated, which carry the
// whole group: its record (without its members, as usergroups.list
// draws it for the usergroups stream), and its members when it names them.
func (a *applying) usergroup(ctx context.Context, event json.RawMessage) error {
	var ev struct {
		Subteam map[string]json.RawMessage `json:"subteam"`
	}
	var g struct {
		ID         string          `json:"id"`
		TeamID     string          `json:"team_id"`
		DateUpdate json.RawMessage `json:"date_update"`
		Users      *[]string       `json:"users"`
	}
	if json.Unmarshal(event, &ev) != nil || ev.Subteam == nil {
		return errors.New("no subteam")
	}
	raw, _ := json.Marshal(ev.Subteam)
	if json.Unmarshal(raw, &g) != nil || g.ID == "" {
		return errors.New("a subteam without an ID")
	}
	if g.TeamID != "" {
		a.team = g.TeamID
	}
	delete(ev.Subteam, "users")
	data, _ := json.Marshal(ev.Subteam)
	updated := unix(g.DateUpdate)
	return a.plan(ctx, []string{"usergroups", "usergroup_members"}, func(q store.Queries) ([]edit, error) {
		edits := []edit{{stream: "usergroups", key: g.ID, data: data, updated: updated}}
		if g.Users == nil {
			return edits, nil
		}
		if ok, err := a.wants(ctx, q, "usergroup_members"); err != nil || !ok {
			return edits, err
		}
		have, err := a.groupMembers(ctx, q, g.ID)
		if err != nil {
			return nil, err
		}
		for _, u := range *g.Users {
			if !slices.Contains(have, u) {
				edits = append(edits, a.groupMemberEdit(g.ID, u, false))
			}
		}
		for _, u := range have {
			if !slices.Contains(*g.Users, u) {
				edits = append(edits, a.groupMemberEdit(g.ID, u, true))
			}
		}
		return edits, nil
	})
}

// groupMembers are the user IDs of a user group's live usergroup_members
// records.
func (a *applying) groupMembers(ctx context.Context, q store.Queries, group string) ([]string, error) {
	var out []string
	after := ""
	for {
		recs, next, err := q.ListRecords(ctx, a.in.OrgID, a.in.ID, "usergroup_members", store.RecordFilter{KeyPrefix: group + "/"}, store.Page{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, strings.TrimPrefix(r.Key, group+"/"))
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// groupMemberEdit adds user to a group's usergroup_members, or marks them gone.
func (a *applying) groupMemberEdit(group, user string, gone bool) edit {
	data, _ := json.Marshal(map[string]string{"usergroup_id": group, "user_id": user, "team_id": a.team})
	return edit{stream: "usergroup_members", key: group + "/" + user, data: data, gone: gone}
}

// usergroupMembers applies subteam_members_changed: who was added to a
// group, and who removed.
func (a *applying) usergroupMembers(ctx context.Context, event json.RawMessage) error {
	var ev struct {
		SubteamID string   `json:"subteam_id"`
		TeamID    string   `json:"team_id"`
		Added     []string `json:"added_users"`
		Removed   []string `json:"removed_users"`
	}
	if json.Unmarshal(event, &ev) != nil || ev.SubteamID == "" {
		return errors.New("no subteam_id")
	}
	if ev.TeamID != "" {
		a.team = ev.TeamID
	}
	var edits []edit
	for _, u := range ev.Added {
		edits = append(edits, a.groupMemberEdit(ev.SubteamID, u, false))
	}
	for _, u := range ev.Removed {
		edits = append(edits, a.groupMemberEdit(ev.SubteamID, u, true))
	}
	return a.apply(ctx, edits...)
}

// emoji applies emoji_changed: an emoji added, removed or renamed.
func (a *applying) emoji(ctx context.Context, event json.RawMessage) error {
	var ev struct {
		Subtype string   `json:"subtype"`
		Name    string   `json:"name"`
		Names   []string `json:"names"`
		OldName string   `json:"old_name"`
		NewName string   `json:"new_name"`
		Value   string   `json:"value"`
	}
	if json.Unmarshal(event, &ev) != nil {
		return errors.New("not an object")
	}
	key := func(name string) string {
		if a.in.OrgWide && len(a.in.Teams) > 0 {
			return a.team + "/" + name // as an org install's sync keys them
		}
		return name
	}
	added := func(name string) edit {
		obj := map[string]string{"name": name, "team_id": a.team}
		if alias, ok := strings.CutPrefix(ev.Value, "alias:"); ok {
			obj["alias_for"] = alias
		} else {
			obj["url"] = ev.Value
		}
		data, _ := json.Marshal(obj)
		return edit{stream: "emoji", key: key(name), data: data}
	}
	var edits []edit
	switch ev.Subtype {
	case "add":
		edits = append(edits, added(ev.Name))
	case "remove":
		for _, n := range ev.Names {
			edits = append(edits, edit{stream: "emoji", key: key(n), gone: true})
		}
	case "rename":
		edits = append(edits, edit{stream: "emoji", key: key(ev.OldName), gone: true}, added(ev.NewName))
	}
	return a.apply(ctx, edits...)
}

// message applies a message event: a new message or reply, an edit
// (message_changed) or a deletion (message_deleted). Other hidden subtypes
// (message_replied…) change no message's record.
func (a *applying) message(ctx context.Context, subtype string, event json.RawMessage) error {
	var ev struct {
		Channel   string          `json:"channel"`
		Hidden    bool            `json:"hidden"`
		Message   json.RawMessage `json:"message"`
		DeletedTS string          `json:"deleted_ts"`
	}
	if json.Unmarshal(event, &ev) != nil || ev.Channel == "" {
		return errors.New("no channel")
	}
	written := func(raw json.RawMessage) (edit, error) {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return edit{}, errors.New("no message")
		}
		ts, _ := m["ts"].(string)
		if ts == "" {
			return edit{}, errors.New("a message without a ts")
		}
		// What the event adds to the message, as conversations.history
		// draws it, gives way to the record's channel_id.
		for _, k := range []string{"channel", "channel_type", "event_ts", "hidden"} {
			delete(m, k)
		}
		m["channel_id"] = ev.Channel
		data, _ := json.Marshal(m)
		secs, _ := strconv.ParseFloat(ts, 64)
		return edit{stream: "messages", key: ev.Channel + "/" + ts, data: data, updated: time.Unix(int64(secs), 0)}, nil
	}
	switch {
	case subtype == "message_changed":
		ed, err := written(ev.Message)
		if err != nil {
			return err
		}
		return a.apply(ctx, ed)
	case subtype == "message_deleted":
		if ev.DeletedTS == "" {
			return errors.New("a message_deleted without deleted_ts")
		}
		return a.apply(ctx, edit{stream: "messages", key: ev.Channel + "/" + ev.DeletedTS, gone: true})
	case ev.Hidden:
		return nil
	}
	ed, err := written(event)
	if err != nil {
		return err
	}
	return a.apply(ctx, ed)
}
