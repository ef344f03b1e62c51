// Package slackspec holds Slack's Web API facts as data: for every method Slack
// documents, its rate-limit tier, the bot and user scopes that allow it, its
// required and optional arguments and its documented error codes.
//
// The data is methods.json, gathered from Slack's documentation (see
// ../../../shared/slack/FACTS.md in the project's shared folder). Both sides of
// connhub read it: the Slack sandbox (internal/slacksim) enforces tiers, scopes
// and errors from it, and connhub's own pacing uses the same tier budgets, so the
// two can never disagree about what Slack allows.
//
// The package imports nothing of connhub's and holds no state beyond the parsed
// table.
//
// SCIM (scim.go) has its own limits, org-wide and with bursts, listed as data
// too: the sandbox enforces them and connhub paces its SCIM calls by them.
package slackspec
