/* activitystream: live badges, the notification menu and page. No framework, no build step.
 *
 * Badges follow the server-sent events of /activitystream/events (pushed through
 * Redis when the site has it) and fall back to polling unseen_count.json, with
 * ETags and a growing delay, when events are not available: no Redis (204), or
 * too many streams open for this user or server (429). A change of the count is
 * announced in a polite live region. The badge shows "99+" above 99; its label
 * keeps the exact number of notifications (not rows).
 *
 * The menu is a disclosure: a button with aria-expanded opens a panel; Escape
 * and a click outside close it (focus back on the button), arrow keys, Home and
 * End move between its items. Opening it reloads its rows and marks seen up to
 * the newest one shown, so what arrives later stays unseen. Opening a row marks
 * all its notifications read (POST open, JSON); a row's x dismisses it (POST
 * dismiss); "Mark all as read" posts mark_read. Everything user-supplied goes
 * in as text.
 */
(function () {
  'use strict';

  if (window.activitystreamStarted) { return; }  // the menu and the page both include it
  window.activitystreamStarted = true;

  var POLL_MIN = 5000;
  var POLL_MAX = 120000;
  var BADGE_MAX = 99;
  var lastCount = null;

  function each(selector, fn, scope) {
    Array.prototype.forEach.call((scope || document).querySelectorAll(selector), fn);
  }

  function setCount(count) {
    var shown = count > BADGE_MAX ? BADGE_MAX + '+' : String(count);
    each('.activitystream-badge', function (badge) {
      badge.textContent = shown;
      badge.setAttribute('data-count', String(count));
      badge.hidden = count === 0;
      var label = badge.getAttribute('data-label');
      if (label) { badge.title = label + ': ' + count; }
    });
    each('.activitystream-toggle', function (toggle) {
      toggle.setAttribute('aria-label', toggle.getAttribute('data-title') + ' (' +
        toggle.getAttribute('data-label') + ': ' + count + ')');
    });
    each('.activitystream-badge-text', function (text) {
      var badge = text.parentNode.querySelector('.activitystream-badge');
      text.textContent = badge.getAttribute('data-label') + ': ' + count;
    });
    if (lastCount !== null && lastCount !== count) {
      each('.activitystream-live', function (region) {
        var holder = region.parentNode;
        var source = holder.querySelector('[data-label]');
        region.textContent = (source ? source.getAttribute('data-label') + ': ' : '') + count;
      });
    }
    lastCount = count;
  }

  function send(url, token, body, json) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'X-CSRF-Token': token,
        'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded'
      },
      body: json ? JSON.stringify(body) : new URLSearchParams(body).toString()
    }).then(function (reply) {
      if (!reply.ok) { throw new Error('HTTP ' + reply.status); }
      return reply.json();
    });
  }

  function poll(url) {
    var delay = POLL_MIN;
    var etag = null;
    function tick() {
      var headers = etag ? {'If-None-Match': etag} : {};
      fetch(url, {credentials: 'same-origin', headers: headers}).then(function (reply) {
        if (reply.status === 304) {
          delay = Math.min(delay * 1.5, POLL_MAX);
          return null;
        }
        if (!reply.ok) { throw new Error('HTTP ' + reply.status); }
        etag = reply.headers.get('ETag');
        delay = POLL_MIN;
        return reply.json().then(function (body) { setCount(body.unseen_count); });
      }).catch(function () {
        delay = Math.min(delay * 2, POLL_MAX);
      }).then(function () { setTimeout(tick, delay); });
    }
    setTimeout(tick, delay);
  }

  function follow(eventsUrl, unseenUrl) {
    if (!window.EventSource || !eventsUrl) { return poll(unseenUrl); }
    var failures = 0;
    var source = new EventSource(eventsUrl);
    source.addEventListener('unseen', function (event) {
      failures = 0;
      setCount(JSON.parse(event.data).unseen_count);
    });
    source.onerror = function () {
      // any answer but a 200 stream (204, 429...) closes the source for good
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        poll(unseenUrl);
      }
    };
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function hidden(name, value) {
    var input = element('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    return input;
  }

  // the same markup as notifications_list.xhtml, from a row of notifications.json
  function rowItem(root, row, newest, words) {
    var ids = row.ids.join(',');
    var li = element('li', 'activitystream-item' + (row.unseen ? ' activitystream-unseen' : '') +
      (row.read === false ? ' activitystream-unread' : ''));
    li.setAttribute('data-ids', ids);
    var form = element('form', 'activitystream-open');
    form.method = 'post';
    form.action = root.getAttribute('data-see-url');
    form.appendChild(hidden('_csrf_token', root.getAttribute('data-csrf-token')));
    if (row.link) { form.appendChild(hidden('target_link', row.link)); }
    form.appendChild(hidden('actions', ids));
    form.appendChild(hidden('until', newest));
    var button = element('button', 'dropdown-item activitystream-link');
    button.type = 'submit';
    if (row.link) { button.setAttribute('data-link', row.link); }
    if (row.avatar) {
      var img = element('img', 'activitystream-avatar');
      img.src = row.avatar;
      img.alt = '';
      img.width = img.height = 32;
      button.appendChild(img);
    }
    var text = element('span', 'activitystream-text');
    if (row.unseen) { text.appendChild(element('span', 'visually-hidden activitystream-sr', words.unseen + ' ')); }
    if (row.read === false) {
      text.appendChild(element('span', 'visually-hidden activitystream-sr activitystream-sr-unread', words.unread + ' '));
    }
    text.appendChild(element('b', null, row.who));
    text.appendChild(document.createTextNode(' ' + row.verb + ' '));
    if (row.target) { text.appendChild(element('i', null, row.target)); }
    var time = element('time', 'activitystream-since', row.since);
    time.setAttribute('datetime', row.timestamp);
    text.appendChild(time);
    button.appendChild(text);
    form.appendChild(button);
    li.appendChild(form);
    var dismiss = element('button', 'activitystream-dismiss');
    dismiss.type = 'button';
    dismiss.setAttribute('data-ids', ids);
    dismiss.title = words.dismiss;
    dismiss.setAttribute('aria-label', words.dismiss + ': ' + row.who + ' ' + row.verb +
      (row.target ? ' ' + row.target : ''));
    var cross = element('span', null, '\u00d7');
    cross.setAttribute('aria-hidden', 'true');
    dismiss.appendChild(cross);
    li.appendChild(dismiss);
    return li;
  }

  // translated words, read once from the server's own markup
  function words(root) {
    var dismiss = root.querySelector('.activitystream-dismiss');
    var unseen = root.querySelector('.activitystream-unseen .activitystream-sr');
    var unread = root.querySelector('.activitystream-sr-unread');
    return {
      dismiss: root.getAttribute('data-word-dismiss') || (dismiss && dismiss.title) || 'Dismiss',
      unseen: root.getAttribute('data-word-unseen') || (unseen && unseen.textContent.trim()) || 'New:',
      unread: root.getAttribute('data-word-unread') || (unread && unread.textContent.trim()) || 'Unread:'
    };
  }

  function showEmpty(root) {
    var empty = root.querySelector('.activitystream-empty');
    if (empty) { empty.hidden = root.querySelectorAll('.activitystream-item').length > 0; }
  }

  // Rows the reader acts on (open, dismiss, mark all) while a reload is on its way
  // must not come back with it: a reload started before the last act keeps the list.
  function acted(root) { root.setAttribute('data-acted', String(Date.now())); }

  function reload(root) {
    var list = root.querySelector('.activitystream-list');
    var said = words(root);
    var started = Date.now();
    return fetch(root.getAttribute('data-notifications-url'), {credentials: 'same-origin'})
      .then(function (reply) { return reply.json(); })
      .then(function (body) {
        var stale = Number(root.getAttribute('data-acted') || 0) >= started;
        if (body.items.length && !stale) {
          var newest = body.items[0].timestamp;
          var focused = list.contains(document.activeElement) &&
            document.activeElement.closest('.activitystream-item');
          var focusedIds = focused ? focused.getAttribute('data-ids') : null;
          list.textContent = '';
          body.rows.forEach(function (row) { list.appendChild(rowItem(root, row, newest, said)); });
          root.setAttribute('data-newest', newest);
          if (focusedIds) {  // the reader keeps their place in the new list
            each('.activitystream-item', function (item) {
              if (item.getAttribute('data-ids') === focusedIds) {
                var link = item.querySelector('.activitystream-link');
                if (link) { link.focus(); }
              }
            }, list);
          }
        }
        showEmpty(root);
        if (!stale) { setCount(body.unseen_count); }
      });
  }

  function markSeen(root) {
    var newest = root.getAttribute('data-newest');
    if (!newest) { return null; }
    return send(root.getAttribute('data-seen-url'), root.getAttribute('data-csrf-token'),
      {until: newest}).then(function () {
      return fetch(root.getAttribute('data-unseen-url'), {credentials: 'same-origin'});
    }).then(function (reply) { return reply.json(); }).then(function (counts) {
      setCount(counts.unseen_count);
    });
  }

  // -- rows: open, dismiss, mark all ------------------------------------------

  function rowIds(node) {
    return node.getAttribute('data-ids').split(',');
  }

  function markedRead(item, seen) {
    item.classList.remove('activitystream-unread');
    var gone = seen ? '.activitystream-sr' : '.activitystream-sr-unread';
    if (seen) { item.classList.remove('activitystream-unseen'); }
    each(gone, function (n) { n.parentNode.removeChild(n); }, item);
  }

  function bindRows(root) {
    var token = root.getAttribute('data-csrf-token');
    root.addEventListener('submit', function (event) {
      var form = event.target.closest('.activitystream-open');
      if (!form) { return; }
      event.preventDefault();
      acted(root);
      var item = form.closest('.activitystream-item');
      var link = form.querySelector('.activitystream-link').getAttribute('data-link');
      var body = {actions: rowIds(item), until: root.getAttribute('data-newest')};
      if (!body.until) { delete body.until; }
      send(root.getAttribute('data-open-url'), token, body, true).then(function (counts) {
        markedRead(item);
        setCount(counts.unseen_count);
        if (link) { window.location.assign(link); }
      }).catch(function () { form.submit(); });  // the form's own POST does the same
    });
    root.addEventListener('click', function (event) {
      var dismiss = event.target.closest('.activitystream-dismiss');
      if (dismiss) {
        acted(root);
        var item = dismiss.closest('.activitystream-item');
        send(root.getAttribute('data-dismiss-url'), token, {actions: rowIds(dismiss)}, true)
          .then(function (counts) {
            var next = item.nextElementSibling || item.previousElementSibling;
            item.parentNode.removeChild(item);
            setCount(counts.unseen_count);
            showEmpty(root);
            var target = next ? next.querySelector('.activitystream-link') : root.querySelector('.activitystream-mark-all');
            if (target) { target.focus(); }
          });
        return;
      }
      if (event.target.closest('.activitystream-mark-all')) {
        acted(root);
        // read, and seen up to the newest shown: the badge and the highlights go
        send(root.getAttribute('data-mark-read-url'), token, {}).then(function () {
          each('.activitystream-item', function (item) { markedRead(item, true); }, root);
          return markSeen(root);
        });
      }
    });
  }

  // -- the menu: a disclosure with arrow keys ----------------------------------

  function items(panel) {
    return Array.prototype.filter.call(
      panel.querySelectorAll('.activitystream-mark-all, .activitystream-link, .activitystream-all'),
      function (node) { return node.offsetParent !== null; });
  }

  function bindMenu(root) {
    var toggle = root.querySelector('.activitystream-toggle');
    var panel = root.querySelector('.activitystream-panel');
    if (!toggle || !panel) { return; }

    function isOpen() { return toggle.getAttribute('aria-expanded') === 'true'; }

    function close(refocus) {
      if (!isOpen()) { return; }
      toggle.setAttribute('aria-expanded', 'false');
      panel.hidden = true;
      panel.classList.remove('show');
      if (refocus) { toggle.focus(); }
    }

    function open() {
      var bar = toggle.closest('nav, header, .navbar') || toggle;
      panel.style.setProperty('--as-sheet-top', Math.round(bar.getBoundingClientRect().bottom) + 'px');
      toggle.setAttribute('aria-expanded', 'true');
      panel.hidden = false;
      panel.classList.add('show');
      reload(root).then(function () { return markSeen(root); });
    }

    function move(step, to) {
      var list = items(panel);
      if (!list.length) { return; }
      var at = list.indexOf(document.activeElement);
      var next = to !== undefined ? to : (at + step + list.length) % list.length;
      if (to === undefined && at < 0) { next = step > 0 ? 0 : list.length - 1; }
      list[next].focus();
    }

    toggle.addEventListener('click', function () {
      if (isOpen()) { close(false); } else { open(); }
    });
    root.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && isOpen()) {
        event.preventDefault();
        close(true);
      } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        if (!isOpen()) {
          if (event.target !== toggle) { return; }
          open();
        }
        event.preventDefault();
        move(event.key === 'ArrowDown' ? 1 : -1);
      } else if ((event.key === 'Home' || event.key === 'End') && isOpen() &&
                 event.target !== toggle) {
        event.preventDefault();
        move(0, event.key === 'Home' ? 0 : items(panel).length - 1);
      }
    });
    document.addEventListener('click', function (event) {
      if (isOpen() && !root.contains(event.target)) { close(false); }
    });
    root.addEventListener('focusout', function (event) {
      if (isOpen() && event.relatedTarget && !root.contains(event.relatedTarget)) { close(false); }
    });
  }

  function start() {
    each('.activitystream-menu, .activitystream-page', function (root) {
      bindRows(root);
      bindMenu(root);
    });
    var first = document.querySelector('.activitystream-menu, .activitystream-page');
    var badge = document.querySelector('.activitystream-badge[data-unseen-url]');
    var source = first || badge;
    if (source) {
      var counted = document.querySelector('.activitystream-badge');
      lastCount = counted ? Number(counted.getAttribute('data-count')) : null;
      follow(source.getAttribute('data-events-url'), source.getAttribute('data-unseen-url'));
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
