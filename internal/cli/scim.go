package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

func newSCIMCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "scim",
		Short: "Provision Slack users and groups over SCIM through the hub (admins; an instance token for its own instance)",
		Long: "The same SCIM calls an identity provider makes through the hub, from a terminal: paced under\n" +
			"Slack's org-wide SCIM limits, with the instance's admin token (refreshed as needed), each call in\n" +
			"the audit log. The instance needs Business+ or Enterprise Grid and the admin user scope; `connhub\n" +
			"instances ping ID` says whether it is ready. DELETE deactivates at Slack: the account stays.",
	}
	cf.register(cmd.PersistentFlags())
	users := &cobra.Command{Use: "users", Short: "List, find, make, change, deactivate and reactivate users"}
	groups := &cobra.Command{Use: "groups", Short: "List, make and change user groups and their members"}
	cmd.AddCommand(users, groups)

	var lo connhub.SCIMListOptions
	var all bool
	listUsers := clientCmd(io, &cf, "list INSTANCE [--filter F]", "List users, or find them with a SCIM filter", exactArgs("INSTANCE"),
		func(ctx context.Context, h *hubClient, args []string) error {
			us, err := scimPages(lo, all, func(o connhub.SCIMListOptions) (connhub.SCIMList[connhub.SCIMUser], error) {
				return h.SCIMUsers(ctx, args[0], o)
			})
			if err != nil || !h.human() {
				return orEmit(h, us, err)
			}
			tw := newTable(io.stdout)
			row(tw, "ID", "USERNAME", "NAME", "EMAIL", "TITLE", "ACTIVE")
			for _, u := range us {
				row(tw, u.ID, u.UserName, u.DisplayName, u.PrimaryEmail(), u.Title, fmt.Sprint(u.Active))
			}
			return tw.Flush()
		})
	scimListFlags(listUsers, &lo, &all, `userName eq "ada"`)

	getUser := clientCmd(io, &cf, "get INSTANCE USER_ID", "Show a user as Slack's SCIM API has it", exactArgs("INSTANCE", "USER_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			var u map[string]any
			if err := h.SCIM(ctx, args[0], http.MethodGet, "Users/"+args[1], nil, nil, &u); err != nil {
				return err
			}
			return h.emit(u)
		})

	var nu struct{ userName, email, given, family, display, title string }
	createUser := clientCmd(io, &cf, "create INSTANCE --user-name NAME --email EMAIL", "Make a user at Slack", exactArgs("INSTANCE"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if nu.userName == "" || nu.email == "" {
				return usageError{errors.New("--user-name and --email are required")}
			}
			body := map[string]any{"schemas": []string{connhub.SCIMUserSchema}, "userName": nu.userName,
				"emails": []connhub.SCIMValue{{Value: nu.email, Primary: true}}}
			if nu.given != "" || nu.family != "" {
				body["name"] = map[string]string{"givenName": nu.given, "familyName": nu.family}
			}
			for k, v := range map[string]string{"displayName": nu.display, "title": nu.title} {
				if v != "" {
					body[k] = v
				}
			}
			var u connhub.SCIMUser
			if err := h.SCIM(ctx, args[0], http.MethodPost, "Users", nil, body, &u); err != nil || !h.human() {
				return orEmit(h, u, err)
			}
			fmt.Fprintf(io.stdout, "connhub: made %s at Slack: %s\n", u.UserName, u.ID)
			return nil
		})
	f := createUser.Flags()
	f.StringVar(&nu.userName, "user-name", "", "the Slack username (required)")
	f.StringVar(&nu.email, "email", "", "the primary email (required)")
	f.StringVar(&nu.given, "given-name", "", "the given name")
	f.StringVar(&nu.family, "family-name", "", "the family name")
	f.StringVar(&nu.display, "display-name", "", "the display name")
	f.StringVar(&nu.title, "title", "", "the title")

	var sets []string
	updateUser := clientCmd(io, &cf, "update INSTANCE USER_ID --set ATTRIBUTE=VALUE…", "Change a user's attributes (a SCIM PATCH, replace)", exactArgs("INSTANCE", "USER_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if len(sets) == 0 {
				return usageError{errors.New(`--set is required: an attribute and its new value, such as --set title="Staff Engineer" or --set name.givenName=Ada`)}
			}
			ops := make([]connhub.SCIMOperation, 0, len(sets))
			for _, s := range sets {
				attr, value, ok := strings.Cut(s, "=")
				if !ok || attr == "" {
					return usageError{fmt.Errorf("--set %q: want ATTRIBUTE=VALUE", s)}
				}
				ops = append(ops, connhub.SCIMOperation{Op: "replace", Path: attr, Value: settingValue(value)})
			}
			return scimSetUser(ctx, h, args, io, connhub.SCIMPatch(ops...), "changed")
		})
	updateUser.Flags().StringArrayVar(&sets, "set", nil, "ATTRIBUTE=VALUE to replace (repeat for more; JSON values such as true are taken as JSON)")

	deactivate := clientCmd(io, &cf, "deactivate INSTANCE USER_ID", "Deactivate a user at Slack (SCIM DELETE: the account stays, inactive)", exactArgs("INSTANCE", "USER_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if err := h.SCIM(ctx, args[0], http.MethodDelete, "Users/"+args[1], nil, nil, nil); err != nil {
				return err
			}
			if h.human() {
				fmt.Fprintf(io.stdout, "connhub: deactivated %s at Slack\n", args[1])
				return nil
			}
			return h.emit(map[string]any{"id": args[1], "active": false})
		})
	reactivate := clientCmd(io, &cf, "reactivate INSTANCE USER_ID", "Reactivate a deactivated user", exactArgs("INSTANCE", "USER_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			return scimSetUser(ctx, h, args, io, connhub.SCIMPatch(connhub.SCIMOperation{Op: "replace", Path: "active", Value: true}), "reactivated")
		})
	users.AddCommand(listUsers, getUser, createUser, updateUser, deactivate, reactivate)

	var glo connhub.SCIMListOptions
	var gall bool
	listGroups := clientCmd(io, &cf, "list INSTANCE [--filter F]", "List user groups", exactArgs("INSTANCE"),
		func(ctx context.Context, h *hubClient, args []string) error {
			gs, err := scimPages(glo, gall, func(o connhub.SCIMListOptions) (connhub.SCIMList[connhub.SCIMGroup], error) {
				return h.SCIMGroups(ctx, args[0], o)
			})
			if err != nil || !h.human() {
				return orEmit(h, gs, err)
			}
			tw := newTable(io.stdout)
			row(tw, "ID", "NAME", "MEMBERS")
			for _, g := range gs {
				row(tw, g.ID, g.DisplayName, fmt.Sprint(len(g.Members)))
			}
			return tw.Flush()
		})
	scimListFlags(listGroups, &glo, &gall, `displayName eq "Engineering"`)

	getGroup := clientCmd(io, &cf, "get INSTANCE GROUP_ID", "Show a group and its members", exactArgs("INSTANCE", "GROUP_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			var g map[string]any
			if err := h.SCIM(ctx, args[0], http.MethodGet, "Groups/"+args[1], nil, nil, &g); err != nil {
				return err
			}
			return h.emit(g)
		})
	var members []string
	createGroup := clientCmd(io, &cf, "create INSTANCE NAME [--member USER_ID…]", "Make a user group", exactArgs("INSTANCE", "NAME"),
		func(ctx context.Context, h *hubClient, args []string) error {
			body := map[string]any{"schemas": []string{connhub.SCIMGroupSchema}, "displayName": args[1], "members": values(members)}
			var g connhub.SCIMGroup
			if err := h.SCIM(ctx, args[0], http.MethodPost, "Groups", nil, body, &g); err != nil || !h.human() {
				return orEmit(h, g, err)
			}
			fmt.Fprintf(io.stdout, "connhub: made the group %s at Slack: %s, %d members\n", g.DisplayName, g.ID, len(g.Members))
			return nil
		})
	createGroup.Flags().StringSliceVar(&members, "member", nil, "a user ID to add (repeat, or comma-separate)")
	memberCmd := func(verb, op, short string) *cobra.Command {
		return clientCmd(io, &cf, verb+" INSTANCE GROUP_ID USER_ID…", short, minArgs("INSTANCE", "GROUP_ID", "USER_ID"),
			func(ctx context.Context, h *hubClient, args []string) error {
				var patch map[string]any
				if op == "add" {
					patch = connhub.SCIMPatch(connhub.SCIMOperation{Op: "add", Path: "members", Value: values(args[2:])})
				} else {
					ops := make([]connhub.SCIMOperation, 0, len(args)-2)
					for _, id := range args[2:] {
						ops = append(ops, connhub.SCIMOperation{Op: "remove", Path: fmt.Sprintf("members[value eq %q]", id)})
					}
					patch = connhub.SCIMPatch(ops...)
				}
				var g connhub.SCIMGroup
				if err := h.SCIM(ctx, args[0], http.MethodPatch, "Groups/"+args[1], nil, patch, &g); err != nil || !h.human() {
					return orEmit(h, g, err)
				}
				fmt.Fprintf(io.stdout, "connhub: the group %s now has %d members\n", nameID(g.DisplayName, args[1]), len(g.Members))
				return nil
			})
	}
	deleteGroup := clientCmd(io, &cf, "delete INSTANCE GROUP_ID", "Delete a user group for good", exactArgs("INSTANCE", "GROUP_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if err := h.SCIM(ctx, args[0], http.MethodDelete, "Groups/"+args[1], nil, nil, nil); err != nil {
				return err
			}
			if h.human() {
				fmt.Fprintf(io.stdout, "connhub: deleted the group %s at Slack\n", args[1])
				return nil
			}
			return h.emit(map[string]any{"id": args[1], "deleted": true})
		})
	groups.AddCommand(listGroups, getGroup, createGroup, memberCmd("add-members", "add", "Add users to a group"),
		memberCmd("remove-members", "remove", "Remove users from a group"), deleteGroup)
	return cmd
}

