package store

import (
	"context"
	"slices"
	"time"
)

// GrantedTeams is what SetGrantedTeams changed.
type GrantedTeams struct {
	Instance Instance // as it is now
	Added    []string // workspaces granted since the last read
	Removed  []string // workspaces no longer granted
	Marked   int      // records of the removed workspaces marked deleted
}

// SetGrantedTeams records which workspaces an Enterprise Grid org-wide
// install is granted now (teams, from auth.teams.list), in one transaction:
// the instance's Teams, its status (needs_workspaces with none, active again
// with some), and, for each workspace no longer granted, every live record
// of it marked deleted (MarkTeamDeleted). Pings, syncs and
// re-authentications all read the grant; whichever sees a change first
// records all of it. update, if not nil, changes the instance too, in the
// same transaction, before its workspaces are set.
func SetGrantedTeams(ctx context.Context, s Store, orgID, instanceID string, teams []string, at time.Time, update func(*Instance)) (GrantedTeams, error) {
	teams = slices.Clone(teams)
	slices.Sort(teams)
	teams = slices.Compact(teams)
	var out GrantedTeams
	err := s.InTx(ctx, func(q Queries) error {
		out = GrantedTeams{}
		in, err := q.UpdateInstance(ctx, orgID, instanceID, func(i *Instance) error {
			if update != nil {
				update(i)
			}
			out.Added, out.Removed = diff(teams, i.Teams), diff(i.Teams, teams)
			i.Teams = teams
			i.SetWorkspaceStatus()
			return nil
		})
		if err != nil {
			return err
		}
		out.Instance = in
		for _, team := range out.Removed {
			n, err := q.MarkTeamDeleted(ctx, orgID, instanceID, team, at)
			if err != nil {
				return err
			}
			out.Marked += n
		}
		return nil
	})
	return out, err
}

// SetWorkspaceStatus sets an org-wide install's status from the workspaces
// it is granted: needs_workspaces with none, active again with some.
func (i *Instance) SetWorkspaceStatus() {
	switch {
	case !i.OrgWide:
	case len(i.Teams) == 0 && i.Status == StatusActive:
		i.Status, i.StatusReason = StatusNeedsWorkspaces, NoWorkspacesReason
	case len(i.Teams) > 0 && i.Status == StatusNeedsWorkspaces:
		i.Status, i.StatusReason = StatusActive, ""
	}
}

// diff lists what a holds and b does not.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
