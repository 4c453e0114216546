/* sourceledger: checks a verified source list in the reader's browser, trusting
 * nothing but the newsroom's verifier key (vkey), which the page or the embed
 * tag gives, never the server being checked. The checkpoint's Ed25519
 * signature with WebCrypto; each leaf's hash (SHA-256 of 0x00 || leaf) and its
 * RFC 9162 inclusion proof to the checkpoint's root; each fact shown equal to
 * what its leaf records. The same checks as `sourceledger verify`.
 * Defines SourceLedgerVerify.verifyList(list, vkey) -> Promise of
 * {ok: true, size, origin, latest} (latest: the newest time a fact shown was
 * recorded) or {ok: false, reason}; verifyWitnessed (below) for the
 * witnesses a reader trusts; and verifyPackage for a WACZ web archive (the
 * replay page). No dependencies. */
(function (global) {
  'use strict';
  var subtle = global.crypto && global.crypto.subtle;
  var enc = new TextEncoder();

  function fail(reason) { var e = new Error(reason); e.verifyReason = reason; throw e; }
  function b64(text) {
    var bin = atob(text), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(text) {
    if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/.test(text)) fail('not lowercase hex: ' + text);
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }
  function toHex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join('');
  }
  function concat() {
    var total = 0, i, parts = arguments;
    for (i = 0; i < parts.length; i++) total += parts[i].length;
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }
  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function sha256(bytes) {
    return subtle.digest('SHA-256', bytes).then(function (d) { return new Uint8Array(d); });
  }
  var LEAF = new Uint8Array([0]), NODE = new Uint8Array([1]);

  /* RFC 8785 (JCS): what the ledger hashes records as. */
  function jcs(value) {
    if (value === undefined) value = null;
    if (Array.isArray(value)) return '[' + value.map(jcs).join(',') + ']';
    if (value !== null && typeof value === 'object') {
      return '{' + Object.keys(value).sort().map(function (k) {
        return JSON.stringify(k) + ':' + jcs(value[k]);
      }).join(',') + '}';
    }
    return JSON.stringify(value);
  }

  /* The vkey: <name>+<hex key id>+<base64(0x01 || Ed25519 public key)>. */
  function parseVkey(vkey) {
    // Names hold no '+', but base64 may: split from the left.
    var text = String(vkey).trim(), first = text.indexOf('+'), second = text.indexOf('+', first + 1);
    if (first < 1 || second < 0) fail('the vkey is not name+id+key');
    var parts = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
    var key = b64(parts[2]);
    if (key.length !== 33 || key[0] !== 1) fail('the vkey is not an Ed25519 key');
    return sha256(concat(enc.encode(parts[0] + '\n'), key)).then(function (digest) {
      if (toHex(digest.slice(0, 4)) !== parts[1].toLowerCase()) fail('the vkey id does not match its key');
      return { name: parts[0], id: digest.slice(0, 4), key: key.slice(1) };
    });
  }

  /* A C2SP signed note: body, blank line, signature lines. */
  function openCheckpoint(note, vkey) {
    if (!subtle) fail('this browser has no WebCrypto');
    var split = note.indexOf('\n\n');
    if (split < 0) fail('the checkpoint is not a signed note');
    var body = note.slice(0, split + 1);
    var lines = body.split('\n');
    if (lines.length < 4) fail('the checkpoint body is short');
    var size = BigInt(lines[1]);
    var root = b64(lines[2]);
    return parseVkey(vkey).then(function (k) {
      var sigs = note.slice(split + 2).split('\n').filter(function (l) { return l.length; });
      var mine = null;
      sigs.forEach(function (line) {
        var m = /^\u2014 (\S+) (\S+)$/.exec(line);
        if (!m || m[1] !== k.name) return;
        var raw = b64(m[2]);
        if (raw.length === 68 && equalBytes(raw.slice(0, 4), k.id)) mine = raw.slice(4);
      });
      if (!mine) fail('the checkpoint has no signature by ' + k.name);
      return subtle.importKey('raw', k.key, { name: 'Ed25519' }, false, ['verify']).catch(function () {
        fail('this browser cannot check Ed25519 signatures (WebCrypto Ed25519 is missing)');
      }).then(function (key) {
        return subtle.verify({ name: 'Ed25519' }, key, mine, enc.encode(body));
      }).then(function (good) {
        if (!good) fail('the checkpoint signature does not verify with the newsroom key');
        return { origin: lines[0], size: size, root: root };
      });
    });
  }

  /* RFC 9162 2.1.3.2. */
  function checkInclusion(index, size, leafHash, root, proof) {
    var fn = BigInt(index), sn = size - 1n, r = Promise.resolve(leafHash);
    if (fn >= size) fail('entry ' + index + ' is past the checkpoint');
    proof.forEach(function (p) {
      var node = hex(p);
      r = r.then(function (r) {
        if (sn === 0n) fail('entry ' + index + ': the proof is too long');
        var next;
        if ((fn & 1n) === 1n || fn === sn) {
          next = sha256(concat(NODE, node, r));
          if ((fn & 1n) === 0n) { while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } }
        } else {
          next = sha256(concat(NODE, r, node));
        }
        fn >>= 1n; sn >>= 1n;
        return next;
      });
    });
    return r.then(function (r) {
      if (sn !== 0n || !equalBytes(r, root)) fail('entry ' + index + ': the inclusion proof does not lead to the checkpoint');
    });
  }

  function checkLeaf(proven, cp) {
    if (!proven || typeof proven.leaf !== 'string') fail('a fact has no proof');
    var text = enc.encode(proven.leaf);
    return sha256(concat(LEAF, text)).then(function (h) {
      if (toHex(h) !== proven.leaf_hash) fail('entry ' + proven.index + ': the leaf does not hash to its leaf_hash');
      return checkInclusion(proven.index, cp.size, h, cp.root, proven.proof || []);
    }).then(function () {
      var leaf = JSON.parse(proven.leaf);
      // The ledger's times are UTC with microseconds: they sort as text.
      if (typeof leaf.at === 'string' && (!cp.latest || leaf.at > cp.latest)) cp.latest = leaf.at;
      return leaf;
    });
  }

  function same(a, b) { return jcs(a) === jcs(b); }

  /* A proven fact. A disclosure (embargo.disclosed) must come with the
   * commitment it opens, both proven, and stands for what it discloses, held
   * since the commitment's time; a commitment not yet disclosed (a draft's,
   * shown to staff) must come with its opening; any other entry stands for
   * itself. -> {leaf, index, held_since}. */
  function checkFact(proven, cp) {
    return checkLeaf(proven, cp).then(function (leaf) {
      if (leaf.kind === 'embargo.disclosed') {
        if (!proven.commitment) fail('entry ' + proven.index + ': a disclosure shown without the commitment it opens');
        return checkLeaf(proven.commitment, cp).then(function (c) { return open(c, proven.commitment.index, leaf.record); });
      }
      if (leaf.kind === 'embargo.committed') {
        if (!proven.opening) fail('entry ' + proven.index + ' is committed to and not disclosed: nothing it records can be shown');
        return open(leaf, proven.index, proven.opening);
      }
      return { leaf: leaf, index: proven.index, held_since: leaf.at };
    });
  }

  /* Whether `opening` ({kind, actor, record, salt}, and index for a
   * disclosure) opens the commitment entry `c` at `index`:
   * SHA-256(salt || JCS({actor, record})) is its commitment. */
  function open(c, index, opening) {
    if (c.kind !== 'embargo.committed') fail('entry ' + index + ' is not a commitment');
    if (opening.index !== undefined && opening.index !== index) fail('the disclosure names another commitment than entry ' + index);
    var actor = String(opening.actor), record = opening.record;
    if (c.record.kind !== opening.kind || actor.split(':')[0] !== c.actor) fail('the disclosure of entry ' + index + ' is not of what it committed to');
    var salt = hex(opening.salt || '');
    if (salt.length !== 32 || !record || typeof record !== 'object') fail('the disclosure of entry ' + index + ' has no salt or record');
    return sha256(concat(salt, enc.encode(jcs({ actor: actor, record: record })))).then(function (h) {
      if (toHex(h) !== c.record.commitment) fail('the disclosed record and salt do not open the commitment of entry ' + index);
      return { leaf: { kind: opening.kind, at: c.at, actor: actor, record: record }, index: index, held_since: c.at };
    });
  }

  function checkHeldSince(shown, fact, what) {
    if (shown.held_since !== undefined && shown.held_since !== fact.held_since) fail(what + ': held_since is not what the ledger proves');
  }

  function checkShown(leaf, shown, rename, skip, what) {
    var record = leaf.record || {};
    Object.keys(record).forEach(function (key) {
      if (skip.indexOf(key) >= 0) return;
      var name = rename[key] || key;
      if (!same(shown[name], record[key])) fail(what + ': ' + name + ' is not what the ledger records');
    });
  }

  function checkDerived(fact, shown, fields, what) {
    var leaf = fact.leaf;
    if (shown.ledger_index !== fact.index) fail(what + ': ledger_index is not the proven entry');
    Object.keys(fields).forEach(function (name) {
      var expected = fields[name] === 'at' ? leaf.at : leaf.actor;
      if (shown[name] !== expected) fail(what + ': ' + name + ' is not what the entry says');
    });
  }

  /* A link state shown other than "unchecked" must be what the link
   * monitor's last source.link entry for this source and URL records. */
  function checkLink(item, source, what, cp) {
    var shown = source.link_status || 'unchecked';
    if (!item.proof.link) {
      if (shown !== 'unchecked') fail(what + ': its link state "' + shown + '" is not proven');
      return Promise.resolve();
    }
    return checkLeaf(item.proof.link, cp).then(function (leaf) {
      var r = leaf.record || {};
      if (leaf.kind !== 'source.link' || r.source_id !== source.id || r.url !== source.url) {
        fail(what + ': its link proof records another entry, source or URL');
      }
      if (r.status !== shown) fail(what + ': its link state is not what the ledger records');
    });
  }

  /* An archived copy captured after the cited version must be what that
   * later version's source.captured entry records, for this source. */
  function checkCapture(item, source, what, cp) {
    var shown = source.later_archive_url;
    if (!item.proof.capture) {
      if (shown || source.later_snapshot_sha256 || source.later_capture_version) fail(what + ': its later archived copy is not proven');
      return Promise.resolve();
    }
    return checkFact(item.proof.capture, cp).then(function (fact) {
      var leaf = fact.leaf;
      var r = leaf.record || {};
      if (leaf.kind !== 'source.captured' || r.id !== source.id || r.version !== source.later_capture_version) {
        fail(what + ': its later archived copy is proven by another entry or source');
      }
      if (r.archive_url !== shown || r.snapshot_sha256 !== source.later_snapshot_sha256 || r.captured_at !== source.later_captured_at) {
        fail(what + ': its later archived copy is not what the ledger records');
      }
    });
  }

  /* A quote state shown as found or not_found must be what the
   * citation's last citation.quote entry records, and a selector shown
   * must be the one it records. */
  function checkQuote(item, what, cp) {
    var shown = item.quote_status;
    if (!item.proof.quote) {
      if (shown && shown !== 'unchecked') fail(what + ': its quote state "' + shown + '" is not proven');
      return Promise.resolve();
    }
    return checkFact(item.proof.quote, cp).then(function (fact) {
      var leaf = fact.leaf;
      var r = leaf.record || {};
      if (leaf.kind !== 'citation.quote' || r.citation_id !== item.id) {
        fail(what + ': its quote proof records another entry or citation');
      }
      if (r.status !== shown) fail(what + ': its quote state is not what the ledger records');
      var selector = shown === 'found' ? jcs(item.quote_selector || null) : 'null';
      if (shown === 'found' && jcs(r.selector || null) !== selector) {
        fail(what + ': where its quote was found is not what the ledger records');
      }
    });
  }

  var DISCLOSED_FIELDS = ['url', 'title', 'publisher', 'language', 'published_at', 'accessed_at',
    'snapshot_sha256', 'archive_url', 'doi'];

  /* A sealed source's disclosure: shown only with its source.disclosed
   * entry, which must be of this seal and whose record and salt must open
   * the seal's commitment: SHA-256(salt || JCS(record)). */
  function checkDisclosure(item, source, seal, what, cp) {
    var proven = item.proof.disclosure;
    if (!proven) {
      if (source.disclosed_at != null) fail(what + ': its disclosure is shown but not proven');
      DISCLOSED_FIELDS.forEach(function (f) {
        if (source[f] != null) fail(what + ': ' + f + ' is shown with no proven disclosure');
      });
      return Promise.resolve();
    }
    return checkLeaf(proven, cp).then(function (leaf) {
      var r = leaf.record || {}, record = r.record || {};
      if (leaf.kind !== 'source.disclosed' || r.id !== source.id
        || r.commitment !== seal.record.commitment || r.sealed_index !== item.proof.source.index) {
        fail(what + ': its disclosure proof is not the disclosure of its seal');
      }
      var salt = hex(r.salt || '');
      if (salt.length !== 32) fail(what + ': the disclosed salt is not 32 bytes');
      return sha256(concat(salt, enc.encode(jcs(record)))).then(function (h) {
        if (toHex(h) !== seal.record.commitment) fail(what + ': the disclosed record does not open the seal');
        if (record.id !== source.id || record.kind !== source.kind) fail(what + ': the disclosed record is of another source');
        DISCLOSED_FIELDS.forEach(function (f) {
          if (!same(source[f], record[f])) fail(what + ': ' + f + ' is not what the disclosed record says');
        });
        if (source.disclosure_index !== proven.index || source.disclosed_at !== leaf.at || source.disclosed_by !== leaf.actor) {
          fail(what + ': when and by whom it was disclosed is not what the entry says');
        }
      });
    });
  }

  function checkCitation(item, slug, retracted, cp) {
    var source = item.source || {};
    var what = source.sealed === true ? 'the confidential source ' + source.id : 'source "' + source.title + '"';
    return checkFact(item.proof && item.proof.source, cp).then(function (fact) {
      var leaf = fact.leaf;
      checkHeldSince(source, fact, what);
      /* A sealed source is shown as what its seal records (id, kind,
       * commitment); an open one as its recorded version. Neither may pass
       * for the other. */
      var sealed = leaf.kind === 'source.sealed';
      if (leaf.kind.indexOf('source.') !== 0 || sealed !== (source.sealed === true)) {
        fail(what + ': its proof is a ' + leaf.kind + ' entry');
      }
      checkShown(leaf, source, {}, [], what);
      checkDerived(fact, source, { recorded_at: 'at', recorded_by: 'actor' }, what);
      if (sealed) {
        if (item.proof.link || source.version !== 0) fail(what + ': a sealed source has no link and no versions');
        return checkDisclosure(item, source, leaf, what, cp).then(function () {
          return checkFact(item.proof.citation, cp);
        });
      }
      return sha256(enc.encode(jcs(leaf.record))).then(function (h) {
        if (toHex(h) !== source.record_sha256) fail(what + ': record_sha256 is not the hash of the recorded source');
        return checkLink(item, source, what, cp);
      }).then(function () {
        return checkCapture(item, source, what, cp);
      }).then(function () {
        return checkFact(item.proof.citation, cp);
      });
    }).then(function (fact) {
      var leaf = fact.leaf;
      var cwhat = 'the citation of ' + what;
      checkHeldSince(item, fact, cwhat);
      if (leaf.kind.indexOf('citation.') !== 0) fail(cwhat + ': its proof is a ' + leaf.kind + ' entry');
      checkShown(leaf, item, { reason: 'retraction_reason' }, [], cwhat);
      var made = leaf.kind === 'citation.verified' ? { verified_by: 'actor', verified_at: 'at' }
        : leaf.kind === 'citation.retracted' ? { retracted_by: 'actor', retracted_at: 'at' }
          : { attached_by: 'actor', attached_at: 'at' };
      checkDerived(fact, item, made, cwhat);
      var r = leaf.record;
      if (r.article !== slug || r.source_id !== source.id || r.source_version !== source.version) {
        fail(cwhat + ': it records another article or source version');
      }
      if ((r.status === 'retracted') !== retracted) fail(cwhat + ': listed in the wrong place for its state');
      return checkQuote(item, cwhat, cp);
    });
  }

  /* A witness's vkey (C2SP tlog-cosignature): name+id+base64(0x04 || Ed25519 key). */
  function parseWitnessKey(vkey) {
    var text = String(vkey).trim(), first = text.indexOf('+'), second = text.indexOf('+', first + 1);
    if (first < 1 || second < 0) fail('a witness key is not name+id+key');
    var name = text.slice(0, first), key = b64(text.slice(second + 1));
    if (key.length !== 33 || key[0] !== 4) fail('a witness key is not a cosignature/v1 key');
    return sha256(concat(enc.encode(name + '\n'), key)).then(function (digest) {
      if (toHex(digest.slice(0, 4)) !== text.slice(first + 1, second).toLowerCase()) fail('a witness key id does not match its key');
      return subtle.importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify']).then(function (k) {
        return { name: name, id: digest.slice(0, 4), key: k };
      });
    });
  }

  /* The witnesses whose cosignature/v1 on `note` verifies: each signs
   * "cosignature/v1\ntime T\n" and the checkpoint's text; the line holds the
   * key id, T (8 bytes, big-endian) and the Ed25519 signature. */
  function cosigners(note, witnesses) {
    var split = note.indexOf('\n\n');
    if (split < 0) fail('a checkpoint is not a signed note');
    var body = note.slice(0, split + 1);
    var lines = note.slice(split + 2).split('\n');
    return Promise.all(witnesses.map(function (w) {
      var tries = lines.map(function (line) {
        var m = /^\u2014 (\S+) (\S+)$/.exec(line);
        if (!m || m[1] !== w.name) return null;
        var raw = b64(m[2]);
        if (raw.length !== 76 || !equalBytes(raw.slice(0, 4), w.id)) return null;
        var time = 0n;
        for (var i = 4; i < 12; i++) time = (time << 8n) | BigInt(raw[i]);
        var signed = enc.encode('cosignature/v1\ntime ' + time + '\n' + body);
        return subtle.verify({ name: 'Ed25519' }, w.key, raw.slice(12), signed);
      }).filter(Boolean);
      return Promise.all(tries).then(function (good) { return good.indexOf(true) >= 0 ? w.name : null; });
    })).then(function (names) { return names.filter(Boolean); });
  }

  /* RFC 9162 2.1.4.2: the tree of `second` entries extends the one of `first`. */
  function checkConsistency(first, second, firstRoot, secondRoot, proof) {
    if (first === second) {
      if (proof.length || !equalBytes(firstRoot, secondRoot)) fail('two different trees of ' + first + ' entries');
      return Promise.resolve();
    }
    if (first > second || first === 0n || !proof.length) fail('no consistency proof from ' + first + ' to ' + second + ' entries');
    var path = proof.map(hex);
    if ((first & (first - 1n)) === 0n) path.unshift(firstRoot);
    var fn = first - 1n, sn = second - 1n;
    while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
    var fr = Promise.resolve(path[0]), sr = Promise.resolve(path[0]);
    path.slice(1).forEach(function (c) {
      var step = Promise.all([fr, sr]).then(function (both) {
        if (sn === 0n) fail('the consistency proof is too long');
        var f = both[0], r = both[1], out;
        if ((fn & 1n) === 1n || fn === sn) {
          out = Promise.all([sha256(concat(NODE, c, f)), sha256(concat(NODE, c, r))]);
          if ((fn & 1n) === 0n) { while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } }
        } else {
          out = Promise.all([f, sha256(concat(NODE, r, c))]);
        }
        fn >>= 1n; sn >>= 1n;
        return out;
      });
      fr = step.then(function (both) { return both[0]; });
      sr = step.then(function (both) { return both[1]; });
    });
    return Promise.all([fr, sr]).then(function (both) {
      if (sn !== 0n || !equalBytes(both[0], firstRoot) || !equalBytes(both[1], secondRoot)) {
        fail('the consistency proof from ' + first + ' to ' + second + ' entries does not verify');
      }
    });
  }

  /* After verifyList: that `quorum` of the witnesses (their vkeys) cosigned
   * the list's checkpoint or a later one it is consistent with, so the
   * newsroom cannot show this reader a history those witnesses did not see.
   * `get(path)` fetches JSON from the ledger. -> Promise of {ok: true,
   * witnesses: [names], size} or {ok: false, reason}. */
  function verifyWitnessed(list, vkey, witnessKeys, quorum, get) {
    return Promise.resolve().then(function () {
      if (!witnessKeys.length) fail('no witness keys given');
      if (!(quorum >= 1 && quorum <= witnessKeys.length)) fail('the quorum must be 1 to the ' + witnessKeys.length + ' witnesses given');
      return Promise.all(witnessKeys.map(parseWitnessKey));
    }).then(function (witnesses) {
      return openCheckpoint(list.checkpoint, vkey).then(function (mine) {
        return get('/v1/ledger/checkpoints?after=' + (mine.size - 1n) + '&limit=1000').then(function (page) {
          var items = (page && page.checkpoints) || [], i = 0;
          function next() {
            if (i >= items.length) fail('no checkpoint since this list\u2019s is cosigned by ' + quorum + ' of the witnesses given yet');
            var item = items[i++];
            if (typeof item.note !== 'string') return next();
            return cosigners(item.note, witnesses).then(function (names) {
              if (names.length < quorum) return next();
              return openCheckpoint(item.note, vkey).then(function (theirs) {
                var proof = theirs.size === mine.size ? Promise.resolve({ proof: [] })
                  : get('/v1/ledger/proof/consistency?first=' + mine.size + '&second=' + theirs.size);
                return proof.then(function (p) {
                  return checkConsistency(mine.size, theirs.size, mine.root, theirs.root, (p && p.proof) || []);
                }).then(function () { return { ok: true, witnesses: names, size: Number(theirs.size) }; });
              });
            });
          }
          return next();
        });
      });
    }).catch(function (e) {
      return { ok: false, reason: e && e.verifyReason ? e.verifyReason : 'the witnesses could not be checked: ' + e };
    });
  }

  function verifyList(list, vkey) {
    return Promise.resolve().then(function () {
      if (!list || typeof list.checkpoint !== 'string') fail('no checkpoint: not a verified list');
      return openCheckpoint(list.checkpoint, vkey);
    }).then(function (cp) {
      if (BigInt(list.tree_size) !== cp.size) fail('tree_size is not the checkpoint size');
      var article = list.article;
      var checks = checkFact(article.proof, cp).then(function (fact) {
        var leaf = fact.leaf;
        if (leaf.kind.indexOf('article.') !== 0) fail('the article proof is a ' + leaf.kind + ' entry');
        checkShown(leaf, article, {}, ['reason'], 'the article');
        checkDerived(fact, article, { updated_at: 'at' }, 'the article');
      });
      [['citations', false], ['retracted', true]].forEach(function (pair) {
        (list[pair[0]] || []).forEach(function (item) {
          checks = checks.then(function () { return checkCitation(item, article.slug, pair[1], cp); });
        });
      });
      return checks.then(function () {
        return { ok: true, size: Number(cp.size), origin: cp.origin, latest: cp.latest };
      });
    }).catch(function (e) {
      return { ok: false, reason: e && e.verifyReason ? e.verifyReason : 'the check could not be made: ' + e };
    });
  }

  /* A WACZ package (SPEC "Web archives (WACZ)"), the way `sourceledger
   * verify --wacz` checks it: `pkg` is {names: [file names], read(name) ->
   * Promise of its bytes}. Every file hashes as datapackage.json lists it
   * and none is unlisted; the digest names datapackage.json's hash; the
   * signature (ECDSA P-384 over SHA-256 of the hash text, raw r || s) is by
   * `waczKey` (the newsroom's, base64 SPKI); each WARC is the one its proven
   * ledger entry records, in a checkpoint signed with `vkey`; no WARC goes
   * unproven. -> {ok: true, files, warcs, size, origin} or {ok: false, reason}. */
  function verifyPackage(pkg, vkey, waczKey) {
    var json = function (name) {
      if (pkg.names.indexOf(name) < 0) fail('the archive has no ' + name);
      return pkg.read(name).then(function (bytes) { return { bytes: bytes, value: JSON.parse(new TextDecoder().decode(bytes)) }; });
    };
    var hashes = {};
    return Promise.all([json('datapackage.json'), json('datapackage-digest.json'), json('ledger/proofs.json')]).then(function (got) {
      var dp = got[0], digest = got[1].value, proofs = got[2].value;
      return sha256(dp.bytes).then(function (h) {
        var hash = 'sha256:' + toHex(h), signed = digest.signedData || {};
        if (digest.path !== 'datapackage.json' || digest.hash !== hash || signed.hash !== hash) fail('the signed digest does not name this archive\'s file list');
        if (signed.created !== dp.value.created) fail('the signature\'s date is not the archive\'s');
        if (waczKey && signed.publicKey !== waczKey) fail('the archive is signed with another key than the newsroom\'s');
        return subtle.importKey('spki', b64(signed.publicKey || ''), { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']).catch(function () {
          fail('the archive\'s signing key is not an ECDSA P-384 key');
        }).then(function (key) {
          return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, b64(signed.signature || ''), enc.encode(hash));
        });
      }).then(function (good) {
        if (!good) fail('the archive\'s signature does not verify');
        var listed = {};
        var checks = Promise.resolve();
        (dp.value.resources || []).forEach(function (r) {
          listed[r.path] = true;
          checks = checks.then(function () {
            if (pkg.names.indexOf(r.path) < 0) fail(r.path + ' is listed but not in the archive');
            return pkg.read(r.path);
          }).then(function (bytes) {
            return sha256(bytes).then(function (d) {
              hashes[r.path] = toHex(d);
              if (r.hash !== 'sha256:' + hashes[r.path] || r.bytes !== bytes.length) fail(r.path + ' is not the file the archive\'s signed list names');
            });
          });
        });
        return checks.then(function () {
          pkg.names.forEach(function (name) {
            var own = name === 'datapackage.json' || name === 'datapackage-digest.json';
            if (!own && !listed[name]) fail(name + ' is in the archive but not in its signed list');
          });
          return openCheckpoint(proofs.checkpoint, vkey);
        });
      }).then(function (cp) {
        var proven = {}, checks = Promise.resolve();
        (proofs.warcs || []).forEach(function (w) {
          checks = checks.then(function () { return checkFact(w.proof, cp); }).then(function (fact) {
            var r = fact.leaf.record || {};
            if (fact.leaf.kind.indexOf('source.') !== 0 || r.id !== w.source_id || r.version !== w.version) fail(w.path + ': its proof records another entry');
            if (typeof r.warc_sha256 !== 'string') fail(w.path + ' was captured before WARC hashes were logged: check it with sourceledger verify --wacz');
            if (r.warc_sha256 !== hashes[w.path]) fail(w.path + ' is not the WARC the newsroom\'s ledger recorded');
            proven[w.path] = true;
          });
        });
        return checks.then(function () {
          var warcs = pkg.names.filter(function (n) { return n.indexOf('archive/') === 0; });
          warcs.forEach(function (n) { if (!proven[n]) fail(n + ' has no ledger proof'); });
          return { ok: true, files: Object.keys(hashes).length, warcs: warcs.length, size: Number(cp.size), origin: cp.origin };
        });
      });
    }).catch(function (e) {
      return { ok: false, reason: e && e.verifyReason ? e.verifyReason : 'the check could not be made: ' + e };
    });
  }

  global.SourceLedgerVerify = { verifyList: verifyList, verifyWitnessed: verifyWitnessed, verifyPackage: verifyPackage, jcs: jcs };
})(typeof window !== 'undefined' ? window : globalThis);
