// agentos dashboard: live updates over server-sent events. Every value is
// written with textContent; nothing received is parsed as HTML except the
// dashboard's own pages, fetched again to refresh their live regions.
(function () {
  'use strict';

  var body = document.body;
  var base = '';
  var nav = document.querySelector('a.brand');
  if (nav) { base = nav.getAttribute('href').replace(/\/$/, ''); }
  var status = document.getElementById('live-status');
  var url = body.getAttribute('data-events');
  if (!url || !window.EventSource) { return; }

  function setStatus(on, text) {
    if (!status) { return; }
    status.textContent = text;
    status.className = on ? 'live on' : 'live';
  }

  // Refresh: fetch this page again and swap the regions marked data-live
  // that listen to the event's type. One fetch at a time; events arriving
  // meanwhile cause one more.
  var wanted = {};
  var inflight = false;

  function regions(types) {
    var out = [];
    var all = document.querySelectorAll('[data-live]');
    for (var i = 0; i < all.length; i++) {
      var on = all[i].getAttribute('data-live').split(' ');
      for (var j = 0; j < on.length; j++) {
        if (types[on[j]]) { out.push(all[i]); break; }
      }
    }
    return out;
  }

  function refresh() {
    var types = wanted;
    wanted = {};
    var targets = regions(types);
    if (targets.length === 0) { return; }
    inflight = true;
    fetch(window.location.pathname + window.location.search, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        targets.forEach(function (el) {
          if (el.contains(document.activeElement) && document.activeElement !== document.body) {
            // Do not pull a form from under the user's cursor; try later.
            el.getAttribute('data-live').split(' ').forEach(function (t) { wanted[t] = true; });
            return;
          }
          var next = doc.getElementById(el.id);
          if (next) { el.replaceWith(document.importNode(next, true)); }
        });
      })
      .catch(function () { /* the next event retries */ })
      .then(function () {
        inflight = false;
        if (Object.keys(wanted).length > 0) { window.setTimeout(refresh, 500); }
      });
  }

  function schedule(type) {
    wanted[type] = true;
    if (!inflight) { window.setTimeout(function () { if (!inflight) { refresh(); } }, 150); }
  }

  // The overview's feed: each decision is prepended as it arrives.
  function feed(d) {
    var tbody = document.getElementById('feed');
    var tpl = document.getElementById('feed-row');
    if (!tbody || !tpl) { return; }
    var row = document.importNode(tpl.content, true).firstElementChild;
    row.querySelectorAll('[data-f]').forEach(function (el) {
      var f = el.getAttribute('data-f');
      var v = d[f];
      if (f === 'action') {
        v = v || (d.allowed ? 'allow' : 'refused');
        el.className = 'badge ' + (d.allowed ? 'allow' : 'deny');
      }
      el.textContent = v === undefined || v === null ? '' : String(v);
      if (el.getAttribute('data-href') === 'agent' && d.agent_id) {
        el.setAttribute('href', base + '/agents/' + encodeURIComponent(d.agent_id));
      }
    });
    row.className = (d.allowed ? 'ok' : 'denied') + ' fresh';
    tbody.insertBefore(row, tbody.firstChild);
    while (tbody.children.length > 50) { tbody.removeChild(tbody.lastElementChild); }
  }

  var types = ['decision', 'signal', 'approval', 'policy_reload', 'agent'];
  var es = new EventSource(url);
  es.onopen = function () { setStatus(true, 'live'); };
  es.onerror = function () { setStatus(false, 'reconnecting'); };
  types.forEach(function (t) {
    es.addEventListener(t, function (e) {
      var d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (t === 'decision' || t === 'signal' || t === 'agent') { feed(d); }
      schedule(t);
    });
  });
  es.addEventListener('dropped', function () { setStatus(false, 'catching up'); schedule('decision'); });
})();
