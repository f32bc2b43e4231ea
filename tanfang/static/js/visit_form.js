// The visit form on a phone (tanfang/templates/visits/form.html): signature pads
// that write PNG data URLs into hidden inputs, the start and end time, the
// location when the visitor allows it, and one submission per tap.
//
// Offline first (issue 16): what is typed is kept on the phone as a draft
// (outbox.js's store: IndexedDB, or localStorage) as the visitor types, with
// both signatures, the photo, the location, the start time and the record's
// UUID made when the form opens; a reload or a killed tab finds it again.
// 保存 puts the record in the outbox first, then:
// - no network: the record waits on the phone (the outbox page says so) and is
//   sent through the API when the network is back;
// - the session ended: the record waits likewise; a banner asks to sign in;
// - otherwise the page posts the form as before, with a fresh CSRF token, and
//   the page that follows settles the record (outbox.js): saved, shown again
//   with the server's errors, or a conflict.
// Every resend of a record carries its UUID and the same content (the end time
// and the location are kept once taken), so the server returns the visit it
// stored instead of making a second one with the same needs and hazards. A new
// record after a conflict only when the visitor ticks 这确是另一次探访.
// No inline script anywhere: the CSP allows scripts from this site only.
(function () {
  "use strict";

  var form = document.getElementById("visit-form");
  if (!form) {
    return;
  }
  var outbox = window.tanfangOutbox || null;
  var ELDER = form.getAttribute("data-elder") || "";
  var ELDER_NAME = form.getAttribute("data-elder-name") || "";
  var BOUND = form.getAttribute("data-bound") === "1";
  var draftBox = document.getElementById("draft-box");
  var draftStatus = document.getElementById("draft-status");
  var SAVE_LABEL = "保存探访记录";

  function field(name) {
    return form.querySelector("input[name='" + name + "']");
  }

  // --- Signatures -----------------------------------------------------------------

  var pads = {};

  function setUpPad(canvas) {
    var input = document.getElementById(canvas.dataset.input);
    if (!input) {
      return;
    }
    // Draw at the screen's resolution (at most 2x: a bigger PNG says no more).
    var ratio = Math.min(window.devicePixelRatio || 1, 2);
    var width = canvas.clientWidth || 320;
    var height = canvas.clientHeight || 150;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var context = canvas.getContext("2d");
    context.scale(ratio, ratio);
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111";
    var drawing = false;

    // A signature kept from a page shown again after an error, or from a draft.
    function load(dataUrl) {
      context.clearRect(0, 0, width, height);
      canvas.classList.toggle("signed", !!dataUrl);
      if (!dataUrl) {
        return;
      }
      var image = new Image();
      image.onload = function () {
        context.drawImage(image, 0, 0, width, height);
      };
      image.src = dataUrl;
    }
    load(input.value);

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      if (canvas.setPointerCapture) {
        canvas.setPointerCapture(event.pointerId);
      }
      var at = point(event);
      context.beginPath();
      context.moveTo(at.x, at.y);
      // A dot for a tap.
      context.lineTo(at.x + 0.1, at.y + 0.1);
      context.stroke();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      event.preventDefault();
      var at = point(event);
      context.lineTo(at.x, at.y);
      context.stroke();
    });
    function finish() {
      if (!drawing) {
        return;
      }
      drawing = false;
      input.value = canvas.toDataURL("image/png");
      canvas.classList.add("signed");
      typed(true);
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("pointerleave", finish);

    var clear = form.querySelector("[data-clear='" + canvas.id + "']");
    if (clear) {
      clear.addEventListener("click", function () {
        context.clearRect(0, 0, width, height);
        input.value = "";
        canvas.classList.remove("signed");
        typed();
      });
    }
    pads[input.name] = { input: input, load: load };
  }

  Array.prototype.forEach.call(form.querySelectorAll("canvas.pad"), setUpPad);

  // --- Refused: the checklist is not asked ------------------------------------------------

  var refused = document.getElementById("id_refused");
  function showRefused() {
    if (refused) {
      form.classList.toggle("is-refused", refused.checked);
    }
  }
  if (refused) {
    refused.addEventListener("change", showRefused);
  }

  // --- Location (only if the visitor allows it) -----------------------------------------

  var status = document.getElementById("location-status");
  var latitude = field("latitude");
  var longitude = field("longitude");
  var accuracy = field("location_accuracy");
  function showLocation(text) {
    if (status) {
      status.textContent = text;
    }
  }
  // Once taken, the fix stays with the record: a resend must be the same record.
  function locate() {
    if (latitude && latitude.value) {
      showLocation("位置：已记录");
    } else if (latitude && longitude && navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(
        function (position) {
          latitude.value = position.coords.latitude.toFixed(6);
          longitude.value = position.coords.longitude.toFixed(6);
          if (accuracy) {
            accuracy.value = Math.round(position.coords.accuracy);
          }
          showLocation("位置：已记录（精度约 " + Math.round(position.coords.accuracy) + " 米）");
          quietly();
        },
        function () {
          showLocation("位置：未记录（未允许定位或无法定位，不影响保存）");
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    }
  }

  // --- The record as the API takes it (tanfang/visits/api.py VisitIn) -----------------
  // The same content as the page's own post (VisitForm.action_kwargs): a record
  // posted by the page and sent again by the outbox is one record (200), not a
  // conflict. Text as a form sends it: line breaks as CRLF, trimmed.

  function named(name) {
    return form.elements.namedItem(name);
  }

  function has(name) {
    return !!named(name);
  }

  function value(name) {
    var element = named(name);
    if (!element) {
      return "";
    }
    if (element.type === "radio" || element.type === "checkbox") {
      return element.checked ? element.value : "";
    }
    return element.value || "";
  }

  function text(name) {
    return value(name).replace(/\r\n|\r|\n/g, "\r\n").trim();
  }

  function isChecked(name) {
    var element = named(name);
    return !!(element && element.type === "checkbox" && element.checked);
  }

  function checkedValues(name) {
    return Array.prototype.filter
      .call(form.querySelectorAll("input[name='" + name + "']"), function (box) {
        return box.checked;
      })
      .map(function (box) {
        return box.value;
      });
  }

  function countOf(raw) {
    var trimmed = raw.trim();
    if (!trimmed) {
      return null;
    }
    return /^[+-]?[0-9]+$/.test(trimmed) ? parseInt(trimmed, 10) : trimmed;
  }

  function answers() {
    var found = {};
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.item[data-key]"), function (item) {
      var key = item.getAttribute("data-key");
      var kind = item.getAttribute("data-kind");
      var name = "answer_" + key;
      var chosen = kind === "text" ? text(name) : value(name).trim();
      if (kind === "text") {
        if (chosen) {
          found[key] = chosen;
        }
      } else if (kind === "need") {
        var met = value(name + "_met");
        if (chosen) {
          found[key] = { needed: chosen === "yes", met: met ? met === "yes" : null };
        }
      } else if (kind === "choice_text") {
        var detail = text(name + "_detail");
        if (chosen || detail) {
          found[key] = { value: chosen, detail: detail || null };
        }
      } else if (kind === "choice_count") {
        var count = countOf(value(name + "_count"));
        if (chosen || count !== null) {
          found[key] = { value: chosen, count: count };
        }
      } else if (chosen) {
        found[key] = chosen;
      }
    });
    return found;
  }

  function needs() {
    var found = [];
    Array.prototype.forEach.call(form.querySelectorAll("input[type=checkbox][name^='need_']"), function (box) {
      if (!box.checked) {
        return;
      }
      var type = box.name.slice("need_".length);
      var met = value(box.name + "_met");
      found.push({ type: type, met: met ? met === "yes" : null, note: text(box.name + "_note") });
    });
    return found;
  }

  function payload() {
    var isRefused = isChecked("refused");
    var accuracyText = value("location_accuracy").trim();
    var record = {
      uuid: value("uuid"),
      elder_id: Number(ELDER),
      visitor_ids: checkedValues("visitors").map(Number),
      refused: isRefused,
      answers: isRefused ? {} : answers(),
      needs_found: needs(),
      services_given: text("services_given"),
      suggestions: text("suggestions"),
      satisfaction: isRefused ? "" : value("satisfaction"),
      notes: text("notes"),
      visitor_signature: value("visitor_signature").trim(),
      elder_signature: value("elder_signature").trim(),
      started_at: value("started_at").trim() || null,
      ended_at: value("ended_at").trim() || null,
      latitude: value("latitude").trim() || null,
      longitude: value("longitude").trim() || null,
      location_accuracy: accuracyText ? Number(accuracyText) : null,
    };
    // Left out when empty: the server then names the field as missing.
    if (value("mode")) {
      record.mode = value("mode");
    }
    if (value("visited_at").trim()) {
      record.visited_at = value("visited_at").trim();
    }
    ["late_reason", "outside_reason"].forEach(function (name) {
      if (has(name)) {
        record[name] = text(name);
      }
    });
    return record;
  }

  // The names of the checklist's items, for the server's errors in the outbox.
  function labels() {
    var found = {};
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.item[data-key]"), function (item) {
      var legend = item.querySelector("legend");
      if (legend && legend.firstChild) {
        found["answers." + item.getAttribute("data-key")] = legend.firstChild.textContent.trim();
      }
    });
    return found;
  }

  // --- The draft: the form's fields as typed, to put back -----------------------------

  function collectFields() {
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      var name = element.name;
      if (!name || name === "csrfmiddlewaretoken" || /^(file|submit|button)$/.test(element.type)) {
        return;
      }
      if (element.type === "radio") {
        if (element.checked) {
          fields[name] = element.value;
        } else if (!(name in fields)) {
          fields[name] = "";
        }
      } else if (element.type === "checkbox") {
        fields[name] = fields[name] || [];
        if (element.checked) {
          fields[name].push(element.value);
        }
      } else {
        fields[name] = element.value;
      }
    });
    return fields;
  }

  function restoreFields(fields) {
    Array.prototype.forEach.call(form.elements, function (element) {
      var name = element.name;
      if (!name || !(name in fields) || name === "csrfmiddlewaretoken") {
        return;
      }
      if (/^(file|submit|button)$/.test(element.type)) {
        return;
      }
      var kept = fields[name];
      if (element.type === "radio") {
        element.checked = element.value === kept;
      } else if (element.type === "checkbox") {
        element.checked = Array.isArray(kept) && kept.indexOf(element.value) !== -1;
      } else {
        element.value = kept;
      }
    });
    Object.keys(pads).forEach(function (name) {
      pads[name].load(pads[name].input.value);
    });
    showRefused();
    var needsBox = document.querySelector("#needs details");
    if (needsBox && form.querySelector("input[type=checkbox][name^='need_']:checked")) {
      needsBox.open = true;
    }
    var lateBox = document.getElementById("late-reason");
    if (lateBox && value("late_reason")) {
      lateBox.classList.add("is-open");
    }
    // The "will it count" check of the kept mode and day (htmx, when online).
    var mode = form.querySelector("input[name=mode]:checked");
    if (mode && navigator.onLine !== false) {
      restoring = true;
      mode.dispatchEvent(new Event("change", { bubbles: true }));
      restoring = false;
    }
  }

  function putPhoto(record) {
    var input = named("photo");
    if (!input || !input.type || input.type !== "file" || typeof DataTransfer === "undefined") {
      return;
    }
    var blob = record.photo instanceof Blob ? record.photo : null;
    if (!blob && record.photoData) {
      var parts = record.photoData.split(",");
      var raw = atob(parts[1] || "");
      var bytes = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) {
        bytes[i] = raw.charCodeAt(i);
      }
      blob = new Blob([bytes], { type: (parts[0].match(/^data:([^;]+)/) || [])[1] || "" });
    }
    if (!blob) {
      return;
    }
    try {
      var files = new DataTransfer();
      files.items.add(new File([blob], record.photoName || "photo.jpg", { type: blob.type }));
      input.files = files.files;
    } catch (error) {
      // An old browser: the photo stays in the record the outbox sends.
    }
  }

  var draft = null; // the record being typed (stored on its first change)
  var stored = false;
  var restoring = false;
  var saveTimer = null;
  var storeWorks = false;

  function newRecord(uuid) {
    return {
      key: "visit-" + uuid,
      user: outbox.user,
      elderId: ELDER,
      elderName: ELDER_NAME,
      uuid: uuid,
      state: "draft",
      fields: {},
      photo: null,
      photoName: "",
      createdAt: Date.now(),
      savedAt: 0,
      attempts: 0,
    };
  }

  function saveDraft() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!draft || !storeWorks) {
      return Promise.resolve(null);
    }
    var fields = collectFields();
    draft.fields = fields;
    draft.uuid = fields.uuid || draft.uuid;
    draft.savedAt = Date.now();
    draft.labels = labels();
    return outbox.put(draft).then(
      function () {
        stored = true;
        if (draftStatus && draft.state !== "queued") {
          draftStatus.textContent = "已自动保存在手机上（" + outbox.when(draft.savedAt) + "）";
        }
        return draft;
      },
      function () {
        if (draftStatus) {
          draftStatus.textContent = "未能保存在手机上：请保存前不要关闭页面。";
        }
        return null;
      }
    );
  }

  // What the visitor typed: kept a moment later (a stroke of a signature at once).
  function typed(now) {
    if (!draft || !storeWorks || restoring || draft.state === "queued") {
      return;
    }
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveDraft, now === true ? 0 : 300);
  }

  // What the page filled in (the location): kept with the draft, if there is one.
  function quietly() {
    if (stored) {
      typed();
    }
  }

  form.addEventListener("input", typed);
  form.addEventListener("change", function (event) {
    if (event.target && event.target.type === "file" && draft) {
      draft.photo = event.target.files && event.target.files[0] ? event.target.files[0] : null;
      draft.photoName = draft.photo ? draft.photo.name : "";
      draft.photoData = "";
      draft.photoLost = false;
    }
    typed();
  });
  // A tab put away or closed: keep what was typed now.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && saveTimer) {
      saveDraft();
    }
  });
  window.addEventListener("pagehide", function () {
    if (saveTimer) {
      saveDraft();
    }
  });

  // --- Notices above the form ------------------------------------------------------

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content) {
      node.textContent = content;
    }
    return node;
  }

  function notice(className, lines, extra) {
    if (!draftBox) {
      return;
    }
    while (draftBox.firstChild) {
      draftBox.removeChild(draftBox.firstChild);
    }
    draftBox.className = "draft-box " + className;
    lines.forEach(function (line) {
      draftBox.appendChild(typeof line === "string" ? el("p", "", line) : line);
    });
    if (extra) {
      draftBox.appendChild(extra);
    }
    draftBox.hidden = false;
  }

  function restartButton() {
    var again = el("button", "button small", "放弃，重新填写");
    again.type = "button";
    again.addEventListener("click", function () {
      if (window.confirm("确定放弃手机上保存的填写内容，重新填写吗？")) {
        outbox.remove(draft.key).then(function () {
          location.replace(location.pathname);
        });
      }
    });
    var actions = el("div", "actions");
    actions.appendChild(again);
    return actions;
  }

  function placeOf(name) {
    if (name.indexOf("answers.") === 0) {
      return document.getElementById("item-" + name.slice("answers.".length));
    }
    var boxes = {
      mode: "mode-choices",
      visitors: "visitors",
      visitor_ids: "visitors",
      needs_found: "needs",
      satisfaction: "satisfaction",
    };
    if (boxes[name]) {
      return document.getElementById(boxes[name]);
    }
    if (/_signature$/.test(name)) {
      var pad = document.getElementById("pad-" + name);
      return pad && pad.closest(".field");
    }
    if (name === "late_reason") {
      var late = document.getElementById("late-reason");
      if (late) {
        late.classList.add("is-open");
      }
    }
    var input = document.getElementById("id_" + name);
    return input && (input.closest(".field") || input.parentNode);
  }

  // The server's refusal, beside the fields it names, as on the page's own post.
  function showRefusal(record) {
    Array.prototype.forEach.call(form.querySelectorAll(".offline-error"), function (old) {
      old.parentNode.removeChild(old);
    });
    var error = record.error || {};
    (error.fields || []).forEach(function (found) {
      var place = found.field ? placeOf(found.field) : null;
      if (!place) {
        return;
      }
      place.classList.add("invalid");
      place.appendChild(el("p", "error offline-error", found.message));
    });
    var list = el("ul", "");
    outbox.reasons(record).forEach(function (line) {
      list.appendChild(el("li", "", line));
    });
    notice("refused", [
      "这条探访记录保存在手机上，" +
        outbox.when(record.failedAt) +
        " 发送时服务器未接受，原因如下。请按提示修改后再次保存：",
      list,
    ]);
  }

  function confirmBox() {
    var label = el("label", "confirm-new");
    var box = el("input", "");
    box.type = "checkbox";
    box.id = "confirm-new";
    label.appendChild(box);
    label.appendChild(document.createTextNode(" 这确是另一次探访，另存为新记录"));
    var p = el("p", "");
    p.appendChild(label);
    return p;
  }

  function showConflict(record) {
    var error = record.error || {};
    var lines = [
      "这条记录" +
        outbox.when(record.failedAt) +
        " 发送时，服务器上已有同一编号、内容不同的记录，未作任何修改。",
    ];
    if (error.visitId) {
      var seen = el("p", "");
      var a = el("a", "", "查看已保存的记录");
      a.href = "/visits/" + error.visitId + "/";
      seen.appendChild(a);
      lines.push(seen);
    }
    lines.push("如这确是另一次探访，请核对后勾选下面一项再保存。");
    notice("conflict", lines, confirmBox());
  }

  // --- Opening the form: a new record, or the one kept on the phone -----------------------

  function freshRecord() {
    var uuid = outbox.newUuid();
    var uuidInput = field("uuid");
    if (uuidInput) {
      // Made here, not by the server: a form kept offline is opened many times.
      uuidInput.value = uuid;
    }
    draft = newRecord(uuid);
  }

  function reopen(record) {
    draft = record;
    stored = true;
    restoreFields(record.fields || {});
    putPhoto(record);
    if (record.state === "refused") {
      showRefusal(record);
    } else if (record.state === "conflict") {
      showConflict(record);
    } else {
      notice(
        "restored",
        ["已恢复 " + outbox.when(record.savedAt) + " 保存在手机上的填写内容，可以接着填写。"],
        restartButton()
      );
    }
    if (record.photoLost) {
      notice("refused", ["照片太大，未能保存在手机上：请重新选择照片。"]);
    }
  }

  function openDraft() {
    var wanted = new URLSearchParams(location.search).get("draft");
    return outbox.all().then(function (records) {
      var own = records.filter(function (r) {
        return String(r.elderId) === ELDER;
      });
      var record = null;
      if (wanted) {
        record =
          own.filter(function (r) {
            return r.key === wanted;
          })[0] || null;
      } else {
        record =
          own
            .filter(function (r) {
              return r.state === "draft";
            })
            .sort(function (a, b) {
              return b.savedAt - a.savedAt;
            })[0] || null;
      }
      if (record && (record.state === "draft" || record.state === "refused" || record.state === "conflict")) {
        reopen(record);
        return;
      }
      freshRecord();
      if (record && wanted) {
        notice("restored", [
          record.state === "sent"
            ? "这条记录已经发送（" + outbox.when(record.sentAt) + "）。下面是一份新的表单。"
            : "这条记录已保存，正在等待发送，不能再修改。下面是一份新的表单。",
        ]);
      }
    });
  }

  // The server showed the form again after the page's post: refused (the
  // errors beside the fields) or a conflict (a new UUID). The form as shown is
  // the record now; its photo, which a page shown again cannot keep, comes
  // back from the phone.
  function afterPosting() {
    var key = null;
    try {
      key = window.sessionStorage.getItem(outbox.postingKey);
      window.sessionStorage.removeItem(outbox.postingKey);
    } catch (error) {
      key = null;
    }
    return (key ? outbox.get(key) : Promise.resolve(null)).then(function (record) {
      if (record && String(record.elderId) === ELDER && record.user === outbox.user) {
        draft = record;
        putPhoto(record);
      } else {
        draft = newRecord(value("uuid") || outbox.newUuid());
      }
      draft.state = "draft";
      draft.leaseUntil = 0;
      draft.error = null;
      draft.payload = null;
      return saveDraft();
    });
  }

  function start(works) {
    storeWorks = works && !!outbox.user;
    if (!storeWorks) {
      if (draftStatus && outbox && outbox.user) {
        draftStatus.textContent = "此浏览器不能在手机上保存填写的内容：请保存前不要关闭页面。";
      }
      return Promise.resolve();
    }
    return BOUND ? afterPosting() : openDraft();
  }

  function begin() {
    var started = field("started_at");
    if (started && !started.value) {
      started.value = new Date().toISOString();
    }
    locate();
  }

  var opened = outbox
    ? outbox.ready.then(start).catch(function () {
        storeWorks = false;
      })
    : Promise.resolve();
  opened.then(begin);

  // --- The "will it count" check without a network ------------------------------------

  var check = document.getElementById("check");
  if (check) {
    check.addEventListener("htmx:sendError", function () {
      check.textContent = "没有网络：暂时无法检查本次探访是否计入，联网后再选择一次探访方式即可查看。";
    });
  }

  // --- Saving -------------------------------------------------------------------------

  var sent = false;
  var button = form.querySelector("button[type=submit]");

  function showButton(label, busy) {
    if (button) {
      button.classList.toggle("sending", !!busy);
      button.textContent = label;
    }
  }

  function confirmationMissing() {
    var box = document.getElementById("confirm-new");
    if (!box || box.checked) {
      return false;
    }
    box.closest("p").classList.add("error");
    box.scrollIntoView({ block: "center" });
    box.focus();
    return true;
  }

  function queue() {
    if (draft.state === "conflict" && document.getElementById("confirm-new")) {
      // 这确是另一次探访: a new record, with a UUID of its own.
      var uuid = outbox.newUuid();
      field("uuid").value = uuid;
    }
    var now = Date.now();
    draft.fields = collectFields();
    draft.uuid = draft.fields.uuid;
    draft.payload = payload();
    draft.labels = labels();
    draft.state = "queued";
    draft.savedAt = now;
    draft.queuedAt = now;
    draft.error = null;
    draft.leaseUntil = 0;
    clearTimeout(saveTimer);
    return outbox.put(draft);
  }

  // Kept on the phone; the outbox sends it when it can.
  function keptOnPhone() {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      location.assign(outbox.urls.outbox + "?saved=" + encodeURIComponent(draft.key));
      return;
    }
    // No worker (an in-app browser): the outbox page may not open offline.
    showButton("已保存在手机上", false);
    if (draftStatus) {
      draftStatus.textContent = "";
    }
    var home = el("a", "", "返回我的探访");
    home.href = outbox.urls.home;
    var p = el("p", "");
    p.appendChild(home);
    notice("restored", ["已保存在手机上（" + outbox.when(draft.queuedAt) + "），联网后自动发送。"], p);
    window.scrollTo(0, 0);
  }

  function sessionGone() {
    showButton("已保存在手机上", false);
    outbox.sessionEnded(outbox.urls.outbox);
    window.scrollTo(0, 0);
  }

  function postPage(session) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (token) {
      token.value = session.csrf;
    }
    try {
      window.sessionStorage.setItem(outbox.postingKey, draft.key);
    } catch (error) {
      // no session storage: the outbox settles it through the API later
    }
    // While the page posts it, no tab's outbox sends it through the API.
    return outbox.lease(draft.key, 120000).then(function () {
      HTMLFormElement.prototype.submit.call(form);
    });
  }

  form.addEventListener("submit", function (event) {
    if (sent) {
      // The first tap is on its way; the server would change nothing anyway
      // (same UUID), but one request is enough.
      event.preventDefault();
      return;
    }
    if (confirmationMissing()) {
      event.preventDefault();
      return;
    }
    sent = true;
    var ended = field("ended_at");
    if (ended && !ended.value) {
      ended.value = new Date().toISOString();
    }
    showButton("正在保存…", true);
    if (!storeWorks || !draft) {
      return; // the page posts the form, as without a phone store
    }
    event.preventDefault();
    queue()
      .then(function () {
        if (navigator.onLine === false) {
          return keptOnPhone();
        }
        return outbox.checkSession().then(function (session) {
          if (session.state === "expired" || session.state === "forbidden") {
            return sessionGone();
          }
          if (session.state !== "ok" || session.user !== outbox.user) {
            return keptOnPhone();
          }
          return postPage(session);
        });
      })
      .catch(function () {
        HTMLFormElement.prototype.submit.call(form);
      });
  });

  // Back to this page from the browser's history: it may be sent again.
  window.addEventListener("pageshow", function () {
    sent = false;
    showButton(SAVE_LABEL, false);
  });
})();
