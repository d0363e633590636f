// Flotilla Tickets: the booking page. Plain JavaScript, no framework, no build step.
// Talks only to this app instance's JSON API (docs/app.md); the seat map comes live over
// server-sent events. Store errors during a failover are shown as "retrying": the last seat map
// stays on screen (dimmed) and a booking is asked again with the same booking id, which the
// store applies at most once.
(function () {
  'use strict';
  const MAX_SEATS = 8;
  const $ = (id) => document.getElementById(id);
  const state = { events: [], event: null, taken: {}, selected: new Set(), source: null,
    person: '', mine: new Set(), booking: null };

  function newId() {
    const b = new Uint8Array(10);
    crypto.getRandomValues(b);
    return 'b-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  async function api(method, path, body) {
    const r = await fetch(path, { method, headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined });
    let data = null;
    try { data = await r.json(); } catch (e) { data = { error: 'bad_answer', message: String(e) }; }
    return { status: r.status, data };
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  function setFeed(kind, text) {
    const f = $('feed');
    f.className = 'feed ' + kind;
    $('feed-text').textContent = text;
    $('map').classList.toggle('stale', kind === 'retrying');
  }

  // ---------------------------------------------------------------------------------- events
  async function loadEvents() {
    for (;;) {
      let r;
      try { r = await api('GET', '/api/events'); } catch (e) { r = { status: 0 }; }
      if (r.status === 200) { state.events = r.data.events; renderEvents(); return; }
      $('events').innerHTML = '<li class="muted">Retrying: the store is not answering yet…</li>';
      await sleep(1000);
    }
  }

  function renderEvents() {
    const ul = $('events');
    ul.textContent = '';
    if (state.events.length === 0) { ul.innerHTML = '<li class="muted">No events yet.</li>'; return; }
    for (const e of state.events) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.event = e.id;
      b.setAttribute('aria-pressed', String(state.event && state.event.id === e.id));
      b.innerHTML = '<span class="name"></span><span class="meta"></span>';
      b.querySelector('.name').textContent = e.name;
      b.querySelector('.meta').textContent = metaText(e);
      b.addEventListener('click', () => selectEvent(e.id));
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  function metaText(e) { return e.venue + ' · ' + e.when + ' · ' + e.available + ' of ' + e.capacity + ' seats free'; }

  function selectEvent(id) {
    const e = state.events.find((x) => x.id === id);
    if (!e) return;
    state.event = e;
    state.taken = {};
    state.selected.clear();
    $('result').textContent = '';
    $('event-title').textContent = e.name + ' — ' + e.venue + ', ' + e.when;
    document.querySelectorAll('#events button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.event === id)));
    history.replaceState(null, '', '#' + encodeURIComponent(id));
    renderMap();
    watch(id);
  }

  // ------------------------------------------------------------------------------- live map
  function watch(id) {
    if (state.source) state.source.close();
    setFeed('connecting', 'Connecting…');
    const es = new EventSource('/api/events/' + encodeURIComponent(id) + '/stream');
    state.source = es;
    es.addEventListener('seats', (m) => {
      const d = JSON.parse(m.data);
      if (!state.event || d.eventId !== state.event.id) return;
      // Seats are never freed: a map only grows. Merging keeps a seat we saw taken taken.
      Object.assign(state.taken, d.taken);
      for (const s of Object.keys(d.taken)) state.selected.delete(s);
      paintSeats();
      setFeed('live', 'Live');
    });
    es.addEventListener('status', (m) => {
      const d = JSON.parse(m.data);
      if (d.state === 'retrying') setFeed('retrying', 'Retrying: the cluster is electing a leader…');
      else setFeed('live', 'Live');
    });
    es.onerror = () => setFeed('retrying', 'Retrying: reconnecting to the app…');
  }

  function seatName(row, n) { return String.fromCharCode(65 + row) + n; }

  /** Builds the seat buttons once per event; updates only change them in place (focus stays). */
  function renderMap() {
    const map = $('map');
    const e = state.event;
    map.textContent = '';
    if (!e) return;
    for (let r = 0; r < e.rows; r++) {
      const row = document.createElement('div');
      row.className = 'row';
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = String.fromCharCode(65 + r);
      label.setAttribute('aria-hidden', 'true');
      row.appendChild(label);
      for (let n = 1; n <= e.seatsPerRow; n++) {
        const s = seatName(r, n);
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'seat';
        b.textContent = s;
        b.dataset.seat = s;
        b.addEventListener('click', () => toggle(s));
        row.appendChild(b);
      }
      map.appendChild(row);
    }
    paintSeats();
  }

  function paintSeats() {
    if (state.event) {
      // The event list's count of free seats follows the live map.
      const e = state.event;
      e.available = e.capacity - Object.keys(state.taken).length;
      const meta = document.querySelector('#events button[data-event="' + e.id + '"] .meta');
      if (meta) meta.textContent = metaText(e);
    }
    for (const b of document.querySelectorAll('#map .seat')) {
      const s = b.dataset.seat;
      const taken = Object.prototype.hasOwnProperty.call(state.taken, s);
      const mine = taken && state.mine.has(state.taken[s]);
      b.classList.toggle('taken', taken);
      b.classList.toggle('mine', mine);
      if (taken) {
        b.removeAttribute('aria-pressed');
        b.setAttribute('aria-disabled', 'true');
        b.setAttribute('aria-label', 'Seat ' + s + ', taken' + (mine ? ' (yours)' : ''));
      } else {
        b.removeAttribute('aria-disabled');
        b.setAttribute('aria-pressed', String(state.selected.has(s)));
        b.setAttribute('aria-label', 'Seat ' + s + ', ' + (state.selected.has(s) ? 'chosen' : 'free'));
      }
    }
    renderSelection();
  }

  function toggle(s) {
    if (Object.prototype.hasOwnProperty.call(state.taken, s) || state.booking) return;
    if (state.selected.has(s)) state.selected.delete(s);
    else if (state.selected.size < MAX_SEATS) state.selected.add(s);
    else { showResult('bad', 'At most ' + MAX_SEATS + ' seats in one booking.'); return; }
    paintSeats();
  }

  function renderSelection() {
    const n = state.selected.size;
    $('selection').textContent = n === 0 ? 'No seats chosen' : 'Chosen: ' + Array.from(state.selected).sort().join(', ');
    $('book').disabled = n === 0 || !validPerson() || !!state.booking;
    $('book').textContent = n > 1 ? 'Book ' + n + ' seats' : 'Book selected seat' + (n === 1 ? '' : 's');
  }

  function showResult(kind, text) {
    const r = $('result');
    r.className = 'result ' + kind;
    r.textContent = text;
  }

  // -------------------------------------------------------------------------------- booking
  async function book() {
    if (!state.event || state.selected.size === 0 || !validPerson()) return;
    const request = { bookingId: newId(), eventId: state.event.id, person: state.person,
      seats: Array.from(state.selected).sort() };
    state.booking = request;
    renderSelection();
    try {
      for (let attempt = 1; ; attempt++) {
        let r;
        try { r = await api('POST', '/api/bookings', request); } catch (e) { r = { status: 0, data: {} }; }
        if (r.status === 200) {
          const b = r.data.booking;
          for (const s of b.seats) state.taken[s] = b.id;
          state.mine.add(b.id);
          state.selected.clear();
          showResult('ok', 'Confirmed: seats ' + b.seats.join(', ') + ' for ' + b.person + ' (booking ' + b.id + ').');
          paintSeats();
          loadMine();
          return;
        }
        if (r.status === 409 && r.data.error === 'seats_taken') {
          for (const s of r.data.taken) { state.taken[s] = state.taken[s] || '?'; state.selected.delete(s); }
          showResult('bad', 'Sorry: ' + r.data.taken.join(', ') + (r.data.taken.length > 1 ? ' were' : ' was') + ' just taken by someone else. Nothing was booked.');
          paintSeats();
          return;
        }
        if (r.status === 503 || r.status === 0) {
          showResult('retrying', 'Retrying (attempt ' + attempt + '): the cluster is electing a leader. Your booking is asked again safely; it can only happen once.');
          await sleep(Math.min(2000, 250 * attempt));
          continue;
        }
        showResult('bad', 'Not booked: ' + ((r.data && r.data.message) || ('HTTP ' + r.status)));
        return;
      }
    } finally {
      state.booking = null;
      renderSelection();
    }
  }

  // ------------------------------------------------------------------------- your bookings
  function validPerson() { return /^[\p{L}\p{N}][\p{L}\p{N} ._'-]{0,39}$/u.test(state.person); }

  async function loadMine() {
    const ul = $('mine');
    if (!validPerson()) { ul.innerHTML = '<li class="muted">Enter your name to see your bookings.</li>'; return; }
    const person = state.person;
    let r;
    try { r = await api('GET', '/api/people/' + encodeURIComponent(person) + '/bookings'); } catch (e) { r = { status: 0 }; }
    if (person !== state.person) return;
    if (r.status !== 200) { ul.innerHTML = '<li class="muted">Retrying…</li>'; setTimeout(loadMine, 1000); return; }
    ul.textContent = '';
    state.mine = new Set(r.data.bookings.map((b) => b.id));
    if (r.data.bookings.length === 0) { ul.innerHTML = '<li class="muted">No bookings yet.</li>'; }
    for (const b of r.data.bookings) {
      const e = state.events.find((x) => x.id === b.eventId);
      const li = document.createElement('li');
      li.textContent = (e ? e.name : b.eventId) + ': ' + b.seats.join(', ') + ' (' + b.id + ')';
      ul.appendChild(li);
    }
    paintSeats();
  }

  let personTimer = null;
  function onPerson() {
    state.person = $('person').value.trim();
    try { localStorage.setItem('flotilla.person', state.person); } catch (e) { /* private mode */ }
    renderSelection();
    clearTimeout(personTimer);
    personTimer = setTimeout(loadMine, 300);
  }

  async function start() {
    $('book').addEventListener('click', book);
    $('person').addEventListener('input', onPerson);
    let saved = '';
    try { saved = localStorage.getItem('flotilla.person') || ''; } catch (e) { /* private mode */ }
    $('person').value = saved;
    state.person = saved;
    await loadEvents();
    const wanted = decodeURIComponent(location.hash.slice(1));
    selectEvent(state.events.some((e) => e.id === wanted) ? wanted : (state.events[0] || {}).id);
    loadMine();
  }

  start();
})();
