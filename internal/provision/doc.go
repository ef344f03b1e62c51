// Package provision provisions Slack users and groups from a directory file
// over Slack's SCIM API.
package provision
