// The desk's few enhancements, on top of pages that work without them:
// a "Copy" button beside each value meant to be pasted elsewhere (a new key,
// a webhook secret, the panel's snippet), and a question before an action
// that cannot be undone. Served from /desk/desk.js; nothing else is loaded.
(function () {
  'use strict';

  function copyButton(field) {
    var label = document.querySelector('label[for="' + field.id + '"]');
    var name = label ? label.textContent : 'value';
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + name);
    var status = document.createElement('span');
    status.className = 'copied';
    status.setAttribute('role', 'status');
    button.addEventListener('click', function () {
      field.focus();
      field.select();
      var done = function () { status.textContent = name + ' copied'; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          status.textContent = 'Select the text and copy it by hand';
        });
      } else if (document.execCommand && document.execCommand('copy')) {
        done();
      } else {
        status.textContent = 'Select the text and copy it by hand';
      }
    });
    field.insertAdjacentElement('afterend', status);
    field.insertAdjacentElement('afterend', button);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), copyButton);
    document.addEventListener('submit', function (event) {
      var question = event.target.getAttribute('data-confirm');
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
