// Package connhub is the Go client of connhub's REST API (the routes under
// /v1 that internal/httpapi serves and /openapi.json describes). It imports
// nothing of connhub's own, so other modules can use it.
//
//	c := connhub.New("http://127.0.0.1:8080", os.Getenv("CONNHUB_TOKEN"))
//	created, err := c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "Acme Slack"})
//	// a person opens created.AuthorizeURL and allows the app at Slack
//	inst, err := c.WaitActive(ctx, created.ID, time.Second)
//	ping, err := c.Ping(ctx, inst.ID)
//
// # Credentials
//
// New takes an API token (chub_…) or an instance token (chi_…), sent as
// "Authorization: Bearer …". [WithOpenConnectors] sends SAP Open Connectors'
// header instead: "User …, Organization …[, Element …]"; a token that starts
// with "User " is taken to be that header. No error of this package holds a
// credential: the server never echoes one, and requests carry them only in
// the Authorization header.
//
// Named credentials (CreateCredential) are an integration tool's own: their
// value is in the answer to CreateCredential and RotateCredential once, and
// in RevealCredential's (admins, audited); GetCredential shows a hint. The
// organization's people and API tokens (CreateUser, CreateToken, …), its
// audit log (ListAudit, VerifyAudit) and, for hub operators, organizations
// (CreateOrg) are here too.
//
// # Errors
//
// Every answer that is not a success is an [*Error]: the HTTP status, the
// stable code and the message of connhub's JSON error body, and the request
// ID (X-Request-Id) to find the request in the hub's logs. An answer that is
// not connhub's JSON (a proxy's HTML page, another service on that port) is
// an *Error with Code [CodeUnexpectedResponse]. A hub that cannot be reached
// is the transport's error, wrapped.
//
// # Calls
//
// Every method takes a context. The default http.Client has a 30-second
// timeout ([WithHTTPClient] replaces it). Lists are paged by cursor: the
// List methods return one page and its NextCursor; the All methods iterate
// over every page. WaitActive polls an instance until it leaves pending,
// and WaitUpdated until a re-authentication completes.
//
// # Syncs and records
//
// A sync retrieves streams of an instance's workspace data (Streams lists
// them) into the hub, in the background: StartSync queues a run, and
// WaitSync polls it to its end, handing each snapshot of its progress to a
// callback and passing over the errors of a hub that restarts meanwhile.
// A failed or canceled run resumes from its checkpoints (ResumeSync); a
// schedule runs syncs at an interval (SetSyncSchedule).
//
//	run, err := c.StartSync(ctx, inst.ID, connhub.StartSyncInput{Streams: []string{"users"}})
//	run, err = c.WaitSync(ctx, inst.ID, run.ID, connhub.WaitOptions{OnPoll: show})
//	for rec, err := range c.AllRecords(ctx, inst.ID, "licenses", connhub.RecordQuery{Where: "billable = true AND active_30d = false"}) {
//		…
//	}
//
// QueryRecords reads a page of a stream's records that a where selects, in
// any order; AllRecords every page. Export streams a whole selection as JSON
// lines or CSV: its reader ends in io.EOF only when the hub declared the
// export complete (the Connhub-Export-Records trailer), and in an error
// wrapping [ErrExportTruncated] when it broke off.
//
// # Events and webhooks
//
// The hub receives Slack's events for every instance. ListInstanceEvents
// lists an instance's; StreamEvents follows the events the caller may see
// as the hub processes them (server-sent events), and FollowEvents does so
// for as long as ctx lasts, connecting again after a lost stream from the
// last event it handed on, so that nothing is missed or repeated:
//
//	err := c.FollowEvents(ctx, connhub.FollowOptions{StreamOptions: connhub.StreamOptions{Types: []string{"user_change"}}},
//		func(e connhub.SlackEvent) error { … })
//
// CreateWebhook subscribes a URL to them (its signing secret is in the
// answer, once); WebhookDeliveries, RetryDelivery and ReplayWebhook show
// and send its deliveries again.
//
// # Provisioning
//
// CreateProvisioningPlan plans a directory file (CSV or JSON, a person a
// row) against an instance's Slack, read over SCIM: the answer's Text is
// the plan as a readable diff. A file with problems is an *Error with code
// invalid_file whose Problems name each row and column; a plan that would
// deactivate more than the brake allows, an *Error with code brake.
// ApplyProvisioningPlan starts the plan's run (ProvisioningPlanByID finds a
// plan's instance from its ID alone), WaitProvisioningRun follows it, and
// ProvisioningRun pages its changes' outcomes.
//
//	plan, err := c.CreateProvisioningPlan(ctx, inst.ID, connhub.ProvisioningPlanInput{File: csv})
//	run, err := c.ApplyProvisioningPlan(ctx, inst.ID, plan.ID)
//	run, err = c.WaitProvisioningRun(ctx, inst.ID, run.ID, connhub.ProvisioningWaitOptions{OnPoll: show})
package connhub