func scimListFlags(cmd *cobra.Command, o *connhub.SCIMListOptions, all *bool, example string) {
	f := cmd.Flags()
	f.StringVar(&o.Filter, "filter", "", "a SCIM filter, such as '"+example+"'")
	f.IntVar(&o.Count, "count", 100, "how many a page (Slack takes at most 1000)")
	f.IntVar(&o.StartIndex, "start-index", 1, "the first result, from 1")
	f.BoolVar(all, "all", false, "every page, not only the first")
}

// scimPages reads a SCIM list: one page, or with all every page from
// o.StartIndex on.
func scimPages[T any](o connhub.SCIMListOptions, all bool, page func(connhub.SCIMListOptions) (connhub.SCIMList[T], error)) ([]T, error) {
	out := []T{}
	o.StartIndex = max(o.StartIndex, 1)
	for {
		p, err := page(o)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Resources...)
		if !all || len(p.Resources) == 0 || o.StartIndex-1+len(p.Resources) >= p.TotalResults {
			return out, nil
		}
		o.StartIndex += len(p.Resources)
	}
}

// scimSetUser patches a user and says so.
func scimSetUser(ctx context.Context, h *hubClient, args []string, io streams, patch map[string]any, done string) error {
	var u connhub.SCIMUser
	if err := h.SCIM(ctx, args[0], http.MethodPatch, "Users/"+args[1], nil, patch, &u); err != nil || !h.human() {
		return orEmit(h, u, err)
	}
	fmt.Fprintf(io.stdout, "connhub: %s %s at Slack (active: %v)\n", done, nameID(u.UserName, u.ID), u.Active)
	return nil
}

func values(ids []string) []connhub.SCIMValue {
	out := make([]connhub.SCIMValue, 0, len(ids))
	for _, id := range ids {
		out = append(out, connhub.SCIMValue{Value: id})
	}
	return out
}
