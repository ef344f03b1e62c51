package provision

import (
	"errors"
	"fmt"
)

// MatchKey is the attribute that finds a file's person in Slack, as
// PingFederate offers: the primary email or the userName. Matching ignores
// case.
type MatchKey string

const (
	MatchEmail    MatchKey = "email"
	MatchUserName MatchKey = "userName"
)

func (k MatchKey) validate() error {
	if k != MatchEmail && k != MatchUserName {
		return fmt.Errorf(`provision: match key must be "email" or "userName", got %q`, k)
	}
	return nil
}

// Membership says what a plan does to a group the file names.
type Membership string

const (
	// MembershipMerge only adds: people the file lists in a group join it;
	// nobody leaves.
	MembershipMerge Membership = "merge"
	// MembershipOverwrite makes the group exactly the file's: people the
	// file lists join, every other member leaves.
	MembershipOverwrite Membership = "overwrite"
)

// DefaultBrakeShare is the brake's default: a plan may deactivate at most a
// tenth of the active users unless forced.
const DefaultBrakeShare = 0.10

// Options say how a plan is made.
type Options struct {
	MatchKey MatchKey `json:"match_key"` // default email
	// DeactivateMissing deactivates the active users the file does not list.
	DeactivateMissing bool       `json:"deactivate_missing"`
	Membership        Membership `json:"membership"` // default merge
	// BrakeShare is the share of active users a plan may deactivate (0.10
	// is 10%); a plan that deactivates more is refused unless Force.
	// 0 means the default; to refuse any deactivation, set a tiny share.
	BrakeShare float64 `json:"brake_share"`
	Force      bool    `json:"force"`
}

// WithDefaults returns o with every unset field at its default.
func (o Options) WithDefaults() Options {
	if o.MatchKey == "" {
		o.MatchKey = MatchEmail
	}
	if o.Membership == "" {
		o.Membership = MembershipMerge
	}
	if o.BrakeShare == 0 {
		o.BrakeShare = DefaultBrakeShare
	}
	return o
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if err := o.MatchKey.validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Membership != MembershipMerge && o.Membership != MembershipOverwrite {
		errs = append(errs, fmt.Errorf(`provision: membership must be "merge" or "overwrite", got %q`, o.Membership))
	}
	if o.BrakeShare <= 0 || o.BrakeShare > 1 {
		errs = append(errs, fmt.Errorf("provision: brake share must be above 0 and at most 1, got %g", o.BrakeShare))
	}
	return errors.Join(errs...)
}
