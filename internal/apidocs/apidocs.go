package apidocs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// swaggerUIVersion is the vendored swagger-ui-dist (swaggerui/README.md).
const swaggerUIVersion = "5.35.0"

//go:embed swaggerui/swagger-ui-bundle.js swaggerui/swagger-ui.css swaggerui/LICENSE swaggerui/NOTICE swaggerui/swagger-ui-bundle.js.LICENSE.txt
var vendored embed.FS

//go:embed static/docs.js static/docs.css
var static embed.FS

// asset is a file served under /docs/assets/.
type asset struct {
	body        []byte
	contentType string
	hash        string // of body: the ?v= of its URL
}

// Handler serves GET /docs and GET /docs/assets/{name}. doc is the API's
// OpenAPI document, read at each request for the page's no-JavaScript list.
type Handler struct {
	doc    *huma.OpenAPI
	assets map[string]asset
}

// New builds the handler; it panics if an embedded file is missing, which a
// build of this package cannot let happen.
func New(doc *huma.OpenAPI) *Handler {
	h := &Handler{doc: doc, assets: map[string]asset{}}
	for _, src := range []struct {
		fsys fs.FS
		dir  string
	}{{vendored, "swaggerui"}, {static, "static"}} {
		entries, err := fs.ReadDir(src.fsys, src.dir)
		if err != nil {
			panic("apidocs: " + err.Error())
		}
		for _, e := range entries {
			b, err := fs.ReadFile(src.fsys, path.Join(src.dir, e.Name()))
			if err != nil {
				panic("apidocs: " + err.Error())
			}
			sum := sha256.Sum256(b)
			h.assets[e.Name()] = asset{body: b, contentType: contentType(e.Name()), hash: hex.EncodeToString(sum[:6])}
		}
	}
	return h
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// Register mounts the handler's routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs", h.page)
	mux.HandleFunc("GET /docs/assets/{name}", h.asset)
}

// IsPath reports whether the handler serves p: paths that need no
// credentials.
func IsPath(p string) bool { return p == "/docs" || strings.HasPrefix(p, "/docs/assets/") }

// csp allows the page its own scripts and styles (Swagger UI sets style
// attributes, hence 'unsafe-inline' for styles only), data: images (its
// icons), and requests to this hub only: Try it out calls the API here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	// The page links every asset with ?v=<hash of its content>: a URL
	// names one content forever.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+a.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// operation is one line of the no-JavaScript list.
type operation struct{ Method, Path, ID, Summary, Description, Tag string }

func (h *Handler) operations() []operation {
	var ops []operation
	for p, item := range h.doc.Paths {
		for _, m := range []struct {
			method string
			o      *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete}} {
			if m.o == nil {
				continue
			}
			tag := ""
			if len(m.o.Tags) > 0 {
				tag = m.o.Tags[0]
			}
			ops = append(ops, operation{m.method, p, m.o.OperationID, m.o.Summary, m.o.Description, tag})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Tag != ops[j].Tag {
			return ops[i].Tag < ops[j].Tag
		}
		return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method
	})
	return ops
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Operations []operation
		Asset      func(string) string
		Version    string
	}{h.operations(), h.assetURL, swaggerUIVersion}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		http.Error(w, "apidocs: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", csp)
	w.Write(buf.Bytes())
}

func (h *Handler) assetURL(name string) string {
	return "/docs/assets/" + name + "?v=" + h.assets[name].hash
}

var pageTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>connhub API reference</title>
<link rel="stylesheet" href="{{call .Asset "swagger-ui.css"}}">
<link rel="stylesheet" href="{{call .Asset "docs.css"}}">
</head><body>
<header class="connhub-docs-header"><h1>connhub API reference</h1>
<p>The OpenAPI 3.1 document is <a href="/openapi.json">/openapi.json</a>. Authenticate with
<code>Authorization: Bearer &lt;API token (chub_…) or instance token (chi_…)&gt;</code> or
<code>Authorization: User …, Organization …[, Element …]</code>: the Authorize button takes either.</p></header>
<main id="swagger-ui" aria-label="Operations"></main>
<noscript><div class="connhub-noscript">
{{range .Operations}}<section id="{{.ID}}"><h3><code>{{.Method}} {{.Path}}</code> {{.Summary}}</h3>{{if .Description}}<p>{{.Description}}</p>{{end}}<p><small>{{.Tag}} · operation <code>{{.ID}}</code></small></p></section>
{{end}}</div></noscript>
<footer class="connhub-docs-footer"><small>Rendered by Swagger UI {{.Version}} (Apache-2.0), embedded in connhub.</small></footer>
<script src="{{call .Asset "swagger-ui-bundle.js"}}"></script>
<script src="{{call .Asset "docs.js"}}"></script>
</body></html>
`))
