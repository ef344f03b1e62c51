// Package eventstream serves the Slack events connhub received as
// server-sent events (text/event-stream, the HTML standard's EventSource
// format), to the API (GET /v1/events/stream) and to the console (GET
// /events/stream) alike, and holds the one wire shape of an event
// (SlackEvent), which the API's lists use too.
//
// An answer starts with a retry field (how long a browser waits before it
// reconnects) and, unless it goes on after an event, an id field without
// data: where it started (since_<Unix ms>), which a reader that reconnects
// before its first event sends back as its Last-Event-ID (a browser's
// EventSource keeps it so). Then it carries one message an event:
//
//	id: evt_…               the event's connhub ID: a reader reconnecting with it as Last-Event-ID goes on after it
//	event: slack_event
//	data: {…}               the event, as GET /v1/instances/{id}/events lists it
//
// and a comment (": keepalive") when it has been silent a while, so that
// proxies and load balancers keep the connection open. Each message and
// comment is flushed as it is written. What the stream carries, and in
// which order, is internal/events' (Service.Stream): this package only
// writes it.
package eventstream
