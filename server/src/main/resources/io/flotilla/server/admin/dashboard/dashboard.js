// The Flotilla cluster dashboard. Plain JavaScript and uPlot (vendored into the jar at build
// time), no framework. Polls this node's /cluster once a second: this node's view plus every
// other member's /overview, which this node fetches through their admin ports, so the page works
// the same when served by a follower. If the node serving the page stops answering, the page
// says so and moves to another member's dashboard.
(function () {
  'use strict';
  const POLL_MS = 1000;
  const WINDOW_S = 120;
  const COLORS = ['#1f5fa8', '#c0392b', '#1e7d45', '#7b3fa0', '#b36200', '#137a86', '#6b6b00'];
  const $ = (id) => document.getElementById(id);
  const series = new Map(); // node id -> Map(second -> sample)
  const state = { first: true, failures: 0, nodes: [], charts: [], lastEventKey: '', moving: false };

  const CHARTS = [
    { title: 'Requests per second', desc: 'client requests answered, per node', unit: '/s',
      lines: [{ key: 'requests' }] },
    { title: 'Request latency (ms)', desc: 'p50 (dashed) and p99 per node, over each second', unit: 'ms',
      lines: [{ key: 'p50', dash: [4, 4], suffix: ' p50' }, { key: 'p99', suffix: ' p99' }] },
    { title: 'WAL forces per second', desc: 'fdatasync calls (group commits), per node', unit: '/s',
      lines: [{ key: 'walForces' }] },
    { title: 'WAL batch size', desc: 'entries made durable per force', unit: 'entries',
      lines: [{ key: 'walBatch' }] },
    { title: 'Apply lag', desc: 'commit index minus applied index', unit: 'entries',
      lines: [{ key: 'applyLag' }] },
    { title: 'Leader changes', desc: 'times each node saw the leader change (since it started)', unit: '',
      lines: [{ key: 'leaderChanges' }] },
  ];

  const color = (id) => COLORS[(Number(id) - 1) % COLORS.length];
  const fmt = (v) => (v === null || v === undefined || Number.isNaN(v)) ? '–'
    : (Math.abs(v) >= 100 ? Math.round(v).toLocaleString() : (Math.round(v * 100) / 100).toString());

  function text(el, t) { el.textContent = t; return el; }
  function make(tag, cls, t) { const e = document.createElement(tag); if (cls) e.className = cls; if (t !== undefined) e.textContent = t; return e; }

  // ---------------------------------------------------------------------------------- polling
  async function poll() {
    const started = Date.now();
    let data = null;
    try {
      const r = await fetch('cluster?samples=' + (state.first ? WINDOW_S : 5), { cache: 'no-store' });
      if (r.ok) data = await r.json();
    } catch (e) { data = null; }
    if (data) {
      state.failures = 0;
      state.first = false;
      render(data);
    } else {
      state.failures++;
      if (state.failures >= 2) servingNodeDown();
    }
    // Once a second from the start of the last poll, whatever it took.
    setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
  }

  function render(d) {
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1); // for tests
    text($('served-by'), 'node ' + d.servedBy);
    text($('updated'), 'updated ' + new Date(d.at).toLocaleTimeString());
    state.nodes = d.nodes;
    const leader = $('leader');
    leader.dataset.leader = d.leaderLost ? '0' : String(d.leader);
    text(leader, d.leaderLost ? 'No leader' : 'Leader: node ' + d.leader + ' (term ' + d.term + ')');
    const banner = $('banner');
    if (d.leaderLost) {
      banner.hidden = false;
      banner.className = 'banner bad';
      text(banner, 'Node ' + d.servedBy + ' (serving this page) has lost the leader: an election is under way'
        + ' or this node is cut off from a majority. Its role: ' + d.role + '.');
    } else {
      banner.hidden = true;
    }
    renderNodes(d);
    renderRanges(d);
    for (const n of d.nodes) {
      if (!n.overview) continue;
      const m = series.get(n.id) || new Map();
      for (const s of n.overview.samples || []) m.set(Math.round(s.t / 1000), s);
      series.set(n.id, m);
    }
    renderCharts(d.nodes.map((n) => n.id));
    renderEvents(d.events || []);
  }

  // ------------------------------------------------------------------------------------ nodes
  // Rows are kept and updated in place (never rebuilt), so a keyboard user's focus on a button
  // survives the updates.
  const rows = new Map();

  function renderNodes(d) {
    const body = document.querySelector('#nodes tbody');
    document.querySelector('#nodes .control-col').hidden = !d.localControl;
    $('control-note').hidden = !d.localControl;
    const seen = new Set();
    for (const n of d.nodes) {
      seen.add(n.id);
      let r = rows.get(n.id);
      if (!r || r.control !== d.localControl) {
        if (r) r.tr.remove();
        r = newRow(n, d.localControl);
        rows.set(n.id, r);
      }
      body.appendChild(r.tr); // keeps the order of d.nodes; moving a row keeps its focus
      updateRow(r, n, d);
    }
    for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
  }

  function newRow(n, control) {
    const tr = make('tr');
    tr.dataset.node = n.id;
    const th = make('th');
    th.scope = 'row';
    const dot = make('span', '', '● ');
    dot.style.color = color(n.id);
    dot.setAttribute('aria-hidden', 'true');
    const name = make('span');
    th.append(dot, name);
    const role = make('span', 'role');
    const cells = ['role', 'term', 'leader', 'commit', 'applied', 'health', 'addr'].map(() => make('td'));
    cells[0].appendChild(role);
    cells[6].className = 'addr';
    tr.append(th, ...cells);
    const r = { tr, name, role, cells, control };
    if (control) tr.appendChild(controls(n, r));
    label(tr, '#nodes');
    return r;
  }

  function updateRow(r, n, d) {
    const st = n.overview ? (n.overview.status || {}) : {};
    const role = n.reachable ? (st.role || 'UNRESPONSIVE') : 'unreachable';
    r.tr.dataset.role = role;
    r.tr.dataset.reachable = String(n.reachable);
    set(r.name, 'node ' + n.id + (n.id === d.servedBy ? ' (this page)' : '') + (n.member === 'learner' ? ' · learner' : ''));
    r.role.className = 'role ' + role;
    set(r.role, role === 'unreachable' ? 'unreachable' : role.toLowerCase());
    set(r.cells[1], n.reachable ? fmt(st.term) : '–');
    set(r.cells[2], n.reachable ? (st.leader ? 'node ' + st.leader : 'none') : '–');
    set(r.cells[3], n.reachable ? fmt(st.commit) : '–');
    set(r.cells[4], n.reachable ? fmt(st.applied) : '–');
    const healthy = n.reachable && n.overview.healthy;
    r.cells[5].className = healthy ? 'ok' : 'no';
    set(r.cells[5], !n.reachable ? 'down' : (healthy ? 'healthy' : 'unhealthy'));
    const addrKey = [n.client, n.peer, n.admin].join('|');
    if (r.addrKey !== addrKey) {
      r.addrKey = addrKey;
      const c = r.cells[6];
      const box = make('div'); // one block: at phone width the cell is a row of label + value
      box.append('client ' + (n.client || '–'), make('br'), 'peer ' + (n.peer || '–'), make('br'));
      if (n.admin) {
        const a = make('a', '', 'admin ' + n.admin);
        a.href = 'http://' + n.admin + '/';
        box.appendChild(a);
      }
      c.textContent = '';
      c.appendChild(box);
    }
    if (r.kill) {
      r.kill.disabled = !n.reachable;
      r.restart.disabled = n.reachable;
    }
  }

  function set(el, t) { if (el.textContent !== t) el.textContent = t; }

  /** Each cell names its column (data-label): at phone width the rows become stacked cards. */
  function label(tr, table) {
    const heads = Array.from(document.querySelectorAll(table + ' thead th')).map((h) => h.textContent);
    Array.from(tr.children).forEach((c, i) => { c.dataset.label = heads[i] || ''; });
  }

  function controls(n, r) {
    const td = make('td');
    const kill = make('button', 'danger', 'Kill');
    kill.type = 'button';
    kill.disabled = !n.reachable;
    kill.setAttribute('aria-label', 'Kill node ' + n.id + ' (kill -9)');
    kill.addEventListener('click', () => control('kill', n.id));
    const restart = make('button', '', 'Restart');
    restart.type = 'button';
    restart.disabled = n.reachable;
    restart.setAttribute('aria-label', 'Restart node ' + n.id);
    restart.addEventListener('click', () => control('restart', n.id));
    td.append(kill, restart);
    r.kill = kill;
    r.restart = restart;
    return td;
  }

  async function control(action, id) {
    const banner = $('banner');
    try {
      const r = await fetch('control/' + action + '?node=' + id, { method: 'POST', headers: { 'X-Flotilla-Control': '1' } });
      banner.hidden = false;
      banner.className = 'banner';
      text(banner, (await r.text()).trim());
    } catch (e) {
      banner.hidden = false;
      text(banner, action + ' of node ' + id + ' sent; this node stopped answering');
    }
  }

  /** The node serving this page is not answering: say so, and move to a member that is. */
  async function servingNodeDown() {
    const banner = $('banner');
    banner.hidden = false;
    banner.className = 'banner bad';
    text(banner, 'The node serving this page is not answering. Looking for another member…');
    if (state.moving) return;
    state.moving = true;
    for (const n of state.nodes) {
      if (!n.admin || n.admin === location.host) continue;
      try {
        // An opaque answer is enough: it proves that node's admin port is up.
        await fetch('http://' + n.admin + '/health', { mode: 'no-cors', cache: 'no-store' });
        text(banner, 'The node serving this page is not answering; moving to node ' + n.id + "'s dashboard.");
        location.href = 'http://' + n.admin + '/';
        return;
      } catch (e) { /* try the next one */ }
    }
    state.moving = false;
  }

  // ----------------------------------------------------------------------------------- ranges
  // One row per range (each its own Raft group: docs/ranges.md), merged from every member's
  // /status by the serving node. Rebuilt each poll: the table holds no buttons.
  function renderRanges(d) {
    const ranges = d.ranges || [];
    const body = document.querySelector('#ranges tbody');
    body.textContent = '';
    const reachable = new Set(d.nodes.filter((n) => n.reachable).map((n) => n.id));
    for (const r of ranges) {
      const tr = make('tr');
      tr.dataset.range = r.id;
      tr.dataset.leader = r.leader || 0;
      const th = make('th', '', String(r.id));
      th.scope = 'row';
      tr.appendChild(th);
      tr.appendChild(make('td', 'addr', r.start === undefined || r.start === '' ? '−∞' : r.start));
      tr.appendChild(make('td', 'addr', r.end === undefined || r.end === '' ? '+∞' : r.end));
      tr.appendChild(make('td', r.leader ? '' : 'no', r.leader ? 'node ' + r.leader : 'none'));
      const byNode = new Map((r.replicas || []).map((x) => [x.node, x]));
      const ids = Array.from(new Set([...(r.voters || []), ...(r.learners || []), ...byNode.keys()])).sort((x, y) => x - y);
      const reps = make('td');
      const box = make('div'); // one block: at phone width the cell is a row of label + value
      ids.forEach((id, i) => {
        const x = byNode.get(id);
        const role = x ? String(x.role || 'UNRESPONSIVE') : (reachable.has(id) ? 'not applied yet' : 'unreachable');
        const learner = (r.learners || []).includes(id) ? ' (learner)' : '';
        const span = make('span', 'role ' + (x ? role : 'unreachable'), 'node ' + id + ' ' + role.toLowerCase() + learner);
        box.appendChild(span);
        if (x) box.append(' applied ' + fmt(x.applied));
        if (i < ids.length - 1) box.appendChild(make('br'));
      });
      reps.appendChild(box);
      tr.appendChild(reps);
      const lead = byNode.get(r.leader);
      const applied = lead ? lead.applied : Math.max(...(r.replicas || []).map((x) => x.applied || 0), 0);
      tr.appendChild(make('td', '', fmt(applied)));
      tr.appendChild(make('td', '', fmt(r.epochVersion)));
      tr.appendChild(make('td', '', r.quiesced ? 'yes' : 'no'));
      label(tr, '#ranges');
      body.appendChild(tr);
    }
    text($('ranges-note'), ranges.length <= 1
      ? 'One range holds every key. Split it with bin/flotilla range split, or start with bin/flotilla local --ranges N.'
      : ranges.length + ' ranges, each its own Raft group. A transaction over keys of two ranges is refused (CROSS_RANGE).');
  }

  // ----------------------------------------------------------------------------------- charts
  function renderCharts(ids) {
    ids = ids.slice().sort((a, b) => a - b);
    const now = Math.round(Date.now() / 1000);
    const xs = [];
    for (let t = now - WINDOW_S; t <= now; t++) xs.push(t);
    for (const m of series.values()) for (const k of m.keys()) if (k < now - WINDOW_S - 5) m.delete(k);
    const key = ids.join(',');
    if (state.chartKey !== key) buildCharts(ids, key);
    CHARTS.forEach((c, i) => {
      const data = [xs];
      const latest = [];
      for (const id of ids) {
        const m = series.get(id) || new Map();
        for (const line of c.lines) {
          const ys = xs.map((t) => { const s = m.get(t); const v = s ? s[line.key] : null; return (v === null || v === undefined || Number.isNaN(v) || v === 'NaN') ? null : v; });
          data.push(ys);
          const last = ys.filter((v) => v !== null).pop();
          latest.push('node ' + id + (line.suffix || '') + ' ' + fmt(last === undefined ? null : last) + (c.unit ? ' ' + c.unit : ''));
        }
      }
      state.charts[i].plot.setData(data);
      text(state.charts[i].summary, c.title + ', latest: ' + latest.join('; '));
    });
  }

  function buildCharts(ids, key) {
    const box = $('charts');
    box.textContent = '';
    state.charts.forEach((c) => c.plot.destroy());
    state.charts = [];
    state.chartKey = key;
    CHARTS.forEach((c, i) => {
      const div = make('figure', 'chart');
      div.style.margin = '0';
      const h = make('h3', '', c.title);
      h.id = 'chart-h-' + i;
      const desc = make('p', 'desc', c.desc);
      const summary = make('p', 'sr');
      summary.setAttribute('aria-live', 'off');
      const holder = make('div');
      holder.setAttribute('role', 'img');
      holder.setAttribute('aria-labelledby', h.id);
      div.append(h, desc, summary, holder);
      box.appendChild(div);
      const seriesOpts = [{}];
      for (const id of ids) {
        for (const line of c.lines) {
          seriesOpts.push({ label: 'node ' + id + (line.suffix || ''), stroke: color(id), width: 2, dash: line.dash,
            spanGaps: false, points: { show: false }, value: (u, v) => fmt(v) });
        }
      }
      const plot = new uPlot({ width: chartWidth(holder), height: 170, series: seriesOpts,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{ stroke: '#4f5861', grid: { stroke: '#eceff2' } }, { stroke: '#4f5861', grid: { stroke: '#eceff2' }, size: 52 }],
        legend: { show: true, live: true }, cursor: { y: false } }, [[]], holder);
      state.charts.push({ plot, holder, summary });
    });
  }

  function chartWidth(holder) { return Math.max(260, Math.floor(holder.getBoundingClientRect().width || 400)); }

  window.addEventListener('resize', () => {
    for (const c of state.charts) c.plot.setSize({ width: chartWidth(c.holder), height: 170 });
  });

  // ----------------------------------------------------------------------------------- events
  function renderEvents(events) {
    const k = events.map((e) => e.node + ':' + e.seq + ':' + e.at).join(',');
    if (k === state.lastEventKey) return;
    state.lastEventKey = k;
    const ol = $('events');
    ol.textContent = '';
    if (events.length === 0) { ol.appendChild(make('li', 'muted', 'Nothing yet.')); return; }
    for (const e of events) {
      const li = make('li');
      const t = make('time', '', new Date(e.at).toLocaleTimeString());
      t.dateTime = new Date(e.at).toISOString();
      li.append(t, make('span', 'kind ' + e.kind, e.kind), make('span', '', 'node ' + e.node + ': ' + e.text));
      ol.appendChild(li);
    }
  }

  poll();
})();
