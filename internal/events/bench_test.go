package events_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
)

// BenchmarkIngest sends signed events as Slack does, open loop at a fixed
// rate (BENCH_RATE a second, default 1,000) for BENCH_SECONDS (default 60),
// first to a bare handler that only verifies the signature and answers 200
// (the baseline), then to the hub's receiver on SQLite, run as serve runs
// it (its queue processing the events meanwhile). It reports each one's
// ack latency (p50, p99, max), and for the hub the events kept against
// the events acknowledged (none may be lost) and how long after the load
// the last of them was processed.
//
//	go test ./internal/events -run '^$' -bench Ingest -benchtime 1x -timeout 30m
func BenchmarkIngest(b *testing.B) {
	rate, seconds := envInt("BENCH_RATE", 1000), envInt("BENCH_SECONDS", 60)
	h := hubtest.Start(b, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20, Channels: 3}})
	app, err := h.Store.GetApp(ctx, h.Admin.Org.ID, h.Instance.AppID)
	if err != nil {
		b.Fatal(err)
	}
	secret := h.Info.SigningSecret
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + r.Header.Get("X-Slack-Request-Timestamp") + ":"))
		mac.Write(body)
		if !hmac.Equal([]byte("v0="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Slack-Signature"))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer bare.Close()
	for _, target := range []struct{ name, url string }{{"bare", bare.URL}, {"connhub", h.URL + "/v1/events/slack"}} {
		b.Run(target.name, func(b *testing.B) {
			for range b.N {
				lat, failed := load(b, target.url, secret, app.SlackAppID, h.Instance.TeamID, rate, seconds, target.name)
				slices.Sort(lat)
				q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
				b.ReportMetric(q(0.5), "p50-ms")
				b.ReportMetric(q(0.99), "p99-ms")
				b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
				b.ReportMetric(float64(failed), "failed")
				b.ReportMetric(float64(len(lat)), "acked")
				if target.name == "connhub" {
					kept := countKept(b, h, target.name)
					b.ReportMetric(float64(len(lat)-kept), "lost")
					// How long after the load the processing is done: whether
					// it keeps up with the receiving.
					loaded := time.Now()
					for {
						left, err := h.Store.ReceivedSlackEvents(ctx, time.Now().Add(time.Hour), "", 1)
						if err != nil {
							b.Fatal(err)
						}
						if len(left) == 0 {
							break
						}
						if time.Since(loaded) > 10*time.Minute {
							b.Fatal("the events were not processed within ten minutes of the load")
						}
						time.Sleep(10 * time.Millisecond)
					}
					b.ReportMetric(time.Since(loaded).Seconds(), "processed-after-s")
				}
			}
		})
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// load sends rate events a second for seconds, each at its time whatever
// the answers before it (open loop), and returns the ack latencies of
// those answered 200 and how many were not.
func load(b *testing.B, url, secret, apiAppID, teamID string, rate, seconds int, run string) ([]time.Duration, int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DialContext: (&net.Dialer{}).DialContext}, Timeout: 30 * time.Second}
	n := rate * seconds
	lat := make([]time.Duration, 0, n)
	var mu gosync.Mutex
	var wg gosync.WaitGroup
	failed := 0
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		body := []byte(fmt.Sprintf(`{"token":"x","team_id":%q,"api_app_id":%q,"type":"event_callback","event_id":"EvBENCH%s%08d","event_time":%d,`+
			`"event":{"type":"channel_created","channel":{"id":"C%08d","name":"bench-%d","created":%d}},`+
			`"authorizations":[{"team_id":%q,"user_id":"UBENCH","is_bot":true,"is_enterprise_install":false}]}`,
			teamID, apiAppID, run, i, time.Now().Unix(), i, i, time.Now().Unix(), teamID))
		wg.Go(func() {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte("v0:" + ts + ":"))
			mac.Write(body)
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
			sent := time.Now()
			resp, err := client.Do(req)
			took := time.Since(sent)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			if ok {
				lat = append(lat, took)
			} else {
				failed++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatalf("%s: no event acknowledged", url)
	}
	return lat, failed
}

// countKept counts the events the hub kept from run.
func countKept(b *testing.B, h *hubtest.Hub, run string) int {
	n := 0
	after := ""
	for {
		evs, next, err := h.Store.ListSlackEvents(ctx, h.Admin.Org.ID, store.SlackEventFilter{}, store.Page{After: after, Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			if strings.HasPrefix(e.EventID, "EvBENCH"+run) {
				n++
			}
		}
		if next == "" {
			return n
		}
		after = next
	}
}
