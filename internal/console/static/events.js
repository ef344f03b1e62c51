// connhub console: the Events page, live. The page lists the newest events;
// this adds the ones that come after, newest on top, as the hub streams
// them (an EventSource on the page's data-stream URL, which goes on after
// the newest event shown, and after a lost connection from the last one
// added: none is missed or shown twice). Rows are built with text nodes
// only: an event's fields are Slack's data, never markup. Without this
// script the page still works: reload it for newer events.
(function () {
  "use strict";
  var live = document.getElementById("events-live");
  var body = document.getElementById("events-body");
  if (!live || !body || !window.EventSource || !live.dataset.stream) return;
  var names = {};
  try { names = JSON.parse(live.dataset.names || "{}"); } catch (e) { names = {}; }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function cell(child) {
    var td = el("td");
    if (child) td.appendChild(child);
    return td;
  }
  // The server's format: 2006-01-02 15:04:05 UTC.
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }
  function row(ev) {
    var tr = el("tr");
    tr.id = "event-" + ev.id;
    tr.className = "new";
    tr.appendChild(cell(document.createTextNode(when(ev.received_at))));
    tr.appendChild(cell(el("code", ev.type)));
    tr.appendChild(cell(document.createTextNode(ev.team_id || "")));
    var status = cell(el("span", ev.status, "status " + ev.status));
    if (ev.error) {
      status.appendChild(document.createTextNode(" "));
      status.appendChild(el("span", ev.error, "reason"));
    }
    tr.appendChild(status);
    var ins = cell();
    (ev.instance_ids || []).forEach(function (id) {
      var a = el("a", names[id] || id);
      a.href = "/instances/" + encodeURIComponent(id);
      ins.appendChild(a);
      ins.appendChild(document.createTextNode(" "));
    });
    if (!ins.firstChild) ins.textContent = "none";
    tr.appendChild(ins);
    var details = el("details");
    var summary = el("summary");
    summary.appendChild(el("code", ev.event_id));
    details.appendChild(summary);
    details.appendChild(el("pre", JSON.stringify(ev.envelope, null, 2)));
    tr.appendChild(cell(details));
    return tr;
  }

  var source = new EventSource(live.dataset.stream);
  source.addEventListener("open", function () {
    live.textContent = "Newest first. Live: new events appear at the top as they come.";
    live.dataset.state = "live";
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      live.textContent = "Live updates stopped; reload the page.";
      live.dataset.state = "stopped";
    } else {
      live.textContent = "Live updates lost their connection; connecting again…";
      live.dataset.state = "connecting";
    }
  });
  source.addEventListener("slack_event", function (m) {
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (!ev.id || document.getElementById("event-" + ev.id)) return;
    var none = document.getElementById("no-events");
    if (none) none.remove();
    body.insertBefore(row(ev), body.firstChild);
  });
})();
