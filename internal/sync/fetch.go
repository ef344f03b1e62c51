package sync

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
)

// The fetchers of the streams whose answers are not plain lists (list.go):
// each walks its Slack method from the walker's position. Page sizes are the
// largest each method accepts, so a sync makes the fewest calls Slack permits;
// each counts those fewest (counts.Fewest) as it goes.

// fetchSubscription keeps the workspace's plan: the answer the capability
// check read for the installed workspace, else (a workspace of an
// Enterprise Grid org install, or a check that could not read it) its own.
func fetchSubscription(ctx context.Context, w *walker) error {
	body := w.r.caps.billing
	if body == nil || w.team != "" {
		res, err := w.call(ctx, "team.billing.info", nil)
		if err != nil {
			return err
		}
		w.add(counts{Fewest: 1})
		body = res.Body
	}
	var out struct {
		Plan string `json:"plan"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return err
	}
	team := w.teamID()
	// Slack's plan name (team.billing.info) as the catalog's edition; a
	// plan the catalog does not know is kept as Slack says it, unnamed.
	e, ok := slackCatalog().EditionByPlan(out.Plan)
	if !ok {
		e = connector.Edition{Key: out.Plan}
	}
	data, _ := json.Marshal(map[string]any{"team_id": team, "plan": out.Plan, "edition": e.Key, "plan_name": e.Name})
	return w.commit(ctx, []store.Record{{Key: team, TeamID: team, Data: data}}, w.pos)
}

func fetchBillableInfo(ctx context.Context, w *walker) error {
	cursor := w.pos.Cursor
	walk := w.pageCounter("team.billableInfo")
	return w.writeBehind(ctx, func(emit func([]store.Record, func(*position)) error) error {
		for {
			args := url.Values{"limit": {"1000"}}
			if cursor != "" {
				args.Set("cursor", cursor)
			}
			res, err := w.call(ctx, "team.billableInfo", args)
			if err != nil {
				return err
			}
			p, err := parsePage(res.Body, "billable_info")
			if err != nil {
				return fmt.Errorf("team.billableInfo: %w", err)
			}
			team := w.teamID()
			ids := make([]string, 0, len(p.object))
			for id := range p.object {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			recs := make([]store.Record, 0, len(ids))
			for _, id := range ids {
				var b struct {
					BillingActive bool `json:"billing_active"`
				}
				if err := json.Unmarshal(p.object[id], &b); err != nil {
					return fmt.Errorf("team.billableInfo: %s: %w", id, err)
				}
				key := id
				if w.team != "" {
					key = id + "/" + w.team // an org's person is billed in each workspace
				}
				data, _ := json.Marshal(map[string]any{"user_id": id, "team_id": team, "billing_active": b.BillingActive})
				recs = append(recs, store.Record{Key: key, TeamID: team, Data: data})
			}
			walk.page(len(p.object), p.next == "")
			cursor = p.next
			next := p.next
			if err := emit(recs, func(pos *position) { pos.Cursor = next }); err != nil {
				return err
			}
			if next == "" {
				return nil
			}
		}
	})
}

// withField adds a field to a JSON object, unless it has one.
func withField(raw json.RawMessage, name, value string) json.RawMessage {
	key, _ := json.Marshal(name)
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) > 1 && trimmed[0] == '{' && !bytes.Contains(raw, key) {
		// The name appears nowhere: the field goes first, without decoding
		// the object (logins and messages come by the tens of thousands).
		v, _ := json.Marshal(value)
		out := make([]byte, 0, len(trimmed)+len(key)+len(v)+2)
		out = append(append(append(append(out, '{'), key...), ':'), v...)
		if rest := bytes.TrimLeft(trimmed[1:], " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
			out = append(out, ',')
		}
		return append(out, trimmed[1:]...)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return raw
	}
	if _, ok := obj[name]; ok {
		return raw
	}
	v, _ := json.Marshal(value)
	obj[name] = v
	out, err := json.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// fetchMemberAnalytics fetches the daily member analytics file for each day
// after the last one fetched (on the first sync, the last AnalyticsDays
// days), oldest first, up to yesterday: today's file is not written yet.
// Each day's rows stream out of the gzip file in pages; the day is the mark.
func fetchMemberAnalytics(ctx context.Context, w *walker) error {
	today := w.r.svc.now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -w.r.opts.analyticsDays())
	from := first
	mark := w.pos.NewMark
	if mark == "" {
		mark = w.pos.Mark
	}
	if d, err := time.Parse(time.DateOnly, mark); err == nil {
		// Go on from where the last sync got to, however long ago that was,
		// as far back as Slack keeps files.
		from = d.AddDate(0, 0, 1)
		if oldest := today.AddDate(0, 0, -395); from.Before(oldest) {
			from = oldest
		}
	}
	for day := from; day.Before(today); day = day.AddDate(0, 0, 1) {
		date := day.Format(time.DateOnly)
		res, err := w.call(ctx, "admin.analytics.getFile", url.Values{"type": {"member"}, "date": {date}})
		if err == nil || slackcall.Code(err) != "" {
			w.add(counts{Fewest: 1}) // a file a day, or Slack's word that there is none yet
		}
		switch code := slackcall.Code(err); {
		case code == "":
			if err != nil {
				return err
			}
		case slack.Classify(code) == slack.Later:
			return nil // a later sync gets it
		case slack.Classify(code) == slack.NoData:
			next := w.pos
			next.NewMark = date
			if err := w.commit(ctx, nil, next); err != nil {
				return err
			}
			continue
		default:
			return err
		}
		if err := w.analyticsDay(ctx, date, res.Body); err != nil {
			return fmt.Errorf("admin.analytics.getFile %s: %w", date, err)
		}
	}
	return nil
}

// analyticsDay stores a day's rows of active members, a page at a time; the
// last page carries the day as the new mark. A day cut off by a crash is
// fetched again whole: its rows are upserted on the same keys.
func (w *walker) analyticsDay(ctx context.Context, date string, gz []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return err
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var recs []store.Record
	flush := func(last bool) error {
		next := w.pos
		if last {
			next.NewMark = date
		}
		err := w.commit(ctx, recs, next)
		recs = recs[:0]
		return err
	}
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var row struct {
			UserID   string `json:"user_id"`
			TeamID   string `json:"team_id"`
			IsActive bool   `json:"is_active"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return fmt.Errorf("a row that is not JSON: %w", err)
		}
		if !row.IsActive || row.UserID == "" {
			continue // a day without activity says nothing a missing row does not
		}
		team := w.teamOf(row.TeamID)
		day, _ := time.Parse(time.DateOnly, date)
		recs = append(recs, store.Record{Key: row.UserID + "/" + date, TeamID: team, Data: bytes.Clone(line), SourceUpdatedAt: day})
		if len(recs) == 1000 {
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return flush(true)
}

// channelTypes are the kinds of channel the granted scopes can list.
func (w *walker) channelTypes() string {
	caps := w.r.caps
	switch {
	case caps.has("bot", "channels:read") && caps.has("bot", "groups:read"):
		return "public_channel,private_channel"
	case caps.has("bot", "groups:read"):
		return "private_channel"
	}
	return "public_channel"
}

// unixMillisOrSeconds reads conversations' "updated", which Slack gives in
// milliseconds.
func unixMillisOrSeconds(raw json.RawMessage) time.Time {
	t := unix(raw)
	if t.Year() > 3000 {
		return time.UnixMilli(t.Unix())
	}
	return t
}

// fetchChannelMembers keeps a record per page of a channel's members (up
// to 1,000 user IDs, key "C…/0000"), not one per membership: a workspace of
// 50,000 has millions of memberships, and a row each would make the store,
// not Slack, the limit. "user_ids HAS 'U…'" finds a user's channels.
func fetchChannelMembers(ctx context.Context, w *walker) error {
	return w.fanOut(ctx, func(ctx context.Context, ch store.Record, cursor string, page int, emit func([]store.Record, string) error) error {
		args := url.Values{"channel": {ch.Key}, "limit": {"1000"}}
		walk := w.pageCounter("conversations.members")
		for {
			a := cloneArgs(args)
			if cursor != "" {
				a.Set("cursor", cursor)
			}
			res, err := w.call(ctx, "conversations.members", a)
			if err != nil {
				return err
			}
			var body struct {
				Members  []string `json:"members"`
				Metadata struct {
					NextCursor string `json:"next_cursor"`
				} `json:"response_metadata"`
			}
			if err := json.Unmarshal(res.Body, &body); err != nil {
				return fmt.Errorf("conversations.members: the answer is not JSON: %w", err)
			}
			if slices.Contains(body.Members, "") {
				return fmt.Errorf("conversations.members: a member that is not a user ID")
			}
			walk.page(len(body.Members), body.Metadata.NextCursor == "")
			var recs []store.Record
			if len(body.Members) > 0 {
				data, _ := json.Marshal(struct {
					ChannelID string   `json:"channel_id"`
					Page      int      `json:"page"`
					Count     int      `json:"count"`
					UserIDs   []string `json:"user_ids"`
				}{ch.Key, page, len(body.Members), body.Members})
				recs = []store.Record{{Key: fmt.Sprintf("%s/%04d", ch.Key, page), TeamID: ch.TeamID, Data: data}}
			}
			if err := emit(recs, body.Metadata.NextCursor); err != nil {
				return err
			}
			if cursor = body.Metadata.NextCursor; cursor == "" {
				return nil
			}
			page++
		}
	})
}

func fetchEmoji(ctx context.Context, w *walker) error {
	res, err := w.call(ctx, "emoji.list", nil)
	if err != nil {
		return err
	}
	w.add(counts{Fewest: 1})
	p, err := parsePage(res.Body, "emoji")
	if err != nil {
		return fmt.Errorf("emoji.list: %w", err)
	}
	names := make([]string, 0, len(p.object))
	for n := range p.object {
		names = append(names, n)
	}
	sort.Strings(names)
	team := w.teamID()
	recs := make([]store.Record, 0, len(names))
	for _, n := range names {
		var v string
		if err := json.Unmarshal(p.object[n], &v); err != nil {
			return fmt.Errorf("emoji.list: %s: %w", n, err)
		}
		obj := map[string]string{"name": n, "team_id": team}
		if alias, ok := strings.CutPrefix(v, "alias:"); ok {
			obj["alias_for"] = alias
		} else {
			obj["url"] = v
		}
		data, _ := json.Marshal(obj)
		key := n
		if w.team != "" {
			key = w.team + "/" + n
		}
		recs = append(recs, store.Record{Key: key, TeamID: team, Data: data})
	}
	for start := 0; start < len(recs) || start == 0; start += 1000 {
		if err := w.commit(ctx, recs[start:min(start+1000, len(recs))], w.pos); err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
	}
	return nil
}

// fetchMessages walks each channel's history, newest first, and the threads
// in it. The first sync reads everything the app may see; later ones read
// from the last sync's start, less the thread lookback (Options.ThreadDays),
// so that parents in that window are seen again with their latest_reply. A
// thread is read again only when its parent's latest_reply moved since the
// stored copy, and then only the replies after it.
func fetchMessages(ctx context.Context, w *walker) error {
	oldest := ""
	if t, err := time.Parse(time.RFC3339, w.pos.Mark); err == nil {
		lookback := time.Duration(w.r.opts.threadDays()) * 24 * time.Hour
		oldest = strconv.FormatInt(t.Add(-lookback).Unix(), 10)
	}
	if w.pos.NewMark == "" {
		w.pos.NewMark = w.r.asOf().Format(time.RFC3339) // the next sync reads from here, less the lookback
	}
	return w.fanOut(ctx, func(ctx context.Context, ch store.Record, cursor string, _ int, emit func([]store.Record, string) error) error {
		args := url.Values{"channel": {ch.Key}, "limit": {"999"}}
		if oldest != "" {
			args.Set("oldest", oldest)
		}
		emitted := false
		history := func() error {
			return w.cursorPages(ctx, "conversations.history", args, "messages", cursor, messageRecord(ch, ""), func(recs []store.Record, next string) error {
				replies, err := w.threadReplies(ctx, ch, recs)
				if err != nil {
					return err
				}
				emitted = true
				return emit(append(recs, replies...), next)
			})
		}
		err := history()
		if slackcall.Code(err) == "not_in_channel" && !emitted && w.mayJoin(ch) {
			joined, jerr := w.join(ctx, ch)
			if jerr != nil {
				return jerr
			}
			if joined {
				w.add(counts{Fewest: 1}) // the refused call that said the bot must join
				err = history()
			}
		}
		return err
	})
}

// mayJoin says whether the walk may have the bot join a channel whose
// history Slack refused it: the run asked to join public channels, the bot
// was granted channels:join, and the channel is public and not archived.
func (w *walker) mayJoin(ch store.Record) bool {
	c := channelOf(ch)
	return w.r.opts.JoinPublicChannels && w.r.caps.has("bot", joinScope) && !c.IsPrivate && !c.IsArchived
}

// join has the bot join a public channel (conversations.join), and says
// whether it is in. Joining is a write, so it is put in the audit log
// first, in its own transaction, and not made if that fails: the error
// then stops the stream. A channel Slack will not let it join stays
// passed over, as not_in_channel.
func (w *walker) join(ctx context.Context, ch store.Record) (bool, error) {
	run := w.r.run
	err := w.r.svc.store.InTx(ctx, func(q store.Queries) error {
		return audit.Write(ctx, q, audit.System(run.OrgID), audit.Event{Action: "sync.join_channel", TargetType: "instance", TargetID: run.InstanceID,
			Details: map[string]any{"run": run.ID, "stream": w.s.Name, "method": "conversations.join", "channel": ch.Key, "team": ch.TeamID}})
	})
	if err != nil {
		return false, fmt.Errorf("conversations.join was not called for %s: it could not be written to the audit log: %w", ch.Key, err)
	}
	args := url.Values{"channel": {ch.Key}}
	if w.team != "" {
		args.Set("team_id", w.team)
	}
	res, err := w.r.callWaiting(ctx, "bot", "conversations.join", args, w.waiting)
	c := counts{Calls: 1, Fewest: 1}
	if res != nil {
		c.Retries = int64(res.Retries)
	}
	if err == nil {
		c.Joined = 1
	}
	w.add(c)
	switch {
	case err == nil:
		w.r.svc.log.Info("sync: the bot joined a public channel to read it", "run", run.ID, "channel", ch.Key)
		return true, nil
	case slackcall.Code(err) != "":
		w.r.svc.log.Info("sync: the bot could not join a channel", "run", run.ID, "channel", ch.Key, "code", slackcall.Code(err))
		return false, nil
	}
	return false, err
}

// message is what the walk reads of a message.
type message struct {
	TS          string `json:"ts"`
	ThreadTS    string `json:"thread_ts"`
	ReplyCount  int    `json:"reply_count"`
	LatestReply string `json:"latest_reply"`
}

// messageRecord makes a message's record, keyed "C…/ts", with its channel;
// skipTS drops the thread's parent from conversations.replies' pages.
func messageRecord(ch store.Record, skipTS string) builder {
	return func(raw json.RawMessage, add func(store.Record)) error {
		var m message
		if err := json.Unmarshal(raw, &m); err != nil || m.TS == "" {
			return fmt.Errorf("a message without a ts")
		}
		if m.TS == skipTS {
			return nil
		}
		ts, _ := strconv.ParseFloat(m.TS, 64)
		add(store.Record{Key: ch.Key + "/" + m.TS, TeamID: ch.TeamID, Data: withField(raw, "channel_id", ch.Key),
			SourceUpdatedAt: time.Unix(int64(ts), 0)})
		return nil
	}
}

// threadReplies reads the replies of the threads in a page of messages
// whose latest_reply is not the stored one: every reply of a new thread, the
// ones after the stored latest_reply of a thread that moved.
func (w *walker) threadReplies(ctx context.Context, ch store.Record, page []store.Record) ([]store.Record, error) {
	var out []store.Record
	for _, rec := range page {
		var m message
		json.Unmarshal(rec.Data, &m)
		if m.ReplyCount == 0 || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue // not a thread's parent
		}
		args := url.Values{"channel": {ch.Key}, "ts": {m.TS}, "limit": {"1000"}}
		stored, err := w.r.svc.store.GetRecord(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Name, rec.Key)
		switch {
		case err == nil && stored.WrittenByEvent():
			// An event wrote the parent: its latest_reply does not say
			// which replies are stored, so the whole thread is read.
		case err == nil:
			var old message
			json.Unmarshal(stored.Data, &old)
			if old.LatestReply == m.LatestReply {
				continue
			}
			if old.LatestReply != "" {
				args.Set("oldest", old.LatestReply)
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		err = w.cursorPages(ctx, "conversations.replies", args, "messages", "", messageRecord(ch, m.TS), func(recs []store.Record, _ string) error {
			out = append(out, recs...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
