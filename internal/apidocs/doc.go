// Package apidocs serves connhub's API reference: GET /docs renders the
// OpenAPI document at /openapi.json with Swagger UI, vendored under
// swaggerui/ and embedded in the binary (the hub runs offline: no CDN), and
// GET /docs/assets/{name} serves Swagger UI's files and connhub's few lines
// of glue (docs.js, docs.css) with year-long cache headers, their URLs
// carrying a hash of their content.
//
// The page takes, all optional:
//
//	/docs?instance=ID            the instance's ID prefilled in every {id} parameter; its
//	                             operations (Instances, Slack) shown, the others folded; ping opened
//	/docs#token=chi_…            the token handed to the Authorize dialog (preauthorised)
//	/docs#ping-instance          that operation opened
//
// The token travels in the fragment, which browsers never send to a server,
// so it is neither in connhub's logs nor in a Referer; docs.js removes it
// from the address bar and the history once read. The page itself embeds no
// secret. Without JavaScript, a plain list of the operations stays readable
// inside <noscript>.
package apidocs
