// Package browsertest drives connhub's pages in a real browser: Debian's
// Chromium, headless, through chromedp (the Chrome DevTools Protocol), against
// a hub that `connhub serve --sandbox` runs in the test's process on a free
// loopback port, with a temporary data directory and its own Slack sandbox.
//
// Its parts:
//
//   - Browser starts Chromium with a fresh profile and the flags this
//     project's machines need (no sandbox, no GPU, no background networking,
//     no component updates, no QUIC, no sync). Without Chromium the test is
//     skipped with a message saying how to install it; with
//     CONNHUB_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead.
//   - StartHub runs the hub and returns its URL and admin API token; Install
//     creates an instance over the API and answers the sandbox's consent page
//     with a plain HTTP client.
//   - A Journey runs named steps in one tab and saves a full-page screenshot
//     after each (and of the page it failed on) in a directory it logs; with
//     CONNHUB_SCREENSHOTS=<dir> (relative to the module root, e.g.
//     docs/screenshots) the screenshots are written there too.
//     A step fails when the page reports an error (an exception, a
//     console.error, a CSP refusal, a failed load) unless the step expects
//     it with Tab.Expect: a page that answers bad input with a 4xx status
//     makes Chromium report "Failed to load resource".
//   - The Swagger UI helpers (OpenOperation, TryItOut, Execute, Authorize)
//     work the API reference at /docs by the element ids and classes
//     Swagger UI renders.
//
// Run the browser tests alone, they are heavy:
//
//	go test ./internal/browsertest -v
//	CONNHUB_SCREENSHOTS=docs/screenshots go test ./internal/browsertest -run Docs
package browsertest
