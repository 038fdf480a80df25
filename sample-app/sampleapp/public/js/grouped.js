/* sampleapp: opening the navbar's grouped notifications marks them all seen.
 *
 * One POST with the page's CSRF token; the badge shows the count the server
 * gives back. On any failure the badge stays: the next page tells the truth.
 */
(function () {
  'use strict';

  function start() {
    var menu = document.getElementById('grouped-menu');
    if (!menu) { return; }
    menu.addEventListener('toggle', function () {
      if (!menu.open) { return; }
      var body = new URLSearchParams({_csrf_token: menu.getAttribute('data-csrf-token')});
      fetch(menu.getAttribute('data-seen-url'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: body.toString()
      }).then(function (reply) {
        if (!reply.ok) { throw new Error('HTTP ' + reply.status); }
        return reply.json();
      }).then(function (counts) {
        var badge = document.getElementById('grouped-badge');
        badge.textContent = String(counts.unseen_count);
        badge.classList.toggle('unseen', counts.unseen_count > 0);
      }).catch(function () { /* left as it is */ });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
