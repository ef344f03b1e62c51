package cli

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
)

// tokenExchangeOptions are the flags of `connhub token exchange`.
type tokenExchangeOptions struct {
	ClientID   string
	Grid       bool
	Team       string
	Scopes     []string
	UserScopes []string
	SlackURL   string
	Port       int
	Timeout    time.Duration
	NoBrowser  bool
	outputFlags
}

// defaultExchangeUserScopes are what `token exchange` asks for when no scope
// is given: the user scope SCIM provisioning needs (seed 001, FACTS 4).
var defaultExchangeUserScopes = []string{"admin"}

func newTokenCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Get Slack tokens for an app, outside of any connector instance, or make a connhub API token",
	}
	opts := tokenExchangeOptions{}
	exchange := &cobra.Command{
		Use:   "exchange --client-id ID",
		Short: "Exchange a Slack app's client ID and secret for Slack tokens, and print them",
		Long: "Install a Slack app by OAuth and print the tokens Slack gives, for tools that want a Slack token\n" +
			"pasted in (a SCIM provisioning connection, for one). This is the one connhub command whose\n" +
			"purpose is to print Slack tokens: the bot and user access tokens, their refresh tokens and\n" +
			"expiry. Treat its output as the secret it is.\n\n" +
			"It listens on http://127.0.0.1:PORT/callback for Slack's redirect (add that URL to the app's\n" +
			"Redirect URLs, with a fixed --port), prints the authorize URL (with PKCE and a random state it\n" +
			"checks) and opens it in a browser where it can. After you allow the app, it exchanges the code\n" +
			"at oauth.v2.access. The client secret comes from CONNHUB_SLACK_CLIENT_SECRET, or is asked for\n" +
			"on a terminal. Without --scopes and --user-scopes it asks for the user scope admin.\n\n" +
			"--grid is for an Enterprise Grid org-wide install: sign in as an Org Owner and choose the\n" +
			"organization, not a workspace, on Slack's page.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenExchange(cmd.Context(), opts, io)
		},
	}
	f := exchange.Flags()
	f.StringVar(&opts.ClientID, "client-id", "", "the app's Client ID, from its Basic Information page (required)")
	f.BoolVar(&opts.Grid, "grid", false, "an Enterprise Grid org-wide install: choose the organization at Slack")
	f.StringVar(&opts.Team, "team", "", "a workspace (T…) or org (E…) to preselect at Slack")
	f.StringSliceVar(&opts.Scopes, "scopes", nil, "bot scopes to ask for, comma-separated")
	f.StringSliceVar(&opts.UserScopes, "user-scopes", nil, "user scopes to ask for, comma-separated (default admin when no scopes are given)")
	f.StringVar(&opts.SlackURL, "slack-url", config.DefaultSlackURL, "base URL of Slack (or of a sandbox)")
	f.IntVar(&opts.Port, "port", 0, "port of the local callback server on 127.0.0.1 (0 picks a free one)")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait for Slack's redirect")
	f.BoolVar(&opts.NoBrowser, "no-browser", false, "do not open the authorize URL in a browser")
	opts.outputFlags.register(exchange, false)
	cmd.AddCommand(exchange, newTokenNewCmd(io))
	return cmd
}

// exchangeResult is what the callback got.
type exchangeResult struct {
	install slack.Install
	err     error
}

