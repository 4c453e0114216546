/* sourceledger: the source panel a newsroom puts under its articles.
 *   <div data-sourceledger="SLUG" data-vkey="VKEY"></div>
 *   <script src="https://LEDGER/embed.js" async></script>
 * Optional on the div: data-identity="ghost" (the reader's Ghost session,
 * from the host site's /members/api/session, exchanged for a sourceledger
 * token) or data-token-provider="NAME" (window[NAME]() returns a Promise of a
 * sourceledger token, or of null for a reader who is not signed in).
 * Renders into a shadow root (the host page's styles and ours never meet;
 * sizes in em from the reader's own default font size, whatever the host's
 * root font size),
 * with textContent only. The div carries data-state: loading, teaser,
 * verified or failed (then data-reason). The key the proofs are checked
 * against is data-vkey, never something the ledger sends. Served after
 * verify.js in the same file, so SourceLedgerVerify is defined. */
(function () {
  'use strict';
  var script = document.currentScript;
  var ledger = script && script.src ? new URL(script.src).origin : null;
  var CSS = ':host{all:initial;display:block;font:medium/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;' +
    'border:1px solid #c8c8c8;border-radius:6px;padding:1em 1.2em;margin:1.5em 0;max-width:46em;box-sizing:border-box}' +
    '*{box-sizing:border-box}h2{font-size:1.2em;margin:0 0 .5em}h3{font-size:1.05em;margin:0 0 .2em}' +
    'ol{padding-left:1.3em;margin:.5em 0}li{margin:0 0 1em}p{margin:.25em 0}a{color:#0b4f9c}' +
    'a:focus,a:hover{color:#062f5f;outline:2px solid #062f5f;outline-offset:2px}.meta,.state{color:#3d3d3d;font-size:.92em}' +
    'blockquote{margin:.4em 0;padding-left:.8em;border-left:3px solid #8a8a8a}' +
    '.mark{font-weight:600;padding:.4em .6em;border-radius:4px;background:#f2f2f2}' +
    '.mark[data-state=verified]{background:#e6f4ea;color:#0d5a27}.mark[data-state=failed]{background:#fde8e8;color:#8a1111}' +
    '.cta{margin-top:.8em}.button{display:inline-block;padding:.45em .9em;background:#0b4f9c;color:#fff;text-decoration:none;border-radius:4px;font-weight:600}' +
    '.button:hover,.button:focus{background:#062f5f;color:#fff}.retracted h3{text-decoration:line-through}';

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }
  /* A link only to the web: never javascript: or data: from a record. */
  function link(href, text, cls) {
    if (typeof href !== 'string' || !/^https?:\/\//i.test(href)) return text;
    var attrs = { href: href, rel: 'noopener noreferrer' };
    if (cls) attrs['class'] = cls;
    return el('a', attrs, [text]);
  }
  function day(text) { return typeof text === 'string' ? text.slice(0, 10) : ''; }
  function kind(text) { return String(text).replace(/_/g, ' '); }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  function tally(counts) {
    return Object.keys(counts || {}).map(function (k) { return kind(k) + ' (' + counts[k] + ')'; }).join(', ');
  }

  function teaser(list) {
    var parts = [el('h2', {}, [plural(list.source_count, 'source') + ' behind this article'])];
    if (list.source_count) {
      parts.push(el('p', { 'class': 'meta' }, ['Kinds: ' + tally(list.kinds) + '. Languages: ' + tally(list.languages) + '.']));
    }
    parts.push(el('ol', {}, (list.sources || []).map(function (s) {
      var meta = s.sealed ? kind(s.kind) + ' \u00b7 its record is sealed in the ledger'
        : s.publisher + ' \u00b7 ' + kind(s.kind) + ' \u00b7 ' + s.language;
      return el('li', {}, [el('h3', {}, [s.title]), el('p', { 'class': 'meta' }, [meta])]);
    })));
    if (list.retracted_count) {
      parts.push(el('p', { 'class': 'meta' }, [plural(list.retracted_count, 'retracted citation') + ', listed apart for subscribers.']));
    }
    var cta = el('div', { 'class': 'cta' }, [el('p', {}, [list.message])]);
    if (list.subscribe_url) cta.appendChild(el('p', {}, [link(list.subscribe_url, 'Subscribe', 'button')]));
    parts.push(cta);
    return parts;
  }

  function state(c) {
    if (c.status === 'verified') return 'Verified by ' + (c.verified_by || 'an editor') + ' on ' + day(c.verified_at);
    if (c.status === 'retracted') return 'Retracted on ' + day(c.retracted_at) + (c.retraction_reason ? ': ' + c.retraction_reason : '');
    return 'Attached by ' + c.attached_by + ' on ' + day(c.attached_at) + ', not yet verified by an editor';
  }

  /* The archived copy shown: one captured after the cited version (on
   * publication, say) when there is one, else the version's own. */
  function copyOf(s) {
    return s.later_archive_url || s.archive_url || null;
  }

  /* What the link monitor found, in words, when a reader should know it. */
  function linkNote(s) {
    var at = s.later_captured_at || s.captured_at;
    var archived = at ? 'the copy archived on ' + day(at) : 'the archived copy';
    var checked = '(checked ' + day(s.link_checked_at) + ')';
    var text = s.link_status === 'gone'
      ? 'This link no longer works ' + checked + (copyOf(s) ? ': read ' + archived + '.' : '.')
      : s.link_status === 'changed'
        ? 'The page has changed since it was archived ' + checked + '; ' + archived + ' shows what was cited.'
        : at ? 'Archived on ' + day(at) + '.' : null;
    return text ? el('p', { 'class': 'state', 'data-link-status': s.link_status }, [text]) : null;
  }

  /* The citation's own part: the quote, the claim and its state. */
  function cited(c) {
    return [
      c.quote ? el('blockquote', {}, [c.quote]) : null,
      c.quote_status === 'found' || c.quote_status === 'not_found'
        ? el('p', { 'class': 'state', 'data-quote-status': c.quote_status },
          [c.quote_status === 'found' ? 'Quote found in the archived copy.' : 'Quote not found in the archived copy.'])
        : null,
      el('p', {}, [el('strong', {}, ['Supports: ']), c.claim + ' (' + c.locator + ')']),
      el('p', { 'class': 'state' }, [state(c)])
    ];
  }

  /* A confidential source: its kind and the day it was sealed, never its
   * record; once disclosed, the record like any source's and since when it
   * was held. */
  function sealedItem(c, s) {
    if (typeof s.disclosure_index === 'number' && typeof s.url === 'string') {
      var shown = [s.publisher, kind(s.kind), s.language];
      if (s.published_at) shown.push('published ' + day(s.published_at));
      var links = el('p', {}, [link(s.url, 'Open the source: ' + s.title)]);
      if (s.archive_url) links.appendChild(el('span', {}, [' \u00b7 ', link(s.archive_url, 'Archived copy of ' + s.title)]));
      return el('li', { 'class': 'disclosed' }, [
        el('h3', {}, [s.title]),
        el('p', { 'class': 'meta' }, [shown.join(' \u00b7 ')]),
        el('p', {}, ['Held sealed since ' + day(s.recorded_at) + ', disclosed on ' + day(s.disclosed_at) + ': the disclosed record opens the commitment the ledger has held since that day.']),
        links
      ].concat(cited(c)));
    }
    var meta = kind(s.kind) + ' \u00b7 sealed by ' + s.recorded_by;
    if (s.disclosed_at) meta += ' \u00b7 disclosed on ' + day(s.disclosed_at);
    return el('li', { 'class': 'sealed' }, [
      el('h3', {}, ['A confidential source, sealed on ' + day(s.recorded_at)]),
      el('p', { 'class': 'meta' }, [meta]),
      el('p', {}, ['The newsroom keeps this source confidential. The ledger holds a commitment to its record, made on the day it was sealed, so the record disclosed later can be checked against it.'])
    ].concat(cited(c)));
  }

  /* Whether this server captured the copy shown (into a WARC the article's
   * web archive replays). */
  function replayable(s) {
    return s.later_capture_version != null || Boolean(s.captured_at && s.snapshot_sha256);
  }

  function item(entry, replay) {
    var c = entry.citation, s = entry.source;
    if (s.sealed === true) return sealedItem(c, s);
    var meta = [s.publisher, kind(s.kind), s.language];
    if (s.published_at) meta.push('published ' + day(s.published_at));
    var copy = copyOf(s);
    var gone = s.link_status === 'gone' && copy;
    var links = gone
      ? el('p', {}, [link(copy, 'Archived copy of ' + s.title), ' \u00b7 ', link(s.url, 'The original address (no longer answers)')])
      : el('p', {}, [link(s.url, 'Open the source: ' + s.title)]);
    if (copy && !gone) links.appendChild(el('span', {}, [' \u00b7 ', link(copy, 'Archived copy of ' + s.title)]));
    if (replay && replayable(s)) links.appendChild(el('span', {}, [' \u00b7 ', link(replay(s), 'Replay the archived copy')]));
    return el('li', {}, [
      el('h3', {}, [s.title]),
      el('p', { 'class': 'meta' }, [meta.join(' \u00b7 ')]),
      s.held_since ? el('p', { 'class': 'held' }, ['Held since ' + day(s.held_since) + ' by the newsroom, as its ledger entry proves.']) : null,
      linkNote(s),
      links
    ].concat(cited(c)));
  }

  /* The full list, from the JSON the ledger served: each citation joined
   * with its source and proofs the way the verifier reads them. */
  function full(list, mark, replay) {
    function entries(items) {
      return (items || []).map(function (i) { return item({ citation: i, source: i.source }, replay); });
    }
    var parts = [el('h2', {}, [plural((list.citations || []).length, 'source') + ' behind this article']), mark,
      el('ol', {}, entries(list.citations))];
    if ((list.retracted || []).length) {
      parts.push(el('h2', {}, ['Retracted citations']), el('ol', { 'class': 'retracted' }, entries(list.retracted)));
    }
    return parts;
  }

  function fetchJson(url, options) {
    return fetch(url, options).then(function (r) {
      if (!r.ok) { var e = new Error(url + ': ' + r.status); e.status = r.status; throw e; }
      return r.json();
    });
  }

  /* The reader's sourceledger token, or null for an anonymous reader. */
  function token(host) {
    var provider = host.getAttribute('data-token-provider');
    if (provider) {
      var fn = window[provider];
      return typeof fn === 'function' ? Promise.resolve(fn()).catch(function () { return null; }) : Promise.resolve(null);
    }
    if (host.getAttribute('data-identity') === 'ghost') {
      return fetch('/members/api/session', { credentials: 'same-origin' }).then(function (r) {
        return r.ok ? r.text() : '';
      }).then(function (identity) {
        if (!identity) return null;
        return fetchJson(ledger + '/v1/auth/exchange', {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ identity_token: identity.trim() })
        }).then(function (answer) { return answer.access_token; });
      }).catch(function () { return null; });
    }
    return Promise.resolve(null);
  }

  function render(host) {
    if (host.__sourceledger) return;
    host.__sourceledger = true;
    var root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === 'function') {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el('style', {}, [CSS]));
    }
    var body = el('section', { 'aria-label': 'Sources behind this article' }, [el('p', { 'class': 'meta' }, ['Loading the sources\u2026'])]);
    root.appendChild(body);
    function show(parts) {
      while (body.firstChild) body.removeChild(body.firstChild);
      parts.forEach(function (p) { body.appendChild(p); });
    }
    function settle(name, reason) {
      host.setAttribute('data-state', name);
      if (reason) host.setAttribute('data-reason', reason); else host.removeAttribute('data-reason');
    }
    settle('loading');
    var slug = host.getAttribute('data-sourceledger') || '';
    var vkey = host.getAttribute('data-vkey');
    var url = ledger + '/v1/articles/' + encodeURIComponent(slug) + '/sources';
    var reader = null;
    function load(bearer) {
      reader = bearer;
      var headers = { Accept: 'application/json' };
      if (bearer) headers.Authorization = 'Bearer ' + bearer;
      return fetchJson(url, { headers: headers, credentials: 'omit' }).catch(function (e) {
        // An expired or revoked token: the reader sees what anyone sees.
        if (bearer && e.status === 401) return load(null);
        throw e;
      });
    }
    return token(host).then(load).then(function (list) {
      if (list.locked) { show(teaser(list)); settle('teaser'); return; }
      var mark = el('p', { 'class': 'mark', role: 'status', 'aria-live': 'polite', 'data-state': 'loading' },
        ['Checking every proof in your browser\u2026']);
      // Replay (when the newsroom offers it) opens on this server with the
      // reader's token, which it turns into a grant for the one archive.
      var replay = list.replay && reader ? function (s) {
        return ledger + list.replay + '?url=' + encodeURIComponent(s.url) + '&token=' + encodeURIComponent(reader);
      } : null;
      show(full(list, mark, replay));
      // The time the check takes, for anyone who asks the page (Performance API).
      performance.mark('sourceledger:verify-start');
      var check = vkey ? window.SourceLedgerVerify.verifyList(list, vkey)
        : Promise.resolve({ ok: false, reason: 'the embed tag gives no data-vkey to check against' });
      // With witness keys (data-witnesses, space-separated; data-quorum,
      // default all of them), the list's checkpoint must be one those
      // witnesses cosigned, or be consistent with one they did.
      var witnesses = (host.getAttribute('data-witnesses') || '').split(/\s+/).filter(Boolean);
      var quorum = Number(host.getAttribute('data-quorum') || witnesses.length);
      var witnessed = null;
      if (witnesses.length) {
        check = check.then(function (verdict) {
          if (!verdict.ok) return verdict;
          return window.SourceLedgerVerify.verifyWitnessed(list, vkey, witnesses, quorum, function (path) {
            return fetchJson(ledger + path, { credentials: 'omit' });
          }).then(function (w) {
            if (!w.ok) return w;
            witnessed = w;
            return verdict;
          });
        });
      }
      return check.then(function (verdict) {
        performance.measure('sourceledger:verify', 'sourceledger:verify-start');
        if (verdict.ok) {
          mark.setAttribute('data-state', 'verified');
          mark.textContent = '\u2713 Verified in your browser: every source and citation here is in ' + verdict.origin +
            '\u2019s ledger, proven to its signed checkpoint of ' + verdict.size + ' entries (the newest fact recorded ' +
            day(verdict.latest) + '), checked against the newsroom\u2019s key.' +
            (witnessed ? ' Witnessed by ' + witnessed.witnesses.length + ' of the ' + witnesses.length + ' witnesses you trust (' +
              witnessed.witnesses.join(', ') + '), who cosigned the ledger at ' + witnessed.size + ' entries.' : '');
          if (witnessed) host.setAttribute('data-witnessed', String(witnessed.witnesses.length));
          settle('verified');
        } else {
          mark.setAttribute('data-state', 'failed');
          mark.textContent = '\u2717 Not verified: ' + verdict.reason + '. Do not rely on this list.';
          settle('failed', verdict.reason);
        }
      });
    }).catch(function (e) {
      show([el('p', { 'class': 'meta' }, ['The sources could not be loaded.'])]);
      settle('failed', 'the list could not be loaded: ' + (e && e.message ? e.message : e));
    });
  }

  function start() {
    if (!ledger) return;
    Array.prototype.forEach.call(document.querySelectorAll('[data-sourceledger]'), render);
  }
  window.SourceLedgerPanel = { render: render };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
