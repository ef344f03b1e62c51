package slacksim

import (
	"slices"
	"strings"
)

// CallIDsForTest lists the calls of a workspace, sorted. Slack has no method
// that lists calls (calls.info takes an ID an app learnt from calls.add or a
// call block), so the slack-go conformance suite finds its IDs here.
func (s *Server) CallIDsForTest(teamID string) []string {
	w := s.world.Load()
	w.mu.RLock()
	defer w.mu.RUnlock()
	var ids []string
	for id, cl := range w.calls {
		if cl.Team.ID == teamID {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, strings.Compare)
	return ids
}