func runTokenExchange(ctx context.Context, opts tokenExchangeOptions, io streams) error {
	out, err := opts.outputFlags.resolve()
	if err != nil {
		return err
	}
	switch u, err := url.Parse(opts.SlackURL); {
	case opts.ClientID == "":
		return usageError{errors.New("--client-id is required: the Client ID on the app's Basic Information page at api.slack.com/apps")}
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return usageError{fmt.Errorf("--slack-url %q: want an absolute http(s) URL, e.g. %s", opts.SlackURL, config.DefaultSlackURL)}
	case opts.Port < 0 || opts.Port > 65535:
		return usageError{fmt.Errorf("--port %d: want 0 to 65535", opts.Port)}
	case opts.Timeout <= 0:
		return usageError{errors.New("--timeout must be positive")}
	}
	secret, err := secretInput(ctx, io, "CONNHUB_SLACK_CLIENT_SECRET", "the app's client secret")
	if err != nil {
		return err
	}
	bot, user := opts.Scopes, opts.UserScopes
	if len(bot) == 0 && len(user) == 0 {
		user = defaultExchangeUserScopes
	}

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", opts.Port))
	if err != nil {
		return fmt.Errorf("listen for Slack's redirect on 127.0.0.1:%d: %w (choose another --port)", opts.Port, err)
	}
	defer l.Close()
	redirect := fmt.Sprintf("http://%s/callback", l.Addr())
	stateBytes := make([]byte, 16)
	if _, err := rand.Read(stateBytes); err != nil {
		return err
	}
	state := hex.EncodeToString(stateBytes)
	verifier, challenge, err := slack.NewPKCE()
	if err != nil {
		return err
	}
	sc := slack.New(strings.TrimRight(opts.SlackURL, "/"), slackcall.NewStack(slackcall.StackOptions{}).Client(slackcall.InstallPolicy, 30*time.Second))
	authorize := sc.AuthorizeURL(slack.AuthorizeParams{ClientID: opts.ClientID, BotScopes: bot, UserScopes: user,
		RedirectURI: redirect, State: state, Team: opts.Team, CodeChallenge: challenge})

	results := make(chan exchangeResult, 1)
	var claimed sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			exchangePage(w, http.StatusBadRequest, false, "This redirect does not carry the state connhub sent, so it was ignored. Use the URL connhub printed.")
			return
		}
		first := false
		claimed.Do(func() { first = true })
		if !first {
			exchangePage(w, http.StatusConflict, false, "This install was already answered; return to the terminal.")
			return
		}
		var res exchangeResult
		switch e, code := q.Get("error"), q.Get("code"); {
		case e != "":
			res.err = fmt.Errorf("Slack did not install the app: %s (consent refused or failed)", e)
		case code == "":
			res.err = errors.New("Slack's redirect carried no code")
		default:
			res.install, res.err = sc.ExchangeCode(ctx, slack.ExchangeParams{ClientID: opts.ClientID, ClientSecret: secrets.Secret(secret),
				Code: code, RedirectURI: redirect, CodeVerifier: verifier})
			if res.err != nil {
				res.err = fmt.Errorf("Slack did not exchange the code (oauth.v2.access): %w", res.err)
			}
		}
		if res.err != nil {
			exchangePage(w, http.StatusBadRequest, false, res.err.Error()+". Return to the terminal.")
		} else {
			exchangePage(w, http.StatusOK, true, "Slack gave connhub the tokens. Return to the terminal; you can close this page.")
		}
		results <- res
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	defer func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()

	if opts.Grid {
		fmt.Fprintln(io.stderr, "Enterprise Grid: sign in as an Org Owner, and on Slack's page choose the organization, not a workspace.")
	}
	fmt.Fprintf(io.stderr, "Open this URL in a browser and allow the app (connhub waits up to %s for Slack's redirect to %s):\n  %s\n", opts.Timeout, redirect, authorize)
	if !opts.NoBrowser && (stdoutTerminal(io.stdout) || stdoutTerminal(io.stderr)) {
		if err := openBrowser(authorize); err != nil {
			fmt.Fprintf(io.stderr, "connhub: could not open a browser (%v); open the URL above\n", err)
		}
	}

	var res exchangeResult
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	select {
	case res = <-results:
	case <-timer.C:
		return fmt.Errorf("no redirect from Slack to %s in %s: was the app allowed? (--timeout waits longer)", redirect, opts.Timeout)
	case <-ctx.Done():
		return errors.New("interrupted")
	}
	if res.err != nil {
		return res.err
	}
	in := res.install
	if opts.Grid && !in.OrgWide {
		fmt.Fprintln(io.stderr, "connhub: --grid, but Slack installed the app into a workspace, not the organization: run again and choose the organization")
	}
	return printExchange(io, out, in)
}

// exchangedToken is one token `token exchange` prints.
type exchangedToken struct {
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	Scopes       []string   `json:"scopes"`
}

func exchanged(t slack.Token) *exchangedToken {
	if t.IsZero() {
		return nil
	}
	out := &exchangedToken{AccessToken: t.Access.Reveal(), RefreshToken: t.Refresh.Reveal(), Scopes: t.Scopes}
	if !t.ExpiresAt.IsZero() {
		out.ExpiresAt = &t.ExpiresAt
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return out
}

func printExchange(io streams, out output, in slack.Install) error {
	bot, user := exchanged(in.Bot), exchanged(in.User)
	if !out.human() {
		return out.emit(io.stdout, struct {
			AppID          string          `json:"app_id"`
			TeamID         string          `json:"team_id,omitempty"`
			TeamName       string          `json:"team_name,omitempty"`
			EnterpriseID   string          `json:"enterprise_id,omitempty"`
			EnterpriseName string          `json:"enterprise_name,omitempty"`
			OrgWide        bool            `json:"is_enterprise_install"`
			BotUserID      string          `json:"bot_user_id,omitempty"`
			AuthedUserID   string          `json:"authed_user_id,omitempty"`
			Bot            *exchangedToken `json:"bot,omitempty"`
			User           *exchangedToken `json:"user,omitempty"`
		}{in.AppID, in.TeamID, in.TeamName, in.EnterpriseID, in.EnterpriseName, in.OrgWide, in.BotUserID, in.AuthedUserID, bot, user})
	}
	where := nameID(in.TeamName, in.TeamID)
	if in.OrgWide {
		where = "the whole organization " + nameID(in.EnterpriseName, in.EnterpriseID)
	}
	fmt.Fprintf(io.stdout, "connhub: Slack installed app %s into %s. These tokens are secrets: keep them where secrets go.\n", in.AppID, where)
	fields := []field{{"Team", nameID(in.TeamName, in.TeamID)}, {"Enterprise", nameID(in.EnterpriseName, in.EnterpriseID)},
		{"Org-wide install", map[bool]string{true: "yes"}[in.OrgWide]}, {"Bot user", in.BotUserID}, {"Authed user", in.AuthedUserID}}
	for _, t := range []struct {
		name string
		tok  *exchangedToken
	}{{"Bot", bot}, {"User", user}} {
		if t.tok == nil {
			continue
		}
		expires := "does not expire"
		if t.tok.ExpiresAt != nil {
			expires = when(*t.tok.ExpiresAt)
		}
		fields = append(fields, field{t.name + " access token", t.tok.AccessToken}, field{t.name + " refresh token", t.tok.RefreshToken},
			field{t.name + " token expires", expires}, field{t.name + " scopes", join(t.tok.Scopes)})
	}
	return printFields(io.stdout, fields)
}

var exchangeTmpl = template.Must(template.New("exchange").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>connhub token exchange</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1c1d}</style></head>
<body><h1 id="result">{{if .OK}}Done{{else}}Not done{{end}}</h1><p id="message">{{.Message}}</p></body></html>
`))

func exchangePage(w http.ResponseWriter, status int, ok bool, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	exchangeTmpl.Execute(w, struct {
		OK      bool
		Message string
	}{ok, msg})
}
