/* sourceledger: the source page's check. Runs the verifier (verify.js) on the
 * list the page carries and says what it found in #sourceledger-status:
 * data-state "verified" with the checkpoint's size, or "failed" with
 * data-reason. The key it trusts comes from the link the reader followed
 * (#vkey=... in the address, put there by the newsroom); without one, it uses
 * the key this server publishes and says so, since a check against the
 * server's own word proves less. */
(function () {
  'use strict';
  var block = document.getElementById('sourceledger-list');
  var status = document.getElementById('sourceledger-status');
  if (!block || !status) return;
  var list;
  try { list = JSON.parse(block.textContent); } catch (e) { list = null; }
  if (!list || list.locked) return;
  // Replay links carry the reader's token from this page's address (the
  // personalised link), which the replay origin never sees: the server
  // turns it into a grant for the one archive.
  var token = /(?:^\?|&)token=([^&]+)/.exec(location.search);
  if (token) {
    Array.prototype.forEach.call(document.querySelectorAll('a.replay'), function (a) {
      a.setAttribute('href', a.getAttribute('href') + '&token=' + token[1]);
    });
  }
  var fromLink = /(?:^|[#&])vkey=([^&]+)/.exec(location.hash);
  var meta = document.querySelector('meta[name="sourceledger-vkey"]');
  var vkey = fromLink ? decodeURIComponent(fromLink[1]) : meta && meta.getAttribute('content');
  var anchor = fromLink ? 'the newsroom key in your link' : 'the key this server publishes (open the newsroom\'s own link to check against its key independently)';
  status.setAttribute('data-state', 'checking');
  status.textContent = 'Checking every proof in your browser\u2026';
  // The time the check takes, for anyone who asks the page (Performance API).
  performance.mark('sourceledger:verify-start');
  window.SourceLedgerVerify.verifyList(list, vkey).then(function (verdict) {
    performance.measure('sourceledger:verify', 'sourceledger:verify-start');
    if (verdict.ok) {
      status.setAttribute('data-state', 'verified');
      status.setAttribute('data-anchor', fromLink ? 'link' : 'server');
      status.textContent = '\u2713 Verified in your browser: every source and citation on this page is in ' +
        verdict.origin + '\u2019s ledger, proven to its signed checkpoint of ' + verdict.size +
        ' entries (the newest fact recorded ' + String(verdict.latest).slice(0, 10) + '), checked against ' +
        anchor + '.';
    } else {
      status.setAttribute('data-state', 'failed');
      status.setAttribute('data-reason', verdict.reason);
      status.textContent = '\u2717 Not verified: ' + verdict.reason + '. Do not rely on this list.';
    }
  });
})();
