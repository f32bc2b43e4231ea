// The outbox of the phone pages (issue 16, "Offline-first phone pages"), loaded
// by every page (base.html):
//
// - the phone's store of visit records: IndexedDB, or localStorage where a
//   browser cannot open IndexedDB. A record is a draft while it is typed
//   (visit_form.js keeps it as the visitor types), "queued" once 保存 is
//   tapped, then "sent", or "refused" (the server said why) or "conflict".
// - the sender: every queued record of the signed-in user goes to
//   POST /api/v1/visits with a fresh CSRF token, when a page opens, when the
//   network comes back (the `online` event) and every 30 seconds while a page
//   is open; no Background Sync, which most phones' browsers lack. One tab
//   sends at a time (a Web Lock, and a lease on each record taken in one
//   IndexedDB transaction); the server's UUID idempotency makes any resend
//   return the stored record, never a second one.
// - what the user sees: "待发送 N 条" in the header, the banners (session
//   ended, no network, no offline pages in this browser) and the outbox page
//   (/visits/outbox/), each record with when it was saved and sent, and why
//   the server refused it.
// - the service worker (/sw.js) for visitors and liaisons: registered here,
//   told whose pages it keeps, asked to keep the visit forms of the elders on
//   the task list; every page of a signed-out browser empties its page cache.
//
// No inline script anywhere: the CSP allows scripts from this site only.
(function () {
  "use strict";

  var body = document.body;
  var USER = body.getAttribute("data-user") || "";
  var OFFLINE_ROLE = body.getAttribute("data-offline") === "1";
  // The routes (tanfang/visits/offline_urls.py, tanfang/api.py, accounts/urls.py).
  var URLS = {
    api: "/api/v1/visits",
    session: "/visits/outbox/session/",
    outbox: "/visits/outbox/",
    home: "/visits/",
    login: "/accounts/login/",
    worker: "/sw.js",
  };
  var PAGES = "tanfang-pages"; // the service worker's page cache (tanfang/templates/visits/sw.js)
  var OWNER = "/__tanfang_owner__"; // whose pages it holds
  var POSTING = "tanfang-posting"; // sessionStorage: the record the form page just posted
  var EXPIRED = "tanfang-expired"; // sessionStorage: the server said the session ended
  var RETRY_MS = 30000;
  var LEASE_MS = 90000;
  var SENT_KEPT_MS = 7 * 24 * 3600 * 1000;
  var WAITING = { queued: true, refused: true, conflict: true };

  // --- The store --------------------------------------------------------------------

  var DB_NAME = "tanfang-outbox";
  var STORE = "records";
  var LOCAL_KEY = "tanfang-outbox";

  function promised(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function finished(transaction) {
    return new Promise(function (resolve, reject) {
      transaction.oncomplete = function () {
        resolve();
      };
      transaction.onerror = transaction.onabort = function () {
        reject(transaction.error || new Error("transaction aborted"));
      };
    });
  }

  function openDatabase() {
    return new Promise(function (resolve) {
      var opened;
      try {
        opened = window.indexedDB && window.indexedDB.open(DB_NAME, 1);
      } catch (error) {
        opened = null;
      }
      if (!opened) {
        resolve(null);
        return;
      }
      // Some in-app browsers neither open nor fail: fall back after a while.
      var timer = setTimeout(function () {
        resolve(null);
      }, 4000);
      opened.onupgradeneeded = function () {
        opened.result.createObjectStore(STORE, { keyPath: "key" });
      };
      opened.onsuccess = function () {
        clearTimeout(timer);
        resolve(opened.result);
      };
      opened.onerror = opened.onblocked = function () {
        clearTimeout(timer);
        resolve(null);
      };
    });
  }

  function localWorks() {
    try {
      window.localStorage.setItem(LOCAL_KEY + "-test", "1");
      window.localStorage.removeItem(LOCAL_KEY + "-test");
      return true;
    } catch (error) {
      return false;
    }
  }

  var backend = openDatabase().then(function (db) {
    if (db) {
      return { kind: "indexeddb", db: db };
    }
    return localWorks() ? { kind: "localstorage" } : null;
  });

  function readLocal() {
    try {
      return JSON.parse(window.localStorage.getItem(LOCAL_KEY) || "[]");
    } catch (error) {
      return [];
    }
  }

  function writeLocal(records) {
    window.localStorage.setItem(LOCAL_KEY, JSON.stringify(records));
  }

  function blobToDataUrl(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        resolve(reader.result);
      };
      reader.onerror = function () {
        reject(reader.error);
      };
      reader.readAsDataURL(blob);
    });
  }

  function dataUrlToBlob(text) {
    var parts = text.split(",");
    var type = (parts[0].match(/^data:([^;]+)/) || [])[1] || "";
    var raw = atob(parts[1] || "");
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return new Blob([bytes], { type: type });
  }

  // localStorage holds text only: the photo goes in as a data URL; where it
  // does not fit, the record is kept without it and says so.
  function toLocal(record) {
    var copy = Object.assign({}, record);
    if (!(record.photo instanceof Blob)) {
      return Promise.resolve(copy);
    }
    return blobToDataUrl(record.photo).then(function (text) {
      copy.photo = null;
      copy.photoData = text;
      return copy;
    });
  }

  function putLocal(record) {
    return toLocal(record).then(function (copy) {
      var records = readLocal().filter(function (r) {
        return r.key !== copy.key;
      });
      records.push(copy);
      try {
        writeLocal(records);
      } catch (error) {
        copy.photoData = "";
        copy.photoLost = true;
        records[records.length - 1] = copy;
        writeLocal(records);
      }
      return copy;
    });
  }

  var store = {
    all: function () {
      return backend.then(function (where) {
        if (!where) {
          return [];
        }
        if (where.kind === "localstorage") {
          return readLocal();
        }
        return promised(where.db.transaction(STORE, "readonly").objectStore(STORE).getAll());
      });
    },
    get: function (key) {
      return backend.then(function (where) {
        if (!where) {
          return null;
        }
        if (where.kind === "localstorage") {
          return (
            readLocal().filter(function (r) {
              return r.key === key;
            })[0] || null
          );
        }
        return promised(where.db.transaction(STORE, "readonly").objectStore(STORE).get(key)).then(
          function (found) {
            return found || null;
          }
        );
      });
    },
    put: function (record) {
      return backend.then(function (where) {
        if (!where) {
          throw new Error("no store");
        }
        if (where.kind === "localstorage") {
          return putLocal(record);
        }
        var transaction = where.db.transaction(STORE, "readwrite");
        transaction.objectStore(STORE).put(record);
        return finished(transaction).then(function () {
          return record;
        });
      }).then(function (stored) {
        changed();
        return stored;
      });
    },
    // Read, change and write one record in one transaction: two tabs asking at
    // once are served one after the other, so only one of them takes a lease.
    // `change` returns the new record, or null to leave it as it is.
    update: function (key, change) {
      return backend.then(function (where) {
        if (!where) {
          return null;
        }
        if (where.kind === "localstorage") {
          var found = readLocal().filter(function (r) {
            return r.key === key;
          })[0];
          var next = found ? change(found) : null;
          return next ? putLocal(next) : null;
        }
        var transaction = where.db.transaction(STORE, "readwrite");
        var records = transaction.objectStore(STORE);
        var result = null;
        var reading = records.get(key);
        reading.onsuccess = function () {
          if (reading.result) {
            result = change(reading.result);
            if (result) {
              records.put(result);
            }
          }
        };
        return finished(transaction).then(function () {
          return result;
        });
      }).then(function (result) {
        if (result) {
          changed();
        }
        return result;
      });
    },
    remove: function (key) {
      return backend.then(function (where) {
        if (!where) {
          return;
        }
        if (where.kind === "localstorage") {
          writeLocal(
            readLocal().filter(function (r) {
              return r.key !== key;
            })
          );
          return;
        }
        var transaction = where.db.transaction(STORE, "readwrite");
        transaction.objectStore(STORE).delete(key);
        return finished(transaction);
      }).then(changed);
    },
  };

  function photoOf(record) {
    if (record.photo instanceof Blob) {
      return Promise.resolve(record.photo);
    }
    return Promise.resolve(record.photoData ? dataUrlToBlob(record.photoData) : null);
  }

  // The photo as the API takes it: a data URL whose type is read from the
  // first bytes, as the server reads it (tanfang/photos.py), not the file name.
  function photoDataUrl(record) {
    return photoOf(record).then(function (blob) {
      if (!blob) {
        return "";
      }
      return blob
        .slice(0, 4)
        .arrayBuffer()
        .then(function (head) {
          var b = new Uint8Array(head);
          var type = blob.type;
          if (b[0] === 0x89 && b[1] === 0x50) {
            type = "image/png";
          } else if (b[0] === 0xff && b[1] === 0xd8) {
            type = "image/jpeg";
          }
          return blobToDataUrl(new Blob([blob], { type: type }));
        });
    });
  }

  function mine(records) {
    return records.filter(function (r) {
      return r.user === USER;
    });
  }

  // --- Telling the pages ------------------------------------------------------------

  var listeners = [];
  var channel = window.BroadcastChannel ? new BroadcastChannel("tanfang-outbox") : null;

  function changed(fromOtherTab) {
    if (channel && fromOtherTab !== true) {
      channel.postMessage("changed");
    }
    listeners.forEach(function (listener) {
      listener();
    });
  }
  if (channel) {
    channel.onmessage = function () {
      changed(true);
    };
  }
  function onChange(listener) {
    listeners.push(listener);
  }

  // --- Times, in Beijing time whatever the phone's zone -----------------------------

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function when(ms) {
    if (!ms) {
      return "";
    }
    var d = new Date(ms + 8 * 3600 * 1000);
    return (
      d.getUTCMonth() +
      1 +
      "月" +
      d.getUTCDate() +
      "日 " +
      two(d.getUTCHours()) +
      ":" +
      two(d.getUTCMinutes())
    );
  }

  // --- The session and the sending ------------------------------------------------

  function timed(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        reject(new Error("timeout"));
      }, ms);
      promise.then(
        function (value) {
          clearTimeout(timer);
          resolve(value);
        },
        function (error) {
          clearTimeout(timer);
          reject(error);
        }
      );
    });
  }

  function toLogin(response) {
    return (
      response.redirected && new URL(response.url, location.href).pathname.indexOf(URLS.login) === 0
    );
  }

  function jsonOf(response) {
    return response.json().catch(function () {
      return {};
    });
  }

  // Whether the session is alive, and as whom, with a fresh CSRF token; never
  // called while nothing waits, so that an open page does not keep a session
  // alive past its idle limit.
  function checkSession() {
    var asked = fetch(URLS.session, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    return timed(asked, 15000).then(
      function (response) {
        if (toLogin(response)) {
          return { state: "expired", detail: "" };
        }
        if (response.status === 401 || response.status === 403) {
          return jsonOf(response).then(function (data) {
            return {
              state: response.status === 401 ? "expired" : "forbidden",
              detail: data.detail || "",
            };
          });
        }
        if (!response.ok) {
          return { state: "down" };
        }
        return response.json().then(function (data) {
          return { state: "ok", user: String(data.user), csrf: data.csrf };
        });
      },
      function () {
        return { state: "offline" };
      }
    );
  }

  function exclusively(work) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("tanfang-outbox", { ifAvailable: true }, function (lock) {
        // Another tab holds it: that tab is sending.
        return lock ? work() : null;
      });
    }
    return work();
  }

  function errorFields(detail) {
    if (!Array.isArray(detail)) {
      return [];
    }
    return detail.map(function (error) {
      var loc = (error.loc || []).slice(2);
      var field = loc.length ? String(loc[0]) : "";
      if (field === "answers" && loc.length > 1) {
        field = "answers." + loc[1];
      }
      return { field: field, message: error.msg || "" };
    });
  }

  // What the server's answer makes of a record (`stop`: send nothing more now).
  function outcome(status, data) {
    if (status === 200 || status === 201) {
      return {
        state: "sent",
        visitId: data.id,
        sequence: data.sequence,
        replayed: status === 200,
        late: data.late_state || "",
      };
    }
    if (status === 401) {
      return { state: "queued", stop: "expired", error: { message: data.detail || "登录已过期。" } };
    }
    if (status === 403) {
      return { state: "queued", stop: "forbidden", error: { message: data.detail || "" } };
    }
    if (status === 409) {
      return {
        state: "conflict",
        error: { message: data.detail || "同一编号的探访记录已存在且内容不同。", visitId: data.visit_id },
      };
    }
    if (status === 404) {
      return {
        state: "refused",
        error: { message: "未找到该老人，或该老人已不在您的管辖范围内。", fields: [] },
      };
    }
    if (status === 422 || status === 400 || status === 413) {
      var fields = errorFields(data.detail);
      var message = typeof data.detail === "string" ? data.detail : "请按提示修改后再发送。";
      if (status === 413) {
        message = "记录太大（照片过大），请换一张较小的照片。";
      }
      return { state: "refused", error: { message: message, fields: fields } };
    }
    if (status === 503) {
      return {
        state: "queued",
        error: { message: (data.detail || "本县的探访记录表暂时无法读取") + "（稍后自动重试）" },
      };
    }
    return { state: "queued", error: { message: "发送失败（网络或服务器问题），稍后自动重试。" } };
  }

  function settle(key, result) {
    var now = Date.now();
    return store.update(key, function (record) {
      var next = Object.assign({}, record, { leaseUntil: 0, lastTriedAt: now });
      next.attempts = (record.attempts || 0) + 1;
      next.state = result.state;
      next.error = result.error || null;
      if (result.state === "sent") {
        next.sentAt = now;
        next.visitId = result.visitId;
        next.sequence = result.sequence;
        next.replayed = result.replayed;
        next.late = result.late;
        // What was typed, the signatures and the photo leave the phone with it.
        next.payload = null;
        next.fields = null;
        next.photo = null;
        next.photoData = "";
      } else if (result.state !== "queued") {
        next.failedAt = now;
      }
      return next;
    });
  }

  function post(record, csrf) {
    return photoDataUrl(record).then(function (photo) {
      var payload = Object.assign({}, record.payload);
      if (photo) {
        payload.photo = photo;
      }
      var sent = fetch(URLS.api, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrf,
        },
        body: JSON.stringify(payload),
      });
      return timed(sent, 90000).then(
        function (response) {
          if (toLogin(response)) {
            return { status: 401, data: {} };
          }
          return jsonOf(response).then(function (data) {
            return { status: response.status, data: data };
          });
        },
        function () {
          return { status: 0, data: {} };
        }
      );
    });
  }

  function claim(key) {
    var now = Date.now();
    return store.update(key, function (record) {
      if (record.user !== USER || record.state !== "queued" || record.leaseUntil > now) {
        return null;
      }
      return Object.assign({}, record, { leaseUntil: now + LEASE_MS });
    });
  }

  function sendOne(key, session) {
    return claim(key).then(function (record) {
      if (!record) {
        return null; // sent by another tab, or being sent
      }
      return post(record, session.csrf).then(function (answer) {
        var csrfRefused =
          answer.status === 403 && String(answer.data.detail || "").indexOf("CSRF") !== -1;
        if (!csrfRefused) {
          return answer;
        }
        return checkSession().then(function (fresh) {
          if (fresh.state !== "ok") {
            return answer;
          }
          session.csrf = fresh.csrf;
          return post(record, fresh.csrf);
        });
      }).then(function (answer) {
        var result = outcome(answer.status, answer.data);
        return settle(key, result).then(function () {
          return result;
        });
      });
    });
  }

  var sending = null;

  function waitingToSend() {
    var now = Date.now();
    return store.all().then(function (records) {
      return mine(records)
        .filter(function (r) {
          return r.state === "queued" && !(r.leaseUntil > now);
        })
        .sort(function (a, b) {
          return (a.queuedAt || 0) - (b.queuedAt || 0);
        });
    });
  }

  function sendAll() {
    if (!USER || sending) {
      return sending || Promise.resolve();
    }
    if (navigator.onLine === false) {
      return Promise.resolve();
    }
    sending = exclusively(function () {
      return waitingToSend().then(function (records) {
        if (!records.length) {
          return null;
        }
        return checkSession().then(function (session) {
          if (session.state === "expired" || session.state === "forbidden") {
            sessionEnded(session.state === "forbidden" ? session.detail : "");
            return null;
          }
          if (session.state !== "ok" || session.user !== USER) {
            return null; // no network, or another account signed in since this page was drawn
          }
          sessionBack();
          var chain = Promise.resolve();
          var stopped = false;
          records.forEach(function (record) {
            chain = chain.then(function () {
              if (stopped) {
                return null;
              }
              return sendOne(record.key, session).then(function (result) {
                if (result && result.stop) {
                  stopped = true;
                  sessionEnded(result.stop === "forbidden" ? result.error.message : "");
                } else if (result && result.state === "queued") {
                  stopped = true; // the network or the server is down: later
                }
              });
            });
          });
          return chain;
        });
      });
    })
      .catch(function () {
        return null;
      })
      .then(function () {
        sending = null;
        changed();
      });
    return sending;
  }

  // --- The session that ended -----------------------------------------------------

  // `refusal`: what the server said when it refused a signed-in user (403: an
  // expired password, a role without the right); none when the session ended.
  function sessionEnded(refusal) {
    try {
      window.sessionStorage.setItem(EXPIRED, refusal || "1");
    } catch (error) {
      // private mode: the banner still shows for this page
    }
    expiredNow = refusal || "1";
    showBanners();
  }

  function sessionBack() {
    try {
      window.sessionStorage.removeItem(EXPIRED);
    } catch (error) {
      // nothing kept
    }
    expiredNow = "";
    showBanners();
  }

  var expiredNow = "";
  try {
    expiredNow = window.sessionStorage.getItem(EXPIRED) || "";
  } catch (error) {
    expiredNow = "";
  }

  function loginLink(next) {
    return URLS.login + "?next=" + encodeURIComponent(next || location.pathname + location.search);
  }

  // --- Banners --------------------------------------------------------------------

  var onLoginPage = location.pathname.indexOf(URLS.login) === 0;
  var loginNext = ""; // where to go after signing in (the form page says: the outbox)
  var workerMissing = "";
  var storeMissing = false;

  function banner(id, className, text, link) {
    var main = document.querySelector("main");
    if (!main) {
      return;
    }
    var box = document.getElementById(id);
    if (!text) {
      if (box) {
        box.parentNode.removeChild(box);
      }
      return;
    }
    if (!box) {
      box = document.createElement("div");
      box.id = id;
      box.setAttribute("role", "status");
      main.insertBefore(box, main.firstChild);
    }
    box.className = "offline-banner " + className;
    box.textContent = text;
    if (link) {
      box.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      box.appendChild(a);
    }
  }

  function countWaiting(records) {
    return records.filter(function (r) {
      return WAITING[r.state];
    }).length;
  }

  function showBanners() {
    return store.all().then(function (records) {
      var waiting = countWaiting(USER ? mine(records) : records);
      // The session ended while records wait on the phone.
      if (expiredNow && expiredNow !== "1" && waiting && !onLoginPage) {
        banner("banner-expired", "expired", "记录已保存在手机上，暂未发送：" + expiredNow);
      } else if (expiredNow && (waiting || onLoginPage)) {
        banner(
          "banner-expired",
          "expired",
          "登录已过期，记录已保存在手机上，请重新登录后自动发送。",
          onLoginPage ? null : { href: loginLink(loginNext), text: "重新登录" }
        );
      } else if (!USER && waiting) {
        banner(
          "banner-expired",
          "expired",
          "手机上有 " + waiting + " 条探访记录尚未发送，登录后自动发送。"
        );
      } else {
        banner("banner-expired", "", "");
      }
      var phonePage = USER && (OFFLINE_ROLE || document.getElementById("visit-form"));
      banner(
        "banner-offline",
        "offline",
        phonePage && navigator.onLine === false
          ? "当前没有网络：页面来自手机上保存的副本；保存的探访记录留在手机上，联网后自动发送。"
          : ""
      );
      banner(
        "banner-storage",
        "warn",
        phonePage && storeMissing
          ? "此浏览器不能在手机上保存填写的内容（可能处于无痕模式）：请保持联网，保存前不要关闭页面。"
          : ""
      );
      banner("banner-worker", "warn", phonePage && onPhonePage() ? workerMissing : "");
    });
  }

  function onPhonePage() {
    return location.pathname.indexOf("/visits/") === 0;
  }

  function showCount() {
    var link = document.getElementById("outbox-link");
    if (!link) {
      return Promise.resolve();
    }
    return store.all().then(function (records) {
      var own = mine(records);
      var waiting = countWaiting(own);
      var problems = own.filter(function (r) {
        return r.state === "refused" || r.state === "conflict";
      }).length;
      var count = document.getElementById("outbox-count");
      if (count) {
        count.textContent = String(waiting);
      }
      link.hidden = !(OFFLINE_ROLE || waiting || own.length);
      link.classList.toggle("has-waiting", waiting > 0);
      link.classList.toggle("has-problem", problems > 0);
      link.title = problems ? problems + " 条记录未被服务器接受，请打开修改" : "";
    });
  }

  // --- The form page's post, settled on the page that follows it --------------------

  // After visit_form.js posts a record as a page (the HTML form), the next page
  // says how it went: the saved visit (/visits/?saved=<id>, or
  // /visits/<id>/?saved=1 for an officer), the form again (visit_form.js
  // settles that), or the login page: the session had ended, and the record
  // waits on the phone for the API.
  function savedVisitId() {
    var params = new URLSearchParams(location.search);
    if (location.pathname === URLS.home && /^[0-9]+$/.test(params.get("saved") || "")) {
      return Number(params.get("saved"));
    }
    var own = location.pathname.match(/^\/visits\/([0-9]+)\/$/);
    return own && params.get("saved") === "1" ? Number(own[1]) : null;
  }

  function settlePosting() {
    var key;
    try {
      key = window.sessionStorage.getItem(POSTING);
    } catch (error) {
      key = null;
    }
    if (!key) {
      return Promise.resolve();
    }
    var form = document.getElementById("visit-form");
    if (form && form.getAttribute("data-bound") === "1") {
      return Promise.resolve(); // the form again: visit_form.js takes it from here
    }
    window.sessionStorage.removeItem(POSTING);
    var saved = savedVisitId();
    var now = Date.now();
    return store.update(key, function (record) {
      var next = Object.assign({}, record, { leaseUntil: 0 });
      if (saved && record.state === "queued") {
        next.state = "sent";
        next.sentAt = now;
        next.visitId = saved;
        next.error = null;
        next.payload = null;
        next.fields = null;
        next.photo = null;
        next.photoData = "";
      }
      return next;
    }).then(function () {
      if (onLoginPage) {
        sessionEnded("");
      }
    });
  }

  // --- The service worker -----------------------------------------------------------

  // Whose pages the worker keeps: another user (or nobody) empties them first.
  function ownPages(user) {
    if (!window.caches) {
      return Promise.resolve();
    }
    return caches
      .open(PAGES)
      .then(function (cache) {
        return cache.match(OWNER);
      })
      .then(function (found) {
        return found ? found.text() : "";
      })
      .then(function (owner) {
        if (owner === user && user) {
          return null;
        }
        return caches.delete(PAGES).then(function () {
          if (!user) {
            return null;
          }
          return caches.open(PAGES).then(function (cache) {
            return cache.put(OWNER, new Response(user));
          });
        });
      })
      .catch(function () {
        return null;
      });
  }

  // The pages to keep for offline use from this page: the task list and the
  // outbox, and the visit form of every elder this page links to.
  function pagesToKeep() {
    var urls = [location.pathname, URLS.home, URLS.outbox, "/"];
    Array.prototype.forEach.call(document.querySelectorAll("a[href]"), function (a) {
      var url = new URL(a.getAttribute("href"), location.href);
      if (url.origin === location.origin && /^\/visits\/new\/[0-9]+\/$/.test(url.pathname)) {
        urls.push(url.pathname);
      }
    });
    return urls.filter(function (url, index) {
      return urls.indexOf(url) === index;
    });
  }

  // The pages that list elders to visit: the visitor's tasks, the village board.
  function keepsForms() {
    return location.pathname === URLS.home || /^\/visits\/board\//.test(location.pathname);
  }

  function setUpWorker() {
    var supported = "serviceWorker" in navigator && window.isSecureContext;
    if (!USER) {
      return ownPages("");
    }
    if (!OFFLINE_ROLE) {
      // Not a phone role: no worker, and none left over from another account.
      if (supported) {
        navigator.serviceWorker.getRegistrations().then(function (registrations) {
          registrations.forEach(function (registration) {
            registration.unregister();
          });
        });
      }
      return ownPages("");
    }
    if (!supported) {
      workerMissing = window.isSecureContext
        ? "此浏览器（如苹果手机的微信）不能离线打开本网站的页面：填写的探访记录仍保存在手机上，联网后自动发送。需要在没有网络的地方使用时，请用手机自带的浏览器打开本网站。"
        : "本网站未使用 HTTPS，手机浏览器不能离线打开页面：填写的探访记录仍保存在手机上，联网后自动发送。";
      return showBanners();
    }
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "kept") {
        body.setAttribute("data-kept", String(event.data.count));
      }
    });
    return ownPages(USER)
      .then(function () {
        return navigator.serviceWorker.register(URLS.worker, { scope: "/" });
      })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        body.setAttribute("data-worker", "ready");
        if (navigator.onLine !== false && keepsForms() && registration.active) {
          // Once the page has settled: the forms are fetched one by one, after
          // what the visitor asked for.
          setTimeout(function () {
            registration.active.postMessage({ type: "keep", urls: pagesToKeep() });
          }, 1000);
        }
      })
      .catch(function () {
        workerMissing =
          "此浏览器不能离线打开本网站的页面：填写的探访记录仍保存在手机上，联网后自动发送。";
        return showBanners();
      });
  }

  // --- The outbox page ------------------------------------------------------------

  var LABELS = {
    elder: "老人档案",
    mode: "探访方式",
    visited_at: "探访时间",
    visitors: "探访人员",
    visitor_ids: "探访人员",
    refused: "老人拒绝探访",
    needs_found: "发现的需求",
    satisfaction: "满意度评价",
    services_given: "关爱服务情况",
    suggestions: "实施关爱服务建议",
    notes: "其他需说明的问题",
    visitor_signature: "探访人员签字",
    elder_signature: "被探访人签字",
    photo: "照片",
    started_at: "开始时间",
    ended_at: "结束时间",
    latitude: "定位",
    longitude: "定位",
    location_accuracy: "定位精度",
    late_reason: "补录原因",
    outside_reason: "非包干探访原因",
    uuid: "表单编号",
  };

  function labelOf(record, field) {
    var labels = (record && record.labels) || {};
    return labels[field] || LABELS[field] || "";
  }

  function reasons(record) {
    var error = record.error || {};
    var lines = (error.fields || []).map(function (f) {
      var label = labelOf(record, f.field);
      return label && f.message.indexOf(label) === -1 ? label + "：" + f.message : f.message;
    });
    if (!lines.length && error.message) {
      lines.push(error.message);
    }
    return lines;
  }

  var STATE_WORDS = {
    draft: "尚未保存",
    queued: "待发送",
    sending: "正在发送",
    sent: "已发送",
    refused: "未被接受",
    conflict: "编号冲突",
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function button(text, action, key, className) {
    var b = el("button", "button small" + (className ? " " + className : ""), text);
    b.type = "button";
    b.setAttribute("data-action", action);
    b.setAttribute("data-key", key);
    return b;
  }

  function link(text, href, className) {
    var a = el("a", "button small" + (className ? " " + className : ""), text);
    a.href = href;
    return a;
  }

  function formUrl(record) {
    return "/visits/new/" + record.elderId + "/?draft=" + encodeURIComponent(record.key);
  }

  function row(record) {
    var now = Date.now();
    var state = record.state === "queued" && record.leaseUntil > now ? "sending" : record.state;
    var item = el("li", "outbox-row state-" + state);
    item.id = "record-" + record.key;
    var head = el("div", "outbox-head");
    head.appendChild(el("strong", "who", record.elderName || "老人"));
    head.appendChild(el("span", "tag", STATE_WORDS[state] || state));
    item.appendChild(head);
    var times = [];
    if (state === "draft") {
      times.push("最后填写：" + when(record.savedAt));
    } else {
      times.push("保存于 " + when(record.queuedAt || record.savedAt));
    }
    if (record.sentAt) {
      times.push("发送于 " + when(record.sentAt));
    }
    if (record.sequence) {
      times.push("第" + record.sequence + "次探访");
    }
    item.appendChild(el("p", "times", times.join("，")));
    if (state === "sent" && record.replayed) {
      item.appendChild(el("p", "help", "服务器已有这条记录（此前已发送成功），未重复保存。"));
    }
    if (state === "sent" && record.late === "pending") {
      item.appendChild(el("p", "help", "这条记录为补录，待乡镇(街道)或县级民政审核。"));
    }
    if (state === "queued" && record.error && record.error.message) {
      item.appendChild(
        el("p", "help", "已尝试 " + (record.attempts || 0) + " 次：" + record.error.message)
      );
    }
    if (record.photoLost) {
      item.appendChild(el("p", "error", "照片太大，未能保存在手机上：请打开后重新选择照片。"));
    }
    if (state === "refused" || state === "conflict") {
      item.appendChild(
        el(
          "p",
          "error",
          (state === "refused" ? "服务器未接受这条记录" : "服务器上已有同一编号、内容不同的记录") +
            "（" +
            when(record.failedAt) +
            "）："
        )
      );
      var list = el("ul", "error reasons");
      reasons(record).forEach(function (line) {
        list.appendChild(el("li", "", line));
      });
      item.appendChild(list);
    }
    var actions = el("div", "actions");
    if (state === "draft") {
      actions.appendChild(link("继续填写", formUrl(record), "primary"));
      actions.appendChild(button("放弃", "discard", record.key));
    } else if (state === "refused") {
      actions.appendChild(link("打开修改", formUrl(record), "primary"));
      actions.appendChild(button("放弃这条记录", "discard", record.key));
    } else if (state === "conflict") {
      if (record.error && record.error.visitId) {
        actions.appendChild(link("查看已保存的记录", "/visits/" + record.error.visitId + "/"));
      }
      actions.appendChild(link("打开核对", formUrl(record)));
      actions.appendChild(button("确是另一次探访：另存为新记录", "renew", record.key));
      actions.appendChild(button("放弃这条记录", "discard", record.key));
    } else if (state === "sent" && record.visitId) {
      actions.appendChild(link("查看", "/visits/" + record.visitId + "/"));
    }
    if (actions.childNodes.length) {
      item.appendChild(actions);
    }
    return item;
  }

  var ORDER = { refused: 0, conflict: 1, queued: 2, draft: 3, sent: 4 };

  function drawOutbox() {
    var list = document.getElementById("outbox-list");
    if (!list) {
      return Promise.resolve();
    }
    return store.all().then(function (records) {
      var own = mine(records).sort(function (a, b) {
        var byState = (ORDER[a.state] || 0) - (ORDER[b.state] || 0);
        if (byState) {
          return byState;
        }
        return (b.sentAt || b.queuedAt || b.savedAt || 0) - (a.sentAt || a.queuedAt || a.savedAt || 0);
      });
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      own.forEach(function (record) {
        list.appendChild(row(record));
      });
      var queued = own.filter(function (r) {
        return r.state === "queued";
      }).length;
      var problems = own.filter(function (r) {
        return r.state === "refused" || r.state === "conflict";
      }).length;
      var words = [];
      if (queued) {
        words.push("待发送 " + queued + " 条，联网时自动发送，也可以点“立即发送”。");
      }
      if (problems) {
        words.push(problems + " 条未被服务器接受，请打开修改后再次保存。");
      }
      if (!words.length) {
        words.push(own.length ? "没有待发送的记录。" : "手机上没有保存的探访记录。");
      }
      var summary = document.getElementById("outbox-summary");
      if (summary) {
        summary.textContent = words.join("");
      }
      var send = document.getElementById("outbox-send");
      if (send) {
        send.hidden = !queued;
        send.disabled = !!sending || navigator.onLine === false;
        send.textContent = sending
          ? "正在发送…"
          : navigator.onLine === false
            ? "没有网络"
            : "立即发送";
      }
      body.setAttribute("data-outbox", "drawn");
    });
  }

  function onOutboxClick(event) {
    var target = event.target.closest("[data-action]");
    if (!target) {
      return;
    }
    var key = target.getAttribute("data-key");
    var action = target.getAttribute("data-action");
    if (action === "send") {
      sendAll();
    } else if (action === "discard") {
      if (window.confirm("确定放弃这条记录吗？放弃后无法恢复，服务器上也不会有这次探访。")) {
        store.remove(key);
      }
    } else if (action === "renew") {
      if (window.confirm("确定这是另一次探访吗？将作为一条新的探访记录发送。")) {
        var uuid = newUuid();
        store
          .update(key, function (record) {
            var payload = Object.assign({}, record.payload, { uuid: uuid });
            var fields = Object.assign({}, record.fields, { uuid: uuid });
            return Object.assign({}, record, {
              uuid: uuid,
              payload: payload,
              fields: fields,
              state: "queued",
              error: null,
              queuedAt: Date.now(),
            });
          })
          .then(sendAll);
      }
    }
  }

  function purgeOldSent() {
    var now = Date.now();
    return store.all().then(function (records) {
      return Promise.all(
        records
          .filter(function (r) {
            return r.state === "sent" && now - (r.sentAt || 0) > SENT_KEPT_MS;
          })
          .map(function (r) {
            return store.remove(r.key);
          })
      );
    });
  }

  // --- For visit_form.js ---------------------------------------------------------

  function newUuid() {
    if (window.crypto && crypto.randomUUID && window.isSecureContext) {
      return crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(b, function (x) {
        return (x + 0x100).toString(16).slice(1);
      })
      .join("");
    return [
      hex.slice(0, 8),
      hex.slice(8, 12),
      hex.slice(12, 16),
      hex.slice(16, 20),
      hex.slice(20),
    ].join("-");
  }

  var ready = backend.then(function (where) {
    storeMissing = !where;
    body.setAttribute("data-store", where ? where.kind : "none");
    return settlePosting();
  });

  window.tanfangOutbox = {
    user: USER,
    urls: URLS,
    ready: ready.then(function () {
      return !storeMissing;
    }),
    all: function () {
      return store.all().then(mine);
    },
    get: store.get,
    put: store.put,
    update: store.update,
    remove: store.remove,
    newUuid: newUuid,
    when: when,
    reasons: reasons,
    labelOf: labelOf,
    checkSession: checkSession,
    sendAll: sendAll,
    sessionEnded: function (next) {
      loginNext = next || "";
      sessionEnded("");
    },
    sessionBack: sessionBack,
    loginLink: loginLink,
    postingKey: POSTING,
    lease: function (key, ms) {
      return store.update(key, function (record) {
        return Object.assign({}, record, { leaseUntil: Date.now() + ms });
      });
    },
  };

  // --- Start ------------------------------------------------------------------------

  onChange(function () {
    showCount();
    drawOutbox();
    showBanners();
  });
  var outboxList = document.getElementById("outbox-list");
  if (outboxList) {
    document.getElementById("outbox").addEventListener("click", onOutboxClick);
  }
  window.addEventListener("online", function () {
    showBanners();
    drawOutbox();
    sendAll();
  });
  window.addEventListener("offline", function () {
    showBanners();
    drawOutbox();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      sendAll();
    }
  });
  ready.then(function () {
    setUpWorker();
    showCount();
    drawOutbox();
    showBanners();
    if (USER) {
      purgeOldSent().then(sendAll);
      setInterval(sendAll, RETRY_MS);
    }
  });
})();
