// The visit form on a phone (tanfang/templates/visits/form.html): signature pads
// that write PNG data URLs into hidden inputs, the start and end time, the
// location when the visitor allows it, and one submission per tap.
// No inline script anywhere: the CSP allows scripts from this site only.
(function () {
  "use strict";

  var form = document.getElementById("visit-form");
  if (!form) {
    return;
  }

  function field(name) {
    return form.querySelector("input[name='" + name + "']");
  }

  // --- Signatures -----------------------------------------------------------------

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

    // A signature kept from a page shown again after an error.
    if (input.value) {
      var image = new Image();
      image.onload = function () {
        context.drawImage(image, 0, 0, width, height);
      };
      image.src = input.value;
    }

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
      });
    }
    if (input.value) {
      canvas.classList.add("signed");
    }
  }

  Array.prototype.forEach.call(form.querySelectorAll("canvas.pad"), setUpPad);

  // --- Start and end time -------------------------------------------------------------

  var started = field("started_at");
  if (started && !started.value) {
    started.value = new Date().toISOString();
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
      },
      function () {
        showLocation("位置：未记录（未允许定位或无法定位，不影响保存）");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  // --- Refused: the checklist is not asked ------------------------------------------------

  var refused = document.getElementById("id_refused");
  if (refused) {
    refused.addEventListener("change", function () {
      form.classList.toggle("is-refused", refused.checked);
    });
  }

  // --- One submission per tap ------------------------------------------------------------

  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) {
      // The first tap is on its way; the server would change nothing anyway
      // (same UUID), but one request is enough.
      event.preventDefault();
      return;
    }
    sent = true;
    var ended = field("ended_at");
    if (ended && !ended.value) {
      ended.value = new Date().toISOString();
    }
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.classList.add("sending");
      button.textContent = "正在保存…";
    }
  });
  // Back to this page from the browser's history: it may be sent again.
  window.addEventListener("pageshow", function () {
    sent = false;
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.classList.remove("sending");
      button.textContent = "保存探访记录";
    }
  });
})();
