// The landing page's live part: follows /events from the rendered revision and applies each change.
// Every key and value reaches the DOM through textContent, never as markup.
(() => {
  'use strict';
  const state = JSON.parse(document.getElementById('state').textContent);
  const $ = (id) => document.getElementById(id);
  const rowsEl = $('rows');
  const eventsEl = $('events');
  const MAX_EVENTS = 100;

  /** The shown rows: the first keys under the prefix, in byte order, as the server rendered them. */
  const order = [...rowsEl.querySelectorAll('tr')].map((tr) => tr.dataset.key);
  const rows = new Map([...rowsEl.querySelectorAll('tr')].map((tr) => [tr.dataset.key, tr]));
  let lastRevision = state.revision;
  let matching = state.matching;
  let keys = state.keys;
  let capped = state.capped;

  // Byte (UTF-8) order, the server's order: UTF-16 differs only where a surrogate meets U+E000..U+FFFF.
  const rank = (u) => (u < 0xd800 ? u : u >= 0xe000 ? u - 0x800 : u + 0x2000);
  function compareKeys(a, b) {
    if (a === b) return 0;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a.charCodeAt(i);
      const y = b.charCodeAt(i);
      if (x !== y) return rank(x) - rank(y);
    }
    return a.length - b.length;
  }
  function position(key) {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(order[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function cell(className, text) {
    const td = document.createElement('td');
    td.className = className;
    td.textContent = text;
    return td;
  }
  function flash(tr) {
    tr.classList.remove('flash');
    void tr.offsetWidth; // restarts the animation
    tr.classList.add('flash');
  }

  /** 'new', 'updated', or 'unknown' (beyond the shown rows: whether the key existed cannot be told). */
  function putRow(key, value, revision) {
    const existing = rows.get(key);
    if (existing) {
      existing.children[1].textContent = value;
      existing.children[2].textContent = String(revision);
      flash(existing);
      return 'updated';
    }
    const hidden = matching - order.length;
    const last = order[order.length - 1];
    if (hidden > 0 && (last === undefined || compareKeys(key, last) > 0)) return 'unknown';
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    tr.append(cell('key', key), cell('value', value), cell('rev', String(revision)));
    const at = position(key);
    rowsEl.insertBefore(tr, rows.get(order[at]) ?? null);
    order.splice(at, 0, key);
    rows.set(key, tr);
    flash(tr);
    if (order.length > state.limit) {
      const dropped = order.pop(); // now beyond the shown page, counted in "more"
      rows.get(dropped).remove();
      rows.delete(dropped);
    }
    return 'new';
  }
  function deleteRow(key) {
    const tr = rows.get(key);
    if (!tr) return;
    tr.remove();
    rows.delete(key);
    order.splice(position(key), 1);
  }

  function render() {
    $('revision').textContent = String(lastRevision);
    $('keys').textContent = String(keys);
    const hidden = Math.max(0, matching - order.length);
    $('more').hidden = hidden === 0;
    $('more-count').textContent = String(hidden) + (capped ? '+' : '');
    $('table').hidden = order.length === 0;
    $('empty').hidden = order.length > 0;
    const m = $('matching');
    if (m) m.textContent = String(matching);
  }

  /** Counts the page cannot derive from the changes it sees come from the server, at most once a second. */
  let countTimer;
  const recent = [];
  function refreshCountsSoon() {
    if (countTimer) return;
    countTimer = setTimeout(async () => {
      try {
        const query = state.prefix ? `?prefix=${encodeURIComponent(state.prefix)}` : '';
        const headers = { Accept: 'application/json' };
        if (token) headers.Authorization = `Bearer ${token}`;
        const counts = await (await fetch(`/${query}`, { headers })).json();
        const later = recent.filter((d) => d.revision > counts.revision);
        matching = counts.matching + later.reduce((sum, d) => sum + d.delta, 0);
        keys = state.prefix ? counts.keys : matching;
        capped = counts.capped;
        render();
      } catch {
        // The socket's own reconnect reports the outage; counts catch up on the next change.
      } finally {
        countTimer = undefined;
      }
    }, 1000);
  }

  function applyChange(msg) {
    let delta = 0;
    if (msg.type === 'value.put') {
      const result = putRow(msg.key, msg.value, msg.revision);
      if (result === 'new') delta = 1;
      if (result === 'unknown') refreshCountsSoon();
    } else {
      deleteRow(msg.key);
      delta = -1; // only an existing key produces a deletion
    }
    matching += delta;
    if (!state.prefix) keys = matching;
    else refreshCountsSoon();
    recent.push({ revision: msg.revision, delta });
    if (recent.length > 1000) recent.shift();
  }

  function span(className, text) {
    const el = document.createElement('span');
    el.className = className;
    el.textContent = text;
    return el;
  }
  function listEvent(msg) {
    const li = document.createElement('li');
    li.className = 'event';
    li.dataset.type = msg.type;
    const what = span('what', '');
    let badge;
    if (msg.type === 'value.put' || msg.type === 'value.deleted') {
      badge = msg.type === 'value.put' ? 'put' : 'deleted';
      li.dataset.key = msg.key;
      li.dataset.revision = String(msg.revision);
      what.append(span('k', msg.key));
      if (msg.type === 'value.put') what.append(span('v', ` = ${msg.value.length > 200 ? msg.value.slice(0, 200) + '…' : msg.value}`));
      what.title = msg.type === 'value.put' ? `${msg.key} = ${msg.value}` : msg.key;
    } else {
      badge = msg.type === 'connection.opened' ? 'opened' : 'closed';
      what.append(span('k', msg.connection.slice(0, 8)), span('v', ` on ${msg.instance}${msg.connection === myConnection ? ' · this page' : ''}`));
      what.title = `connection ${msg.connection} on ${msg.instance}`;
    }
    const time = new Date(msg.at);
    li.append(span('time', isNaN(time) ? '' : time.toLocaleTimeString([], { hour12: false })), span(`badge ${badge}`, badge), what, span('rev', msg.revision ? `r${msg.revision}` : ''));
    eventsEl.prepend(li);
    while (eventsEl.children.length > MAX_EVENTS) eventsEl.lastElementChild.remove();
    $('no-events').hidden = true;
  }

  function setStatus(name, text) {
    $('status').dataset.state = name;
    $('status-text').textContent = text;
  }

  // With READ_TOKEN set, the page is opened as /?token=…; browsers cannot put it in a websocket's headers.
  const token = new URLSearchParams(location.search).get('token');
  let myConnection = '';
  let attempt = 0;
  let socket;
  function connect() {
    setStatus(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'connecting' : 'reconnecting');
    const params = new URLSearchParams({ since: String(lastRevision) });
    if (state.prefix) params.set('prefix', state.prefix);
    if (token) params.set('token', token);
    socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events?${params}`);
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      switch (msg.type) {
        case 'hello':
          attempt = 0;
          myConnection = msg.connection || '';
          $('instance').textContent = msg.instance;
          setStatus('live', 'live');
          return;
        case 'value.put':
        case 'value.deleted':
          if (msg.revision <= lastRevision) return; // already applied
          lastRevision = msg.revision;
          applyChange(msg);
          listEvent(msg);
          render();
          return;
        case 'connection.opened':
        case 'connection.closed':
          listEvent(msg);
          return;
        case 'reset':
          setStatus('reconnecting', 'reloading');
          location.reload();
          return;
      }
    };
    socket.onclose = () => {
      const delay = Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt++;
      setStatus(navigator.onLine === false ? 'offline' : 'reconnecting', `reconnecting in ${Math.ceil(delay / 1000)} s`);
      setTimeout(connect, delay);
    };
  }
  window.driftkv = { get revision() { return lastRevision; }, get socket() { return socket; } };
  connect();
})();
