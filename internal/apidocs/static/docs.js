// connhub's glue for Swagger UI: render /openapi.json, prefill the instance
// named by ?instance=, and hand a token from the fragment (#token=…) to the
// Authorize dialog. The fragment never reaches the server; it is removed from
// the address bar and the history as soon as it is read.
(function () {
  "use strict";

  var instance = new URLSearchParams(location.search).get("instance") || "";
  var token = "";
  var openOp = "";
  var fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  fragment.forEach(function (value, key) {
    if (key === "token") token = value;
    else if (key === "op") openOp = value;
    else if (value === "" && /^[A-Za-z0-9_-]+$/.test(key)) openOp = key; // #ping-instance
  });
  if (token) {
    history.replaceState(null, "", location.pathname + location.search + (openOp ? "#" + openOp : ""));
  }
  if (!openOp && instance) openOp = "ping-instance";

  // The security schemes of httpapi.New: which one a token belongs to.
  function schemeOf(t) {
    if (t.indexOf("chi_") === 0) return "instanceToken";
    if (t.indexOf("chub_") === 0) return "apiToken";
    return "openConnectors"; // User …, Organization …[, Element …]
  }

  function prefill(spec) {
    if (!instance) return;
    Object.keys(spec.paths || {}).forEach(function (p) {
      if (p.indexOf("/v1/instances/{id}") !== 0) return;
      var item = spec.paths[p];
      Object.keys(item).forEach(function (m) {
        (item[m].parameters || []).forEach(function (param) {
          if (param.in === "path" && param.name === "id") param.example = instance;
        });
      });
    });
  }

  function tagOf(spec, id) {
    var found = "";
    Object.keys(spec.paths || {}).forEach(function (p) {
      var item = spec.paths[p];
      Object.keys(item).forEach(function (m) {
        var op = item[m];
        if (op && op.operationId === id) found = (op.tags && op.tags[0]) || "default";
      });
    });
    return found;
  }

  function fail(msg) {
    var el = document.getElementById("swagger-ui");
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "connhub-docs-error";
    p.setAttribute("role", "alert");
    p.textContent = msg;
    el.appendChild(p);
  }

  fetch("/openapi.json", { credentials: "omit" })
    .then(function (r) {
      if (!r.ok) throw new Error("/openapi.json answered " + r.status);
      return r.json();
    })
    .then(function (spec) {
      prefill(spec);
      var ui = window.SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: false,
        // For one instance, only its operations are open: the instance's
        // own and its Slack calls; the rest stay one click away.
        docExpansion: instance ? "none" : "list",
        defaultModelsExpandDepth: -1,
        displayOperationId: true,
        displayRequestDuration: true,
        persistAuthorization: false,
        tryItOutEnabled: false,
        validatorUrl: null,
        onComplete: function () {
          if (token) ui.preauthorizeApiKey(schemeOf(token), token);
          if (instance) {
            ["Instances", "Slack"].forEach(function (t) {
              ui.layoutActions.show(["operations-tag", t], true);
            });
          }
          var tag = openOp && tagOf(spec, openOp);
          if (tag) {
            ui.layoutActions.show(["operations-tag", tag], true);
            ui.layoutActions.show(["operations", tag, openOp], true);
            setTimeout(function () {
              var el = document.getElementById("operations-" + tag + "-" + openOp);
              if (el) el.scrollIntoView();
            }, 0);
          }
        },
      });
      window.connhubDocs = ui; // for the browser tests and the curious
    })
    .catch(function (err) {
      fail("The API reference could not load: " + err.message + ". The document is at /openapi.json.");
    });
})();
