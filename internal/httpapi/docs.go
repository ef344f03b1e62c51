package httpapi

import (
	"html/template"

	"github.com/danielgtaylor/huma/v2"

	"net/http"
	"sort"
	"strings"
)

// docsPage lists the API's operations from the generated OpenAPI document,
// as plain HTML that works offline and without JavaScript. The console's API
// reference (with Try it out) replaces it; until then the callback's "Test in
// the API docs" link lands here.
func (a *API) docsPage(w http.ResponseWriter, r *http.Request) {
	type op struct{ Method, Path, ID, Summary, Description, Tag string }
	var ops []op
	for path, item := range a.huma.OpenAPI().Paths {
		for _, m := range []struct {
			method string
			o      *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"PATCH", item.Patch}, {"PUT", item.Put}, {"DELETE", item.Delete}} {
			if m.o == nil {
				continue
			}
			tag := ""
			if len(m.o.Tags) > 0 {
				tag = m.o.Tags[0]
			}
			ops = append(ops, op{m.method, path, m.o.OperationID, m.o.Summary, m.o.Description, tag})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Tag != ops[j].Tag {
			return ops[i].Tag < ops[j].Tag
		}
		return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	docsTmpl.Execute(w, ops)
}

var docsTmpl = template.Must(template.New("docs").Funcs(template.FuncMap{"lower": strings.ToLower}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>connhub API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1c1d}
code{background:#f4ede4;padding:.1rem .3rem;border-radius:3px}h2{margin-top:2rem}section{margin:1rem 0;padding:.5rem 1rem;border:1px solid #ddd;border-radius:6px}</style></head>
<body><h1>connhub API</h1>
<p>The machine-readable description is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Authenticate with
<code>Authorization: Bearer &lt;API token or instance token&gt;</code> or <code>Authorization: User …, Organization …[, Element …]</code>.</p>
{{range .}}<section id="{{.ID}}"><h3><code>{{.Method}} {{.Path}}</code> {{.Summary}}</h3>{{if .Description}}<p>{{.Description}}</p>{{end}}<p><small>{{.Tag}} · operation <code>{{.ID}}</code></small></p></section>
{{end}}</body></html>
`))
