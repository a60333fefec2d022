// Shows the rows of the data island in pages, filtered by outcome and searched. Every
// value goes in through textContent: none is ever read as markup.
(function () {
  'use strict';
  var PAGE = 250;
  var data = JSON.parse(document.getElementById('data').textContent);
  var S = data.strings;
  var attention = {};
  data.attention.forEach(function (o) { attention[o] = true; });
  function str(v) { return typeof v === 'number' ? S[v] : v; }
  function outcome(r) { return str(r[3]); }

  // One entry per plan row, in plan order: its last line wins (the one that finished
  // last; where a time is missing, the one read last), the others are its history. An
  // array indexed by plan line merges and orders them without a sort: for-in visits the
  // lines it holds in ascending order, and never its holes.
  var slot = [], rows = [];
  data.rows.forEach(function (r) {
    var e = slot[r[0]];
    if (!e) { slot[r[0]] = { r: r, hist: [], text: null }; return; }
    if (r[8] !== null && e.r[8] !== null && r[8] < e.r[8]) { e.hist.push(r); return; }
    e.hist.push(e.r);
    e.r = r;
  });
  for (var line in slot) rows.push(slot[line]);
  slot = null;

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function agent(id) {
    if (id === '') return '(none)';
    var name = data.agents[id];
    return name ? name + ' (' + id + ')' : id;
  }
  function plain(s) { return s === '' ? '(empty)' : s; }
  function when(ms) { return ms === null ? '' : new Date(data.t0 + ms).toISOString(); }

  // change shows before -> planned; a field the row does not send shows the value kept.
  function change(td, before, planned, now, show) {
    var known = data.before;
    if (planned === '') {
      td.appendChild(el('span', 'kept', known ? show(before) + ' (kept)' : 'not changed'));
      return;
    }
    var after = planned === null ? show('') : show(planned);
    if (known) {
      td.appendChild(el('span', 'was', show(before)));
      td.appendChild(el('span', 'arrow', '\u2192'));
    }
    td.appendChild(el('span', 'to', after));
    if (now !== undefined && now !== '' && planned !== null && now !== planned) {
      td.appendChild(el('span', 'hist', 'holds ' + show(now)));
    }
  }

  function rowElement(e) {
    var r = e.r, tr = el('tr');
    tr.dataset.line = r[0];
    tr.dataset.outcome = outcome(r);
    tr.appendChild(el('td', 'num', String(r[0])));
    var num = el('td');
    num.appendChild(el('span', 'mono', r[2] || '\u2014'));
    num.appendChild(el('span', 'id', r[1]));
    tr.appendChild(num);
    var oc = el('td', 'outcome');
    oc.dataset.outcome = outcome(r);
    oc.appendChild(el('span', 'badge ' + (data.classes[outcome(r)] || 'idle'), outcome(r)));
    if (e.hist.length) {
      var h = e.hist.slice().sort(function (a, b) { return (a[8] || 0) - (b[8] || 0); }).map(function (x) { return outcome(x) + (x[8] === null ? '' : ' at ' + when(x[8])); });
      oc.appendChild(el('span', 'hist', 'was ' + h.join(', then ')));
    }
    tr.appendChild(oc);
    var a = el('td'), n = el('td'), l = el('td');
    change(a, str(r[14]), str(r[9]), str(r[12]), agent);
    change(n, r[15], r[10], r[13], plain);
    change(l, str(r[16]), str(r[11]), undefined, plain);
    tr.appendChild(a); tr.appendChild(n); tr.appendChild(l);
    var d = el('td'), parts = [];
    if (r[4]) parts.push('HTTP ' + r[4]);
    parts.push(r[5] + (r[5] === 1 ? ' attempt' : ' attempts'));
    if (r[8] !== null) parts.push(when(r[8]));
    d.appendChild(el('span', 'hist', parts.join(' \u00b7 ')));
    if (str(r[6])) d.appendChild(el('span', 'err', str(r[6])));
    if (r[7]) d.appendChild(el('span', 'id', 'request ' + r[7]));
    tr.appendChild(d);
    return tr;
  }

  // A table of rows shown PAGE at a time.
  function Table(body, pager) {
    this.body = document.getElementById(body);
    var p = document.getElementById(pager);
    this.status = p.querySelector('.status');
    this.buttons = p.querySelectorAll('button');
    this.list = [];
    this.at = 0;
    var self = this;
    this.buttons.forEach(function (b) {
      b.addEventListener('click', function () { self.show(self.at + Number(b.dataset.step) * PAGE); });
    });
  }
  Table.prototype.show = function (at) {
    this.at = Math.max(0, Math.min(at, Math.floor(Math.max(this.list.length - 1, 0) / PAGE) * PAGE));
    var f = document.createDocumentFragment(), end = Math.min(this.at + PAGE, this.list.length);
    for (var i = this.at; i < end; i++) f.appendChild(rowElement(this.list[i]));
    this.body.textContent = '';
    this.body.appendChild(f);
    this.status.dataset.total = this.list.length;
    this.status.textContent = this.list.length === 0 ? 'no row' :
      'rows ' + (this.at + 1).toLocaleString('en') + '\u2013' + end.toLocaleString('en') +
      ' of ' + this.list.length.toLocaleString('en');
    this.buttons[0].disabled = this.at === 0;
    this.buttons[1].disabled = end >= this.list.length;
  };

  function haystack(e) {
    if (e.text === null) {
      var r = e.r, parts = [r[1], r[2], outcome(r), str(r[6]), r[7], r[10], r[13], r[15], str(r[11]), str(r[16])];
      [str(r[9]), str(r[12]), str(r[14])].forEach(function (id) { if (id) parts.push(id, data.agents[id] || ''); });
      e.text = parts.join('\n').toLowerCase();
    }
    return e.text;
  }

  var att = new Table('att-body', 'att-pager');
  att.list = rows.filter(function (e) { return attention[outcome(e.r)]; });
  var all = new Table('all-body', 'all-pager');
  var filter = '', query = '';
  function apply() {
    var q = query.trim().toLowerCase();
    all.list = rows.filter(function (e) {
      var o = outcome(e.r);
      if (filter === 'attention' ? !attention[o] : filter !== '' && o !== filter) return false;
      return q === '' || haystack(e).indexOf(q) >= 0;
    });
    all.show(0);
    all.status.dataset.query = q;
  }
  document.querySelectorAll('[data-filter]').forEach(function (b) {
    b.addEventListener('click', function () {
      filter = b.dataset.filter;
      document.querySelectorAll('[data-filter]').forEach(function (x) { x.setAttribute('aria-pressed', String(x === b)); });
      apply();
    });
  });
  var timer = 0;
  document.getElementById('search').addEventListener('input', function (ev) {
    clearTimeout(timer);
    timer = setTimeout(function () { query = ev.target.value; apply(); }, 150);
  });

  document.querySelectorAll('.js').forEach(function (n) { n.hidden = false; });
  att.show(0);
  apply();
  document.documentElement.dataset.ready = Math.round(performance.now());
})();
