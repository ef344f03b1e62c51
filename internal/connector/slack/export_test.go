package slack

// SetTeamsPageSize sets the auth.teams.list limit, so that a test can make
// Teams page through a sandbox with a few workspaces.
func SetTeamsPageSize(c *Client, n int) { c.teamsPageSize = n }
