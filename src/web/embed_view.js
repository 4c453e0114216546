// The embeddable view's one script. WordPress frames an oEmbed it discovered
// in a sandbox without popups or top navigation, so a link there cannot open
// by itself: this asks the host page to follow it, by WordPress's embed
// messages ({message: "link", value, secret}, the secret from the frame's
// `#?secret=`), which its wp-embed script honours for links on the frame's
// own host. Anywhere else the link opens in a new tab as usual.
(function () {
  'use strict';
  var match = /[#&?]secret=([A-Za-z0-9]+)/.exec(window.location.hash);
  if (!match || window.parent === window) return;
  var secret = match[1];
  document.addEventListener('click', function (event) {
    var link = event.target && event.target.closest ? event.target.closest('a[href]') : null;
    if (!link) return;
    event.preventDefault();
    window.parent.postMessage({ message: 'link', value: link.href, secret: secret }, '*');
  });
})();
