package webhooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/webhooks"
)

// BenchmarkDelivery emits events in the sandbox at BENCH_RATE a second
// (default 500) for BENCH_SECONDS (default 30) and measures, for each, the
// time from its emission to its arrival at a local subscriber: first with
// the sandbox's Request URL pointed at the subscriber itself (the baseline:
// Slack straight to the app), then through connhub (the sandbox to the
// hub's receiver, kept, processed, delivered by a webhook in slack format).
// It reports the events a second delivered and the end-to-end p50 and p99.
//
//	go test ./internal/webhooks -run '^$' -bench Delivery -benchtime 1x -timeout 30m
//
// With BENCH_POSTGRES=1 (and CONNHUB_TEST_POSTGRES) the hub's store is on
// PostgreSQL.
func BenchmarkDelivery(b *testing.B) {
	rate, seconds := envInt("BENCH_RATE", 500), envInt("BENCH_SECONDS", 30)
	h := hubtest.Start(b, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20, Channels: 3}, Postgres: os.Getenv("BENCH_POSTGRES") != "",
		Webhooks: func(o *webhooks.Options) { o.RetryBase = 20 * time.Millisecond }})
	var mu gosync.Mutex
	arrived := map[string]time.Time{}
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Type    string `json:"type"`
			Token   string `json:"token"`
			Chall   string `json:"challenge"`
			EventID string `json:"event_id"`
		}
		json.Unmarshal(body, &env)
		if env.Type == "url_verification" {
			w.Write([]byte(env.Chall))
			return
		}
		mu.Lock()
		if _, ok := arrived[env.EventID]; !ok {
			arrived[env.EventID] = time.Now()
		}
		mu.Unlock()
	}))
	defer sub.Close()
	for _, path := range []string{"direct", "connhub"} {
		b.Run(path, func(b *testing.B) {
			url := sub.URL
			if path == "connhub" {
				url = h.URL + "/v1/events/slack"
				format := store.WebhookSlack
				if _, err := h.Hub.Webhooks.Create(ctx, h.Admin, webhooks.Input{URL: &sub.URL, Events: []string{"channel_created"}, Format: &format}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := h.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: url, BotEvents: []string{"channel_created"}}); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				emitted := map[string]time.Time{}
				start := time.Now()
				for i := range rate * seconds {
					if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
						time.Sleep(d)
					}
					ids, err := h.Sandbox.EmitEvent("", map[string]any{"type": "channel_created",
						"channel": map[string]any{"id": fmt.Sprintf("CB%s%07d", path[:1], i), "name": "bench", "created": time.Now().Unix()}})
					if err != nil || len(ids) != 1 {
						b.Fatal(ids, err)
					}
					emitted[ids[0]] = time.Now()
				}
				deadline := time.Now().Add(10 * time.Minute)
				var lat []time.Duration
				for {
					mu.Lock()
					lat = lat[:0]
					var last time.Time
					for id, at := range emitted {
						if got, ok := arrived[id]; ok {
							lat = append(lat, got.Sub(at))
							if got.After(last) {
								last = got
							}
						}
					}
					mu.Unlock()
					if len(lat) == len(emitted) {
						slices.Sort(lat)
						q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
						b.ReportMetric(float64(len(lat))/last.Sub(start).Seconds(), "events/s")
						b.ReportMetric(q(0.5), "p50-ms")
						b.ReportMetric(q(0.99), "p99-ms")
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d events arrived within ten minutes", len(lat), len(emitted))
					}
					time.Sleep(20 * time.Millisecond)
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
