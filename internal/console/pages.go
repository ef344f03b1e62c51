package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/store"
)

// ---- connectors ----

type connectorsView struct {
	Query      string
	Connectors []connector.Connector
}

func (c *Console) connectorsPage(w http.ResponseWriter, r *http.Request, req *request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	c.render(w, r, http.StatusOK, "connectors", c.view(req, "connectors", "Connectors", connectorsView{Query: q, Connectors: connector.Search(q)}))
}

type authenticateView struct {
	Connector connector.Connector
	Name      string
	Edition   string
}

// defaultEdition is the edition the form offers first.
const defaultEdition = "business_plus"

func (c *Console) authenticatePage(w http.ResponseWriter, r *http.Request, req *request) {
	cn, ok := connector.Get(r.PathValue("key"))
	if !ok {
		c.fail(w, r, req, errNoConnector)
		return
	}
	c.render(w, r, http.StatusOK, "authenticate", c.view(req, "connectors", "Authenticate "+cn.Name, authenticateView{Connector: cn, Edition: defaultEdition}))
}

// createInstance makes a pending instance and sends the browser to Slack's
// consent page; Slack sends it back to the API's OAuth callback.
func (c *Console) createInstance(w http.ResponseWriter, r *http.Request, req *request) {
	cn, ok := connector.Get(r.PathValue("key"))
	if !ok {
		c.fail(w, r, req, errNoConnector)
		return
	}
	v := authenticateView{Connector: cn, Name: strings.TrimSpace(r.PostFormValue("name")), Edition: r.PostFormValue("edition")}
	created, err := c.o.Instances.Create(r.Context(), req.p, instance.CreateInput{Connector: cn.Key, Name: v.Name, Edition: v.Edition, Tags: splitTags(r.PostFormValue("tags"))})
	if err != nil {
		status, msg, ok := problem(err)
		if !ok {
			c.internal(w, r, req, err)
			return
		}
		p := c.view(req, "connectors", "Authenticate "+cn.Name, v)
		p.Error = msg
		c.render(w, r, status, "authenticate", p)
		return
	}
	http.Redirect(w, r, created.AuthorizeURL, http.StatusSeeOther)
}

var errNoConnector = apierror.New(http.StatusNotFound, "not_found", "There is no such connector in the catalog.")

// splitTags reads a comma-separated tag list.
func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// ---- instances ----

// instancesView lists instances; Token is set on the one page that
// revealed it.
type instancesView struct {
	Instances []store.Instance
	Next      string // the cursor of the next page
	Single    bool   // one instance's page
	Token     string // the revealed instance token
}

// pageSize is how many instance cards a page shows.
const pageSize = 50

func (c *Console) instancesPage(w http.ResponseWriter, r *http.Request, req *request) {
	list, next, err := c.o.Instances.List(r.Context(), req.p, store.InstanceFilter{}, store.Page{After: r.URL.Query().Get("after"), Limit: pageSize})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, http.StatusOK, "instances", c.view(req, "instances", "Instances", instancesView{Instances: list, Next: next}))
}

func (c *Console) instancePage(w http.ResponseWriter, r *http.Request, req *request) {
	in, err := c.o.Instances.Get(r.Context(), req.p, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, http.StatusOK, "instances", c.view(req, "instances", in.Name, instancesView{Instances: []store.Instance{in}, Single: true}))
}

func instancePath(id string) string { return "/instances/" + url.PathEscape(id) }

func (c *Console) ping(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	res, err := c.o.Instances.Ping(r.Context(), req.p, id)
	back := backTo(r, id)
	if err != nil {
		if _, msg, ok := problem(err); ok {
			c.flashAndGo(w, r, req, false, "Ping failed: "+msg, back)
			return
		}
		c.internal(w, r, req, err)
		return
	}
	msg := fmt.Sprintf("Ping OK: %s (%s) answered in %d ms as %s.", res.Team, res.TeamID, res.Latency.Milliseconds(), res.User)
	if len(res.MissingBotScopes)+len(res.MissingUserScopes) > 0 {
		msg += " Missing scopes for this edition: " + strings.Join(append(res.MissingBotScopes, res.MissingUserScopes...), ", ") + "."
	}
	c.flashAndGo(w, r, req, true, msg, back)
}

// backTo is where an instance action returns: the list, or the instance's
// page, as the form says.
func backTo(r *http.Request, id string) string {
	if r.PostFormValue("from") == "list" {
		return "/instances#instance-" + id
	}
	return instancePath(id)
}

// viewToken shows the instance token, once, in answer to a POST: it is never
// in a URL, and the page is not cached.
func (c *Console) viewToken(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	tok, err := c.o.Instances.Token(r.Context(), req.p, id)
	if err != nil {
		c.actionFailed(w, r, req, err, backTo(r, id))
		return
	}
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, http.StatusOK, "instances", c.view(req, "instances", in.Name, instancesView{Instances: []store.Instance{in}, Single: true, Token: tok.Reveal()}))
}

type editView struct {
	Instance store.Instance
	Name     string
	Tags     string
}

