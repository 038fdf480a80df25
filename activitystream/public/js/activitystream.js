/* activitystream: live notification badges and menus. No framework, no build step.
 *
 * Badges follow the server-sent events of /activitystream/events (pushed through
 * Redis when the site has it) and fall back to polling unseen_count.json, with
 * ETags and a growing delay, when events are not available: no Redis (204), or
 * too many streams open for this user or server (429). Opening a menu
 * reloads its list and marks seen up to the newest notification it shows, so
 * what arrives later stays unseen. Everything user-supplied goes in as text.
 */
(function () {
  'use strict';

  var POLL_MIN = 5000;
  var POLL_MAX = 120000;

  function setCount(count) {
    var badges = document.querySelectorAll('.activitystream-badge');
    for (var i = 0; i < badges.length; i++) {
      badges[i].textContent = String(count);
      badges[i].setAttribute('data-count', String(count));
      badges[i].classList.toggle('activitystream-zero', count === 0);
    }
  }

  function post(url, fields, token) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'X-CSRF-Token': token, 'Content-Type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams(fields).toString()
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

  function item(root, notification, newest) {
    var li = element('li', 'activitystream-item' + (notification.seen ? '' : ' activitystream-unseen'));
    var label = [element('b', null, notification.actor || ''), document.createTextNode(' ' + notification.verb + ' ')];
    if (notification.target) { label.push(element('i', null, notification.target)); }
    label.push(element('small', 'activitystream-since', ' ' + notification.since));
    var holder;
    if (notification.link) {
      holder = element('form');
      holder.method = 'post';
      holder.action = root.getAttribute('data-see-url');
      holder.appendChild(hidden('_csrf_token', root.getAttribute('data-csrf-token')));
      holder.appendChild(hidden('target_link', notification.link));
      holder.appendChild(hidden('action', notification.id));
      holder.appendChild(hidden('until', newest));
      var button = element('button', 'activitystream-link');
      button.type = 'submit';
      label.forEach(function (part) { button.appendChild(part); });
      holder.appendChild(button);
    } else {
      holder = element('span', 'activitystream-text');
      label.forEach(function (part) { holder.appendChild(part); });
    }
    li.appendChild(holder);
    return li;
  }

  function opened(root) {
    var token = root.getAttribute('data-csrf-token');
    var list = root.querySelector('.activitystream-list');
    return fetch(root.getAttribute('data-notifications-url'), {credentials: 'same-origin'})
      .then(function (reply) { return reply.json(); })
      .then(function (body) {
        if (body.items.length) {
          list.textContent = '';
          body.items.forEach(function (n) { list.appendChild(item(root, n, body.items[0].timestamp)); });
          root.setAttribute('data-newest', body.items[0].timestamp);
        }
        var newest = root.getAttribute('data-newest');
        if (!newest) { return null; }
        return post(root.getAttribute('data-seen-url'), {until: newest}, token).then(function () {
          return fetch(root.getAttribute('data-unseen-url'), {credentials: 'same-origin'});
        }).then(function (reply) { return reply.json(); }).then(function (counts) {
          setCount(counts.unseen_count);
        });
      });
  }

  function start() {
    var menus = document.querySelectorAll('.activitystream-menu');
    for (var i = 0; i < menus.length; i++) {
      (function (root) {
        var details = root.querySelector('details');
        details.addEventListener('toggle', function () {
          if (details.open) { opened(root); }
        });
      })(menus[i]);
    }
    var first = menus[0];
    var badge = document.querySelector('.activitystream-badge[data-unseen-url]');
    if (first) {
      follow(first.getAttribute('data-events-url'), first.getAttribute('data-unseen-url'));
    } else if (badge) {
      follow(badge.getAttribute('data-events-url'), badge.getAttribute('data-unseen-url'));
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
