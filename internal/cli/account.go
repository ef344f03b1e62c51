package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

// clientCmd is a command that calls the hub: run gets a connected client.
func clientCmd(io streams, cf *clientFlags, use, short string, args cobra.PositionalArgs, run func(ctx context.Context, h *hubClient, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, a []string) error {
		h, err := cf.connect(io)
		if err != nil {
			return err
		}
		return h.fail(run(cmd.Context(), h, a))
	}}
}

func newOrgsCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "orgs", Short: "Make and list the hub's organizations (hub operators)"}
	cf.register(cmd.PersistentFlags())
	var adminEmail, adminName string
	create := clientCmd(io, &cf, "create NAME --admin-email EMAIL", "Make an organization with its first admin (prints the admin's secrets once)", exactArgs("NAME"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if adminEmail == "" {
				return usageError{errors.New("--admin-email is required: the first admin's email")}
			}
			o, err := h.CreateOrg(ctx, args[0], adminEmail, adminName)
			if err != nil || !h.human() {
				return orEmit(h, o, err)
			}
			fmt.Fprintf(h.io.stdout, "connhub: made organization %s with its admin %s (the secrets are shown once):\n", nameID(o.Organization.Name, o.Organization.ID), o.Admin.Email)
			return printFields(h.io.stdout, []field{{"API token", o.Secrets.APIToken}, {"Open Connectors", o.Secrets.OpenConnectors}})
		})
	create.Flags().StringVar(&adminEmail, "admin-email", "", "the first admin's email (required)")
	create.Flags().StringVar(&adminName, "admin-name", "", "the first admin's name")
	list := clientCmd(io, &cf, "list", "List the hub's organizations", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		orgs, err := collectPages(ctx, h.ListOrgs)
		if err != nil || !h.human() {
			return orEmit(h, orgs, err)
		}
		tw := newTable(h.io.stdout)
		row(tw, "ID", "NAME", "CREATED")
		for _, o := range orgs {
			row(tw, o.ID, o.Name, o.CreatedAt.UTC().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	})
	cmd.AddCommand(create, list)
	cf.registerOutputs(cmd, list)
	return cmd
}

func newUsersCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "users", Short: "Add, list, change and remove the organization's people"}
	cf.register(cmd.PersistentFlags())
	var name, role string
	create := clientCmd(io, &cf, "create EMAIL [--role admin|member]", "Add a person (prints their first API token and User secret once)", exactArgs("EMAIL"),
		func(ctx context.Context, h *hubClient, args []string) error {
			u, err := h.CreateUser(ctx, args[0], name, role)
			if err != nil || !h.human() {
				return orEmit(h, u, err)
			}
			fmt.Fprintf(h.io.stdout, "connhub: added %s (%s) as %s; their secrets are shown once:\n", u.User.Email, u.User.ID, u.User.Role)
			return printFields(h.io.stdout, []field{{"API token", u.Secrets.APIToken}, {"Open Connectors", u.Secrets.OpenConnectors}})
		})
	create.Flags().StringVar(&name, "name", "", "their name")
	create.Flags().StringVar(&role, "role", "member", "admin or member")
	list := clientCmd(io, &cf, "list", "List the organization's people", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		users, err := collectPages(ctx, h.ListUsers)
		if err != nil || !h.human() {
			return orEmit(h, users, err)
		}
		tw := newTable(h.io.stdout)
		row(tw, "ID", "EMAIL", "NAME", "ROLE", "CREATED")
		for _, u := range users {
			row(tw, u.ID, u.Email, u.Name, u.Role, u.CreatedAt.UTC().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	})
	var newName, newRole string
	update := clientCmd(io, &cf, "update ID [--name NAME] [--role admin|member]", "Rename a person or change their role", exactArgs("ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			var np, rp *string
			if newName != "" {
				np = &newName
			}
			if newRole != "" {
				rp = &newRole
			}
			if np == nil && rp == nil {
				return usageError{errors.New("say what to change: --name or --role")}
			}
			u, err := h.UpdateUser(ctx, args[0], np, rp)
			if err != nil || !h.human() {
				return orEmit(h, u, err)
			}
			fmt.Fprintf(h.io.stdout, "connhub: %s is now %s (%s)\n", u.Email, u.Role, u.Name)
			return nil
		})
	update.Flags().StringVar(&newName, "name", "", "their new name")
	update.Flags().StringVar(&newRole, "role", "", "admin or member")
	del := clientCmd(io, &cf, "delete ID", "Remove a person: their tokens stop working at once", exactArgs("ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if err := h.DeleteUser(ctx, args[0]); err != nil {
				return err
			}
			if !h.human() {
				return h.emit(map[string]any{"deleted": true, "id": args[0]})
			}
			fmt.Fprintf(h.io.stdout, "connhub: removed user %s\n", args[0])
			return nil
		})
	cmd.AddCommand(create, list, update, del)
	cf.registerOutputs(cmd, list)
	roles := cobra.FixedCompletions([]cobra.Completion{"admin", "member"}, cobra.ShellCompDirectiveNoFileComp)
	create.RegisterFlagCompletionFunc("role", roles)
	update.RegisterFlagCompletionFunc("role", roles)
	return cmd
}

func newTokensCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "tokens", Short: "Make, list and revoke API tokens (your own; an admin's: the organization's)"}
	cf.register(cmd.PersistentFlags())
	var scopes []string
	var expires string
	create := clientCmd(io, &cf, "create NAME [--scopes a,b] [--expires-in 720h]", "Make an API token of yours (printed once)", exactArgs("NAME"),
		func(ctx context.Context, h *hubClient, args []string) error {
			t, err := h.CreateToken(ctx, args[0], scopes, expires)
			if err != nil || !h.human() {
				return orEmit(h, t, err)
			}
			fmt.Fprintf(h.io.stdout, "connhub: made token %s (%s); it is shown once:\n%s\n", t.Name, t.ID, t.Token)
			return nil
		})
	create.Flags().StringSliceVar(&scopes, "scopes", nil, "what it may do, comma-separated (instances:read, instances:write, proxy, records:read, syncs:write, secrets:reveal, apps:write, users:write, audit:read); none: all its user may")
	create.Flags().StringVar(&expires, "expires-in", "", "how long it lives, as a Go duration (720h); none: until revoked")
	list := clientCmd(io, &cf, "list", "List API tokens (never their values)", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		tokens, err := collectPages(ctx, h.ListTokens)
		if err != nil || !h.human() {
			return orEmit(h, tokens, err)
		}
		tw := newTable(h.io.stdout)
		row(tw, "ID", "NAME", "USER", "HINT", "SCOPES", "LAST USED", "EXPIRES", "STATE")
		for _, t := range tokens {
			state := "live"
			if t.RevokedAt != nil {
				state = "revoked"
			} else if t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()) {
				state = "expired"
			}
			row(tw, t.ID, t.Name, t.UserID, t.Hint, orAll(t.Scopes), shortTime(t.LastUsedAt), shortTime(t.ExpiresAt), state)
		}
		return tw.Flush()
	})
	revoke := clientCmd(io, &cf, "revoke ID", "Revoke an API token: it stops working at its next use", exactArgs("ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if err := h.RevokeToken(ctx, args[0]); err != nil {
				return err
			}
			if !h.human() {
				return h.emit(map[string]any{"revoked": true, "id": args[0]})
			}
			fmt.Fprintf(h.io.stdout, "connhub: revoked token %s\n", args[0])
			return nil
		})
	cmd.AddCommand(create, list, revoke)
	cf.registerOutputs(cmd, list)
	return cmd
}

func newAuditCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "audit", Short: "Read and verify the organization's audit log (admins)"}
	cf.register(cmd.PersistentFlags())
	var f connhub.AuditFilter
	var since, until string
	var limit int
	filter := func(c *cobra.Command) {
		c.Flags().StringVar(&f.Actor, "actor", "", "a user's or instance's ID")
		c.Flags().StringVar(&f.Action, "action", "", "an action, or a prefix ending in a dot (credential.)")
		c.Flags().StringVar(&f.Target, "target", "", "a target's ID")
		c.Flags().StringVar(&since, "since", "", "at or after: RFC 3339, or a Go duration back from now (24h)")
		c.Flags().StringVar(&until, "until", "", "before: RFC 3339, or a Go duration back from now")
	}
	parse := func() error {
		var err error
		if f.Since, err = parseWhen("--since", since); err != nil {
			return err
		}
		f.Until, err = parseWhen("--until", until)
		return err
	}
	list := clientCmd(io, &cf, "list", "List events, newest first", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		if err := parse(); err != nil {
			return err
		}
		page, err := h.ListAudit(ctx, f, connhub.ListOptions{Limit: limit})
		if err != nil || !h.human() {
			return orEmit(h, page.Events, err)
		}
		tw := newTable(h.io.stdout)
		row(tw, "SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "SOURCE")
		for _, e := range page.Events {
			row(tw, fmt.Sprint(e.Seq), e.At.UTC().Format("2006-01-02 15:04:05"), e.ActorKind+":"+e.ActorID, e.Action, e.TargetID, e.Outcome, e.SourceIP)
		}
		return tw.Flush()
	})
	filter(list)
	list.Flags().IntVar(&limit, "limit", 50, "how many events (at most 1000)")
	export := clientCmd(io, &cf, "export", "Write every event that matches as JSON lines, newest first", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		if err := parse(); err != nil {
			return err
		}
		for e, err := range h.AllAudit(ctx, f) {
			if err != nil {
				return err
			}
			if err := emitLine(h.io.stdout, e); err != nil {
				return err
			}
		}
		return nil
	})
	filter(export)
	export.Annotations = map[string]string{annotationOutput: "none"} // JSON lines, as they come
	verify := clientCmd(io, &cf, "verify", "Check the audit log's hash chain; exits 1 at the first broken link", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		v, err := h.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if !h.human() {
			if err := h.emit(v); err != nil {
				return err
			}
		} else if v.OK {
			fmt.Fprintf(h.io.stdout, "connhub: the audit log holds: %d events checked (%d from before the chain began); head %s\n", v.Events, v.Unchained, v.Head)
		}
		if !v.OK {
			return fmt.Errorf("the audit log is broken at event %d: %s", v.BrokenAt, v.Reason)
		}
		return nil
	})
	cmd.AddCommand(list, export, verify)
	cf.registerOutputs(cmd, list)
	return cmd
}

// collectPages reads every page of a list.
func collectPages[T any](ctx context.Context, list func(context.Context, connhub.ListOptions) ([]T, string, error)) ([]T, error) {
	out := []T{}
	o := connhub.ListOptions{Limit: 1000}
	for {
		page, next, err := list(ctx, o)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		o.Cursor = next
	}
}

// orEmit prints v as -o says unless err.
func orEmit(h *hubClient, v any, err error) error {
	if err != nil {
		return err
	}
	return h.emit(v)
}

func orAll(scopes []string) string {
	if len(scopes) == 0 {
		return "all"
	}
	return strings.Join(scopes, ",")
}

func shortTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// parseWhen reads a time: RFC 3339, or a duration back from now.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("%s %q: want a time such as 2026-12-01T00:00:00Z, or a duration back from now such as 24h", flag, s)}
	}
	return t, nil
}