func (c *Console) editPage(w http.ResponseWriter, r *http.Request, req *request) {
	in, err := c.o.Instances.Get(r.Context(), req.p, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, http.StatusOK, "edit", c.view(req, "instances", "Edit "+in.Name, editView{Instance: in, Name: in.Name, Tags: strings.Join(in.Tags, ", ")}))
}

// update changes the name and tags; the tokens stay as they are.
func (c *Console) update(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	name, tagText := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("tags")
	tags := splitTags(tagText)
	if tags == nil {
		tags = []string{}
	}
	in, err := c.o.Instances.Update(r.Context(), req.p, id, instance.Patch{Name: &name, Tags: &tags})
	if err != nil {
		status, msg, ok := problem(err)
		if !ok {
			c.internal(w, r, req, err)
			return
		}
		cur, gerr := c.o.Instances.Get(r.Context(), req.p, id)
		if gerr != nil {
			c.fail(w, r, req, gerr)
			return
		}
		p := c.view(req, "instances", "Edit "+cur.Name, editView{Instance: cur, Name: name, Tags: tagText})
		p.Error = msg
		c.render(w, r, status, "edit", p)
		return
	}
	c.flashAndGo(w, r, req, true, "Updated "+in.Name+"; it was not re-authenticated.", instancePath(id))
}

// reauthenticate sends the browser to Slack's consent page for an existing
// instance, which keeps its ID and instance token.
func (c *Console) reauthenticate(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	created, err := c.o.Instances.Reauthenticate(r.Context(), req.p, id, "")
	if err != nil {
		c.actionFailed(w, r, req, err, instancePath(id))
		return
	}
	http.Redirect(w, r, created.AuthorizeURL, http.StatusSeeOther)
}

type deleteView struct {
	Instance store.Instance
	// Shared are its Slack tokens that other instances hold too.
	Shared []instance.Shared
}

func (c *Console) deletePage(w http.ResponseWriter, r *http.Request, req *request) {
	in, err := c.o.Instances.Get(r.Context(), req.p, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	v := deleteView{Instance: in}
	if v.Shared, err = c.o.Instances.SharedTokens(r.Context(), req.p, in.ID); err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, http.StatusOK, "delete", c.view(req, "instances", "Delete "+in.Name, v))
}

// deletedMessage says what a delete did at Slack.
func deletedMessage(in store.Instance, d instance.Deletion) string {
	msg := fmt.Sprintf("Deleted %s (%s): its instance token no longer works.", in.Name, in.ID)
	if len(d.Revoked) > 0 {
		msg += " Revoked at Slack: its " + strings.Join(d.Revoked, " and ") + " token."
	}
	for _, k := range d.Kept {
		msg += fmt.Sprintf(" Its %s token stays valid at Slack: %s hold it too.", k.Kind, strings.Join(k.SharedWith, ", "))
	}
	if len(d.Affected) > 0 {
		msg += " These instances lost their access: " + strings.Join(d.Affected, ", ") + "."
	}
	return msg
}

// delete revokes the instance's Slack tokens and deletes it. If Slack cannot
// revoke them the confirmation page comes back with the reason and the
// choice to delete anyway.
func (c *Console) delete(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	d, err := c.o.Instances.Delete(r.Context(), req.p, id, instance.DeleteOptions{Force: r.PostFormValue("force") == "on", RevokeShared: r.PostFormValue("revoke_shared") == "on"})
	if err != nil {
		status, msg, ok := problem(err)
		if !ok {
			c.internal(w, r, req, err)
			return
		}
		p := c.view(req, "instances", "Delete "+in.Name, deleteView{Instance: in})
		p.Error = msg
		c.render(w, r, status, "delete", p)
		return
	}
	c.flashAndGo(w, r, req, true, deletedMessage(in, d), "/instances")
}

// ---- credentials ----

type credentialsView struct {
	Instance store.Instance
	BaseURL  string
	Revealed bool
	Bearer   string
}

func (c *Console) credentialsPage(w http.ResponseWriter, r *http.Request, req *request) {
	in, err := c.o.Instances.Get(r.Context(), req.p, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, http.StatusOK, "credentials", c.view(req, "instances", "Credentials of "+in.Name, credentialsView{Instance: in, BaseURL: c.baseURL(r)}))
}

func (c *Console) revealCredentials(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	cr, err := c.o.Instances.Credentials(r.Context(), req.p, id)
	if err != nil {
		c.actionFailed(w, r, req, err, instancePath(id)+"/credentials")
		return
	}
	c.render(w, r, http.StatusOK, "credentials", c.view(req, "instances", "Credentials of "+in.Name, credentialsView{Instance: in, BaseURL: c.baseURL(r),
		Revealed: true, Bearer: "Authorization: " + cr.Bearer.Reveal()}))
}

// baseURL is the hub's public URL, or the one the browser used.
func (c *Console) baseURL(r *http.Request) string {
	if c.o.BaseURL != "" {
		return c.o.BaseURL
	}
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
