/* sourceledger: the replay page's own check of the web archive it replays.
 * ReplayWeb.page checks the package's signature and small files, not its
 * WARCs nor the newsroom's ledger; this reads the package by ranges (its ZIP
 * directory, then each file) and runs SourceLedgerVerify.verifyPackage
 * (verify.js) on it: every file's hash, the signature by the newsroom's
 * archive key, and each WARC the one the ledger recorded. It says what it
 * found in #archive-check: data-state "verified" or "failed" (data-reason);
 * a package over 64 MiB waits ("ready") for the reader's click, as the whole
 * of it is read.
 * The keys it checks against are the ones this server publishes, named on
 * the element (data-vkey, data-wacz-key). */
(function () {
  'use strict';
  var status = document.getElementById('archive-check');
  if (!status) return;
  var url = status.getAttribute('data-package');
  var vkey = status.getAttribute('data-vkey');
  var waczKey = status.getAttribute('data-wacz-key');

  function range(start, end) { // [start, end)
    return fetch(url, { headers: { Range: 'bytes=' + start + '-' + (end - 1) }, credentials: 'omit', cache: 'no-store' })
      .then(function (r) {
        if (r.status !== 206) throw new Error('the archive did not answer a range (' + r.status + ')');
        return r.arrayBuffer();
      }).then(function (b) { return new Uint8Array(b); });
  }
  function u16(b, at) { return b[at] | (b[at + 1] << 8); }
  function u32(b, at) { return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 16777216; }
  function u64(b, at) { return u32(b, at) + u32(b, at + 4) * 4294967296; }

  /* The ZIP's directory: name -> {size, local} (stored entries only). */
  function directory() {
    return fetch(url, { headers: { Range: 'bytes=-65558' }, credentials: 'omit', cache: 'no-store' }).then(function (r) {
      var total = /\/(\d+)$/.exec(r.headers.get('Content-Range') || '');
      return r.arrayBuffer().then(function (b) { return { tail: new Uint8Array(b), size: total ? Number(total[1]) : null }; });
    }).then(function (got) {
      var tail = got.tail, at = tail.length - 22;
      while (at >= 0 && u32(tail, at) !== 0x06054b50) at--;
      if (at < 0) throw new Error('the archive is not a ZIP file');
      var count = u16(tail, at + 10), cdSize = u32(tail, at + 12), cdAt = u32(tail, at + 16);
      var zip64 = cdAt === 0xffffffff || count === 0xffff;
      var located = zip64 ? range(u64(tail, at - 12), u64(tail, at - 12) + 56).then(function (e) {
        return { count: u64(e, 32), cdSize: u64(e, 40), cdAt: u64(e, 48) };
      }) : Promise.resolve({ count: count, cdSize: cdSize, cdAt: cdAt });
      return located.then(function (d) { return range(d.cdAt, d.cdAt + d.cdSize).then(function (cd) { return { cd: cd, count: d.count }; }); });
    }).then(function (d) {
      var entries = {}, at = 0, dec = new TextDecoder();
      for (var i = 0; i < d.count; i++) {
        if (u32(d.cd, at) !== 0x02014b50) throw new Error('the archive\'s directory is damaged');
        var method = u16(d.cd, at + 10), size = u32(d.cd, at + 24), nameLen = u16(d.cd, at + 28);
        var extraLen = u16(d.cd, at + 30), commentLen = u16(d.cd, at + 32), local = u32(d.cd, at + 42);
        var name = dec.decode(d.cd.subarray(at + 46, at + 46 + nameLen));
        var extra = at + 46 + nameLen, end = extra + extraLen;
        while (extra + 4 <= end) { // ZIP64: the sizes and offset held there
          var id = u16(d.cd, extra), len = u16(d.cd, extra + 2), f = extra + 4;
          if (id === 1) {
            if (size === 0xffffffff) { size = u64(d.cd, f); f += 16; }
            if (local === 0xffffffff) { local = u64(d.cd, f); }
          }
          extra += 4 + len;
        }
        if (method !== 0) throw new Error(name + ' is compressed: a WACZ stores its files');
        entries[name] = { size: size, local: local };
        at = end + commentLen;
      }
      return entries;
    });
  }

  /* Packages up to this size are checked at once; a larger one (all of it
   * is read) when the reader asks. */
  var AT_ONCE = 64 * 1024 * 1024;

  function check(entries) {
    return Promise.resolve(entries).then(function (entries) {
      var read = function (name) {
        var e = entries[name];
        return range(e.local, e.local + 30).then(function (h) {
          var start = e.local + 30 + u16(h, 26) + u16(h, 28);
          return e.size ? range(start, start + e.size) : new Uint8Array(0);
        });
      };
      return window.SourceLedgerVerify.verifyPackage({ names: Object.keys(entries), read: read }, vkey, waczKey);
    }).catch(function (e) { return { ok: false, reason: String(e && e.message || e) }; });
  }

  function show(verdict) {
    if (verdict.ok) {
      status.setAttribute('data-state', 'verified');
      status.textContent = '\u2713 Checked in your browser: this archive\u2019s ' + verdict.files +
        ' files are the ones its signed list names, it is signed with the newsroom\u2019s archive key, and each of its ' +
        verdict.warcs + ' captures is the one ' + verdict.origin + '\u2019s ledger recorded (checkpoint of ' + verdict.size +
        ' entries), checked against the keys this server publishes.';
    } else {
      status.setAttribute('data-state', 'failed');
      status.setAttribute('data-reason', verdict.reason);
      status.textContent = '\u2717 This archive does not check: ' + verdict.reason + '. Do not rely on it.';
    }
  }

  directory().then(function (entries) {
    var total = Object.keys(entries).reduce(function (n, k) { return n + entries[k].size; }, 0);
    if (total <= AT_ONCE) return check(entries).then(show);
    status.setAttribute('data-state', 'ready');
    status.textContent = 'Your browser can check this whole archive (' + Math.round(total / 1048576) +
      ' MiB to read) against the newsroom\u2019s keys and ledger. ';
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Check the archive';
    button.addEventListener('click', function () {
      status.setAttribute('data-state', 'checking');
      status.textContent = 'Checking the archive in your browser\u2026';
      check(entries).then(show);
    });
    status.appendChild(button);
  }).catch(function (e) { show({ ok: false, reason: String(e && e.message || e) }); });
})();
