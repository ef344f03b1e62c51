package provision

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteText writes the plan as a diff for a terminal, as `terraform plan`
// does: "+" creates, "~" updates (attr: old → new), "^" reactivates, "-"
// deactivates, "!" skips, each change with its index in brackets, and the
// counts at the end.
func (p *Plan) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	o := p.Options
	missing := "kept"
	if o.DeactivateMissing {
		missing = "deactivated"
	}
	force := ""
	if o.Force {
		force = ", forced"
	}
	fmt.Fprintf(bw, "Plan: match by %s; people missing from the file are %s; groups %s; brake %g%% of %d active users%s\n\n",
		o.MatchKey, missing, o.Membership, 100*o.BrakeShare, p.ActiveUsers, force)
	for _, c := range p.Changes {
		writeChange(bw, c)
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(bw, "! skip %s%s%s: %s\n", s.Key, maybe("  ", s.Target), rowNote(s.Row), s.Reason)
	}
	if len(p.Changes)+len(p.Skipped) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString(p.Counts.summary() + "\n")
	return bw.Flush()
}

// String is the plan's text (WriteText).
func (p *Plan) String() string {
	var b strings.Builder
	p.WriteText(&b)
	return b.String()
}

func maybe(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func rowNote(row int) string {
	if row == 0 {
		return ""
	}
	return " (row " + strconv.Itoa(row) + ")"
}

func writeChange(w *bufio.Writer, c Change) {
	idx := fmt.Sprintf("[%d]", c.Index)
	switch c.Kind {
	case KindCreate:
		fmt.Fprintf(w, "+ %s create %s%s\n", idx, c.Key, rowNote(c.Row))
		writeAttrs(w, c.Attrs, false)
	case KindUpdate:
		fmt.Fprintf(w, "~ %s update %s  %s%s\n", idx, c.Key, c.Target, rowNote(c.Row))
		writeAttrs(w, c.Attrs, true)
	case KindReactivate:
		fmt.Fprintf(w, "^ %s reactivate %s  %s%s\n", idx, c.Key, c.Target, rowNote(c.Row))
		writeAttrs(w, c.Attrs, true)
	case KindDeactivate:
		fmt.Fprintf(w, "- %s deactivate %s  %s%s\n", idx, c.Key, c.Target, rowNote(c.Row))
	case KindGroupCreate:
		fmt.Fprintf(w, "+ %s create group %q\n", idx, c.Key)
		writeMembers(w, c)
	case KindGroupUpdate:
		fmt.Fprintf(w, "~ %s update group %q  %s\n", idx, c.Key, c.Target)
		writeMembers(w, c)
	}
}

func writeAttrs(w *bufio.Writer, attrs []AttrChange, old bool) {
	width := 0
	for _, a := range attrs {
		width = max(width, len(a.Attr))
	}
	for _, a := range attrs {
		if old {
			from := strconv.Quote(a.Old)
			if a.Old == "" {
				from = "(none)"
			}
			fmt.Fprintf(w, "      %-*s  %s → %q\n", width+1, a.Attr+":", from, a.New)
		} else {
			fmt.Fprintf(w, "      %-*s  %q\n", width+1, a.Attr+":", a.New)
		}
	}
}

func writeMembers(w *bufio.Writer, c Change) {
	for _, m := range c.Added {
		note := ""
		if m.Change != 0 {
			note = fmt.Sprintf("  (after [%d])", m.Change)
		}
		fmt.Fprintf(w, "      + %s%s%s\n", m.Name, maybe("  ", m.ID), note)
	}
	for _, m := range c.Removed {
		fmt.Fprintf(w, "      - %s%s\n", m.Name, maybe("  ", m.ID))
	}
}

// summary is the counts in a sentence.
func (c Counts) summary() string {
	people := fmt.Sprintf("%d to create, %d to update, %d to reactivate, %d to deactivate", c.Create, c.Update, c.Reactivate, c.Deactivate)
	groups := fmt.Sprintf("groups: %d to create, %d to update (%d members added, %d removed)", c.GroupCreate, c.GroupUpdate, c.MembersAdded, c.MembersRemoved)
	s := "Plan: " + people + "; " + groups
	if c.Skipped > 0 {
		s += fmt.Sprintf("; %d skipped", c.Skipped)
	}
	if c.Create+c.Update+c.Reactivate+c.Deactivate+c.GroupCreate+c.GroupUpdate == 0 {
		s += ". Slack already matches the file."
	} else {
		s += "."
	}
	return s
}
