// The screen player (issue 13): plays the program of /screens/{token}/program,
// keeps its last program in localStorage for when the gateway is away, and
// follows changes through the /events stream (server-sent events), polling
// /program with its version as ETag whenever the stream is not open.
// Written in plain ES5 with XMLHttpRequest for the signage browsers of older
// Zoom Rooms; no third-party code, nothing loaded from elsewhere.
(function () {
  'use strict';
  var base = location.pathname.replace(/\/+$/, '');
  var storeKey = 'zoomsignage.program:' + base;
  var body = document.body;
  var stage = document.getElementById('stage');
  var banner = document.getElementById('broadcast');
  var program = null;
  var index = -1;
  var timer = 0;
  var stream = null;
  // Proof of play: each showing is reported when it starts and again
  // (same id) when it ends; reports wait in localStorage while the
  // gateway is away.
  var playsKey = 'zoomsignage.plays:' + base;
  var playing = null;
  var casting = null;
  var sending = false;

  function initial() {
    var p = null;
    try { p = JSON.parse(document.getElementById('zs-program').textContent); } catch (e) { p = null; }
    if (!p) {
      try { p = JSON.parse(localStorage.getItem(storeKey)); } catch (e2) { p = null; }
    }
    return p;
  }

  function save(p) {
    try { localStorage.setItem(storeKey, JSON.stringify(p)); } catch (e) { /* storage full or disabled */ }
  }

  function queued() {
    try { return JSON.parse(localStorage.getItem(playsKey)) || []; } catch (e) { return []; }
  }

  function enqueue(report) {
    var q = queued();
    q.push(report);
    if (q.length > 500) { q = q.slice(q.length - 500); }
    try { localStorage.setItem(playsKey, JSON.stringify(q)); } catch (e) { /* full */ }
  }

  function flush() {
    var q = queued();
    if (sending || !q.length) { return; }
    var batch = q.slice(0, 100);
    sending = true;
    var x = new XMLHttpRequest();
    x.open('POST', base + '/plays');
    x.setRequestHeader('Content-Type', 'application/json');
    x.timeout = 10000;
    x.onload = function () {
      sending = false;
      if (x.status === 200 || x.status === 400) {
        // Sent (or refused for good): drop them.
        var rest = queued().slice(batch.length);
        try { localStorage.setItem(playsKey, JSON.stringify(rest)); } catch (e) { /* ignore */ }
        if (rest.length) { flush(); }
      }
    };
    x.onerror = x.ontimeout = function () { sending = false; };
    x.send(JSON.stringify(batch));
  }

  function newID() {
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
  }

  function startPlay(kind, id) {
    var r = { id: newID(), startedAt: new Date().toISOString() };
    r[kind] = id;
    enqueue(r);
    return r;
  }

  function endPlay(r) {
    if (!r) { return; }
    var done = { id: r.id, startedAt: r.startedAt, endedAt: new Date().toISOString() };
    if (r.contentId) { done.contentId = r.contentId; } else { done.broadcastId = r.broadcastId; }
    enqueue(done);
  }

  function apply(p) {
    if (!p || !p.version || (program && p.version === program.version)) { return; }
    program = p;
    save(p);
    body.setAttribute('data-layout', p.layout || 'STANDARD');
    body.setAttribute('data-muted', p.muted ? 'true' : 'false');
    body.setAttribute('data-version', p.version);
    document.getElementById('room').textContent = (p.room && p.room.name) || '';
    document.getElementById('idle').textContent = (p.room && p.room.name) || '';
    if (!p.broadcast || !casting || casting.broadcastId !== p.broadcast.id) {
      endPlay(casting);
      casting = p.broadcast ? startPlay('broadcastId', p.broadcast.id) : null;
    }
    if (p.broadcast) {
      banner.textContent = p.broadcast.message;
      banner.setAttribute('data-severity', p.broadcast.severity);
      body.setAttribute('data-broadcast', p.broadcast.id);
    } else {
      banner.textContent = '';
      body.removeAttribute('data-broadcast');
    }
    index = -1;
    next();
  }

  function render(item) {
    var el;
    if (item.kind === 'IMAGE') {
      el = document.createElement('img');
      el.alt = '';
      el.src = item.url;
    } else if (item.kind === 'VIDEO') {
      el = document.createElement('video');
      el.muted = !!program.muted;
      el.autoplay = true;
      el.setAttribute('playsinline', '');
      el.loop = program.items.length === 1;
      el.onended = next;
      el.src = item.url;
      var started = el.play && el.play();
      if (started && started['catch']) {
        // Autoplay with sound may be refused without a user gesture:
        // play muted rather than not at all.
        started['catch'](function () { el.muted = true; el.play(); });
      }
    } else {
      el = document.createElement('iframe');
      el.setAttribute('sandbox', 'allow-scripts allow-same-origin');
      el.setAttribute('referrerpolicy', 'no-referrer');
      el.setAttribute('allow', 'autoplay');
      el.src = item.url;
    }
    el.className = 'item';
    el.setAttribute('data-content-id', item.contentId);
    el.setAttribute('data-kind', item.kind);
    return el;
  }

  function next() {
    clearTimeout(timer);
    var items = (program && !program.broadcast && program.items) || [];
    endPlay(playing);
    playing = null;
    if (!items.length) {
      flush();
      stage.textContent = '';
      body.removeAttribute('data-now-playing');
      body.setAttribute('data-idle', 'true');
      return;
    }
    body.removeAttribute('data-idle');
    index = (index + 1) % items.length;
    var item = items[index];
    stage.textContent = '';
    stage.appendChild(render(item));
    body.setAttribute('data-now-playing', item.contentId);
    playing = startPlay('contentId', item.contentId);
    flush();
    if (items.length > 1) {
      // A video without a duration plays to its end (onended), bounded.
      var secs = item.durationSeconds > 0 ? item.durationSeconds : (item.kind === 'VIDEO' ? 3600 : 10);
      timer = setTimeout(next, secs * 1000);
    }
  }

  function get(path, etag, done) {
    var x = new XMLHttpRequest();
    x.open('GET', base + path);
    if (etag) { x.setRequestHeader('If-None-Match', '"' + etag + '"'); }
    x.timeout = 10000;
    x.onload = function () { done(x.status, x.responseText); };
    x.onerror = x.ontimeout = function () { done(0, ''); };
    x.send();
  }

  function revoked() {
    // The token was deactivated: forget the program and show what the
    // gateway answers now.
    try { localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    location.reload();
  }

  function refresh() {
    get('/program', program && program.version, function (status, text) {
      if (status === 200) {
        try { apply(JSON.parse(text)); } catch (e) { /* keep playing */ }
      } else if (status === 404) {
        revoked();
      }
      // 304, 429, 5xx or unreachable: keep playing what we have.
    });
  }

  function listen() {
    if (!window.EventSource) { return; }
    var es = new EventSource(base + '/events');
    stream = es;
    es.addEventListener('program', function (e) {
      try { apply(JSON.parse(e.data)); } catch (x) { /* ignore */ }
    });
    es.onopen = function () { body.setAttribute('data-stream', 'open'); };
    es.addEventListener('revoked', function () { es.close(); stream = null; refresh(); });
    es.onerror = function () {
      body.setAttribute('data-stream', 'closed');
      if (es.readyState === 2) {
        stream = null;
        refresh();
        setTimeout(listen, 5000);
      }
    };
  }

  function clock() {
    var d = new Date();
    var m = d.getMinutes();
    document.getElementById('clock').textContent = d.getHours() + ':' + (m < 10 ? '0' : '') + m;
  }

  apply(initial());
  clock();
  setInterval(clock, 15000);
  listen();
  setInterval(function () { if (!stream || stream.readyState !== 1) { refresh(); } }, 5000);
  setInterval(flush, 30000);
}());
