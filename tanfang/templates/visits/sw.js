// The service worker of the phone pages (issue 16), served at /sw.js by
// tanfang/visits/offline_views.py with scope "/". Workbox comes from the
// static files (the Makefile copies it from npm; package.json pins it).
//
// - Static files: kept when the worker installs, then stale-while-revalidate
//   (their names carry a hash of their content in production).
// - Pages: network first; when the network fails (or takes longer than 8 s,
//   one bar of signal), the copy kept on the phone. Only the pages a visitor or
//   a liaison works from are kept (CONFIG.pages: the task list, the village
//   board, each elder's visit form, the outbox), without their query string,
//   and only for the user outbox.js names as their owner: the login page and
//   every page of another user empty them, so that nobody's pages outlive a
//   sign-out on a shared phone.
// - The task list asks the worker (a "keep" message) to keep the visit form of
//   every elder on it, for a visit started where there is no signal.
// - A visit form posted while the network is gone: the record is already in the
//   phone's outbox (visit_form.js put it there first), so the worker answers
//   with the outbox page instead of the browser's error page.
// Sending the records is the pages' work (outbox.js), not Background Sync.
"use strict";

const CONFIG = {{ config|safe }};
importScripts(...CONFIG.workbox);

const PAGES = "tanfang-pages";
const STATIC = "tanfang-static";
const OWNER = "/__tanfang_owner__";
const KEPT_FOR_MS = 30 * 60 * 1000;
const KEPT_AT = "X-Tanfang-Kept-At";
const patterns = CONFIG.pages.map((pattern) => new RegExp(pattern));

function sameSite(url) {
  return url.origin === self.location.origin;
}

function isKept(url) {
  return sameSite(url) && patterns.some((pattern) => pattern.test(url.pathname));
}

function keyOf(href) {
  const url = new URL(href, self.location.href);
  return url.origin + url.pathname;
}

async function owner() {
  const cache = await caches.open(PAGES);
  const found = await cache.match(OWNER);
  return found ? found.text() : "";
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(STATIC)
      .then((cache) => cache.addAll(CONFIG.assets))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // The static files of an older worker (renamed since: a new hash) go.
      const wanted = new Set(CONFIG.assets.map((asset) => new URL(asset, self.location.href).href));
      const cache = await caches.open(STATIC);
      for (const request of await cache.keys()) {
        if (!wanted.has(request.url)) {
          await cache.delete(request);
        }
      }
      await self.clients.claim();
    })()
  );
});

const { registerRoute, setCatchHandler } = workbox.routing;
const { NetworkFirst, StaleWhileRevalidate } = workbox.strategies;

registerRoute(
  ({ url }) => sameSite(url) && url.pathname.startsWith("/static/"),
  new StaleWhileRevalidate({
    cacheName: STATIC,
    plugins: [new workbox.expiration.ExpirationPlugin({ maxEntries: 60, purgeOnQuotaError: true })],
  })
);

// The login page shown (not a signed-in user sent on by it): signed out, so
// nobody's pages stay. Only once it has come from the network: tapping
// 重新登录 where there is no signal keeps the pages for later.
registerRoute(
  ({ request, url }) =>
    request.mode === "navigate" && sameSite(url) && url.pathname.startsWith(CONFIG.login),
  async ({ request }) => {
    const response = await fetch(request);
    if (response.type !== "opaqueredirect") {
      await caches.delete(PAGES);
    }
    return response;
  }
);

// A visit form posted with no network: the record waits in the outbox already.
registerRoute(
  ({ request, url }) =>
    request.mode === "navigate" && sameSite(url) && /^\/visits\/new\/[0-9]+\/$/.test(url.pathname),
  async ({ request }) => {
    try {
      return await fetch(request);
    } catch (error) {
      return Response.redirect(new URL(CONFIG.outbox + "?offline=1", self.location.href).href, 303);
    }
  },
  "POST"
);

registerRoute(
  ({ request, url }) => request.mode === "navigate" && sameSite(url),
  new NetworkFirst({
    cacheName: PAGES,
    networkTimeoutSeconds: 8,
    matchOptions: { ignoreVary: true },
    plugins: [
      {
        cacheKeyWillBeUsed: async ({ request }) => keyOf(request.url),
        cacheWillUpdate: async ({ request, response }) =>
          response &&
          response.status === 200 &&
          response.type === "basic" &&
          isKept(new URL(request.url)) &&
          (await owner())
            ? response
            : null,
        cachedResponseWillBeUsed: async ({ cachedResponse }) =>
          cachedResponse && (await owner()) ? cachedResponse : null,
      },
    ],
  })
);

setCatchHandler(async ({ request }) =>
  request.mode === "navigate" ? offlinePage() : Response.error()
);

function offlinePage() {
  const html = `<!doctype html>
<html lang="zh-hans"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>没有网络 · 特殊困难老年人探访关爱</title>
<link rel="stylesheet" href="${CONFIG.css}"></head>
<body><header class="bar"><a class="brand" href="/">探访关爱</a></header>
<main><section class="card" id="no-network"><h1>没有网络</h1>
<p>这个页面没有保存在手机上，联网后才能打开。</p>
<p>保存在手机上的页面：<a href="${CONFIG.home}">我的探访</a>、<a href="${CONFIG.outbox}">待发送的记录</a>。</p>
<p class="help">已保存的探访记录留在手机上，联网后自动发送。</p></section></main></body></html>`;
  return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

// --- Keeping the forms of the elders on the task list ---------------------------------

function fresh(response) {
  const at = Number(response.headers.get(KEPT_AT) || 0);
  return Date.now() - at < KEPT_FOR_MS;
}

async function keep(urls, client) {
  const who = await owner();
  if (!who) {
    return;
  }
  const cache = await caches.open(PAGES);
  let kept = 0;
  for (const href of urls.slice(0, CONFIG.maxForms + 4)) {
    const url = new URL(href, self.location.href);
    if (!isKept(url)) {
      continue;
    }
    const key = keyOf(url.href);
    const old = await cache.match(key, { ignoreVary: true });
    if (old && fresh(old)) {
      kept += 1;
      continue;
    }
    let response;
    try {
      // A busy server (5xx) is asked once more after a pause; one bar of
      // signal makes such answers common.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        response = await fetch(url.href, {
          credentials: "same-origin",
          redirect: "manual",
          cache: "no-store",
        });
        if (response.status < 500) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } catch (error) {
      break; // the network went: keep what is kept
    }
    if (response.type === "opaqueredirect") {
      break; // signed out meanwhile (a redirect to the login page)
    }
    if (response.status !== 200 || (await owner()) !== who) {
      continue;
    }
    const headers = new Headers(response.headers);
    headers.set(KEPT_AT, String(Date.now()));
    const body = await response.blob();
    await cache.put(key, new Response(body, { status: 200, statusText: "OK", headers }));
    kept += 1;
  }
  if (client) {
    client.postMessage({ type: "kept", count: kept });
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep") {
    event.waitUntil(keep(Array.isArray(data.urls) ? data.urls : [], event.source));
  } else if (data.type === "forget") {
    event.waitUntil(caches.delete(PAGES));
  }
});
